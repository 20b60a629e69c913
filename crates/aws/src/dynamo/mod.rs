//! The `Records` store on one DynamoDB table (single-table design, DESIGN.md "Data").
//!
//! DynamoDB deletes expired items only eventually (typically within days), so expiry is enforced
//! here: reads filter on `ttl > now`, and create-once writes treat an expired item as absent.
//! Every attribute name goes through an expression attribute name, as `ttl` and `data` are
//! reserved words.

mod codec;
mod errors;
mod table;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use phone_core::StoreError;
use phone_core::store::{Guard, Item, Page, PageRequest, PutMode, Records};
use serde_json::{Map, Value};

use codec::{DATA, PK, SK, TTL, decode, encode, key, number, to_attribute};
use errors::map_sdk_error;
pub use table::create_table;

/// The DynamoDB adapter of the storage port.
#[derive(Debug, Clone)]
pub struct DynamoRecords {
    client: Client,
    table: String,
}

impl DynamoRecords {
    /// Uses `table` through `client` (built once per process, from [`crate::sdk_config`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }
}

/// The `SET` and condition parts of an update, with their names and values.
struct UpdateExpression {
    set: String,
    condition: String,
    names: Vec<(String, String)>,
    values: Vec<(String, AttributeValue)>,
}

/// Builds `SET #data.#f0 = :v0, …` and `attribute_exists(#pk) AND #ttl > :now AND <guards>`.
fn update_expression(
    fields: &Map<String, Value>,
    guards: &[Guard],
    now: i64,
) -> Result<UpdateExpression, StoreError> {
    let mut names = vec![
        ("#pk".to_owned(), PK.to_owned()),
        ("#ttl".to_owned(), TTL.to_owned()),
    ];
    let mut values = vec![(":now".to_owned(), number(now))];
    let set = if fields.is_empty() {
        // Only the guards were asked about. An update needs an action, and a transaction just to
        // check a condition would be heavier: rewrite `ttl` with itself, which changes nothing.
        "SET #ttl = #ttl".to_owned()
    } else {
        names.push(("#data".to_owned(), DATA.to_owned()));
        let mut sets = Vec::with_capacity(fields.len());
        for (i, (name, value)) in fields.iter().enumerate() {
            sets.push(format!("#data.#f{i} = :v{i}"));
            names.push((format!("#f{i}"), name.clone()));
            values.push((format!(":v{i}"), to_attribute(value)?));
        }
        format!("SET {}", sets.join(", "))
    };
    let mut conditions = vec!["attribute_exists(#pk) AND #ttl > :now".to_owned()];
    if !guards.is_empty() && fields.is_empty() {
        names.push(("#data".to_owned(), DATA.to_owned()));
    }
    for (i, guard) in guards.iter().enumerate() {
        let field = match guard {
            Guard::Equals(field, value) => {
                conditions.push(format!("#data.#g{i} = :g{i}"));
                values.push((format!(":g{i}"), to_attribute(value)?));
                field
            }
            Guard::Missing(field) => {
                conditions.push(format!("attribute_not_exists(#data.#g{i})"));
                field
            }
            Guard::GreaterThan(field, n) => {
                // Only a number is greater than a number. Said explicitly because comparing
                // another type is false in DynamoDB but an internal error in moto.
                if !values.iter().any(|(name, _)| name == ":number") {
                    values.push((":number".to_owned(), AttributeValue::S("N".to_owned())));
                }
                conditions.push(format!(
                    "attribute_type(#data.#g{i}, :number) AND #data.#g{i} > :g{i}"
                ));
                values.push((format!(":g{i}"), number(*n)));
                field
            }
        };
        names.push((format!("#g{i}"), field.clone()));
    }
    Ok(UpdateExpression {
        set,
        condition: conditions.join(" AND "),
        names,
        values,
    })
}

#[async_trait]
impl Records for DynamoRecords {
    async fn put(&self, item: Item, mode: PutMode, now: i64) -> Result<(), StoreError> {
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(encode(&item)?));
        if mode == PutMode::IfAbsent {
            // An expired item that DynamoDB has not deleted yet counts as absent.
            request = request
                .condition_expression("attribute_not_exists(#pk) OR #ttl <= :now")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#ttl", TTL)
                .expression_attribute_values(":now", number(now));
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) => Err(match map_sdk_error(&self.table, e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("{} / {} already exists", item.pk, item.sk))
                }
                other => other,
            }),
        }
    }

    async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            // Reads follow conditional writes (consume a token, then read the call): they must
            // see them.
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| map_sdk_error(&self.table, e))?;
        match out.item {
            Some(attrs) => Ok(Some(decode(attrs)?).filter(|item| !item.is_expired(now))),
            None => Ok(None),
        }
    }

    async fn update(
        &self,
        pk: &str,
        sk: &str,
        fields: Map<String, Value>,
        guards: &[Guard],
        now: i64,
    ) -> Result<Item, StoreError> {
        let expression = update_expression(&fields, guards, now)?;
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression(expression.set)
            .condition_expression(expression.condition)
            .return_values(ReturnValue::AllNew)
            // On a failed condition, the item as it was tells "absent" from "guard failed"
            // without a second, racy read.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (name, value) in expression.names {
            request = request.expression_attribute_names(name, value);
        }
        for (name, value) in expression.values {
            request = request.expression_attribute_values(name, value);
        }
        let err = match request.send().await {
            Ok(out) => return decode(out.attributes.unwrap_or_default()),
            Err(err) => err,
        };
        if let Some(UpdateItemError::ConditionalCheckFailedException(failed)) =
            err.as_service_error()
        {
            return match failed.item.clone().map(decode).transpose()? {
                Some(old) if !old.is_expired(now) => Err(StoreError::Conflict(format!(
                    "{pk} / {sk}: condition does not hold"
                ))),
                _ => Err(StoreError::NotFound),
            };
        }
        Err(map_sdk_error(&self.table, err))
    }

    async fn query(
        &self,
        pk: &str,
        sk_prefix: &str,
        page: &PageRequest,
        now: i64,
    ) -> Result<Page<Item>, StoreError> {
        let limit = page.clamped_limit() as usize;
        let mut items: Vec<Item> = Vec::new();
        let mut start = page.after.as_deref().map(|after| key(pk, after));
        loop {
            // Ask for one more than the page, to know whether a next page exists. `Limit` counts
            // items read before the ttl filter (and a response stops at 1 MB), so filling a page
            // may take several requests.
            let wanted = i32::try_from(limit + 1 - items.len()).unwrap_or(i32::MAX);
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .scan_index_forward(!page.newest_first)
                .limit(wanted)
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#ttl", TTL)
                .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
                .expression_attribute_values(":now", number(now))
                .filter_expression("#ttl > :now")
                .set_exclusive_start_key(start.take());
            request = if sk_prefix.is_empty() {
                request.key_condition_expression("#pk = :pk")
            } else {
                request
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#sk", SK)
                    .expression_attribute_values(":prefix", AttributeValue::S(sk_prefix.to_owned()))
            };
            let out = request
                .send()
                .await
                .map_err(|e| map_sdk_error(&self.table, e))?;
            for attrs in out.items.unwrap_or_default() {
                items.push(decode(attrs)?);
            }
            match out.last_evaluated_key {
                Some(last) if items.len() <= limit => start = Some(last),
                _ => break,
            }
        }
        // The cursor is the last returned sort key: the next request starts right after it, and
        // items read past it (and dropped here) are read again then, so nothing is skipped.
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|item| item.sk.clone())
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_sdk_error(&self.table, e))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_sdk_error(&self.table, e))
    }

    fn describe(&self) -> String {
        format!("dynamodb:{}", self.table)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn update_expression_names_every_attribute_and_guard() {
        let Value::Object(fields) = json!({"status": "completed", "a.b": 1}) else {
            unreachable!()
        };
        let guards = [
            Guard::Equals("h".into(), json!("x")),
            Guard::Missing("used".into()),
            Guard::GreaterThan("exp".into(), 5),
        ];
        let e = update_expression(&fields, &guards, 100).unwrap();
        assert_eq!(e.set, "SET #data.#f0 = :v0, #data.#f1 = :v1");
        assert_eq!(
            e.condition,
            "attribute_exists(#pk) AND #ttl > :now AND #data.#g0 = :g0 AND \
             attribute_not_exists(#data.#g1) AND attribute_type(#data.#g2, :number) AND \
             #data.#g2 > :g2"
        );
        assert!(
            e.names.contains(&("#f0".into(), "a.b".into())),
            "dots stay in one name"
        );
        assert!(
            e.values
                .contains(&(":g2".into(), AttributeValue::N("5".into())))
        );
    }

    #[test]
    fn a_guard_only_update_still_names_data() {
        let e = update_expression(&Map::new(), &[Guard::Missing("x".into())], 1).unwrap();
        assert_eq!(e.set, "SET #ttl = #ttl");
        assert!(e.names.iter().any(|(n, v)| n == "#data" && v == DATA));
    }
}
