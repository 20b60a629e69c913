//! The item layout on the table: `pk` (S), `sk` (S), `ttl` (N, epoch seconds; the table's TTL
//! attribute) and `data` (M, the item's fields, converted from JSON by `serde_dynamo`).
//!
//! The fields live under one map attribute rather than as top-level attributes so that no field
//! name can collide with the key or TTL attributes, and updates address them as `data.<field>`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use phone_core::StoreError;
use phone_core::store::Item;
use serde_json::{Map, Value};

/// Partition key attribute.
pub(crate) const PK: &str = "pk";
/// Sort key attribute.
pub(crate) const SK: &str = "sk";
/// Expiry attribute (epoch seconds), the table's TTL attribute.
pub(crate) const TTL: &str = "ttl";
/// The item's fields, one map.
pub(crate) const DATA: &str = "data";

/// The primary key of one item.
pub(crate) fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk.to_owned())),
        (SK.to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

/// An epoch-seconds number.
pub(crate) fn number(n: i64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

/// One JSON value as an attribute value.
pub(crate) fn to_attribute(value: &Value) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| StoreError::Invalid(format!("cannot store value: {e}")))
}

/// The attributes of `item`.
pub(crate) fn encode(item: &Item) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let mut attrs = key(&item.pk, &item.sk);
    attrs.insert(TTL.into(), number(item.ttl));
    let data = serde_dynamo::to_attribute_value(&item.data).map_err(|e| {
        StoreError::Invalid(format!("{} / {}: cannot store: {e}", item.pk, item.sk))
    })?;
    attrs.insert(DATA.into(), data);
    Ok(attrs)
}

/// An item read back; anything not in our layout is [`StoreError::Corrupt`].
pub(crate) fn decode(mut attrs: HashMap<String, AttributeValue>) -> Result<Item, StoreError> {
    let mut string = |name: &str| match attrs.remove(name) {
        Some(AttributeValue::S(s)) => Ok(s),
        _ => Err(StoreError::Corrupt(format!(
            "item without a string `{name}`"
        ))),
    };
    let pk = string(PK)?;
    let sk = string(SK)?;
    let ttl = match attrs.remove(TTL) {
        Some(AttributeValue::N(n)) => n
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("{pk} / {sk}: bad ttl {n}")))?,
        _ => return Err(StoreError::Corrupt(format!("{pk} / {sk}: no numeric ttl"))),
    };
    let data = match attrs.remove(DATA) {
        Some(value) => match serde_dynamo::from_attribute_value::<_, Value>(value) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                return Err(StoreError::Corrupt(format!(
                    "{pk} / {sk}: data is not a map"
                )));
            }
            Err(e) => return Err(StoreError::Corrupt(format!("{pk} / {sk}: {e}"))),
        },
        None => Map::new(),
    };
    Ok(Item { pk, sk, ttl, data })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn items_encode_to_the_table_layout_and_back() {
        let Value::Object(data) =
            json!({"n": 7, "f": 0.25, "s": "x", "l": [1, null], "m": {"a": true}})
        else {
            unreachable!()
        };
        let item = Item {
            pk: "CALL#1".into(),
            sk: "META".into(),
            ttl: 1_790_000_000,
            data,
        };
        let attrs = encode(&item).unwrap();
        assert_eq!(attrs[TTL], AttributeValue::N("1790000000".into()));
        assert!(matches!(attrs[DATA], AttributeValue::M(_)));
        assert_eq!(decode(attrs).unwrap(), item);
    }

    #[test]
    fn an_item_without_ttl_is_corrupt() {
        let err = decode(key("P", "S")).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    }
}
