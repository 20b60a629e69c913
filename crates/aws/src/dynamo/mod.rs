//! The `Records` store on one DynamoDB table (single-table design, DESIGN.md "Data").
//!
//! Item layout: `pk` (S), `sk` (S), `ttl` (N, epoch seconds; the table's TTL attribute) and
//! `data` (M, the item's fields). DynamoDB deletes expired items only eventually (within days),
//! so every read filters on `ttl > now` and create-once writes treat an expired item as absent.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ScalarAttributeType, TimeToLiveSpecification,
};
use phone_core::StoreError;
use phone_core::store::{Guard, Item, Page, PageRequest, PutMode, Records};
use serde_json::{Map, Value};

/// The DynamoDB adapter of the storage port.
#[derive(Debug, Clone)]
pub struct DynamoRecords {
    client: Client,
    table: String,
}

impl DynamoRecords {
    /// Uses `table` through `client` (built once per process from [`crate::sdk_config`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn map_err<E, R>(&self, err: SdkError<E, R>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        let message = err.message().unwrap_or_default().to_owned();
        match err.code() {
            Some("ConditionalCheckFailedException") => StoreError::Conflict(message),
            Some(
                "ProvisionedThroughputExceededException"
                | "RequestLimitExceeded"
                | "ThrottlingException",
            ) => StoreError::Throttled(message),
            Some("ResourceNotFoundException") => {
                StoreError::Unavailable(format!("table {} not found", self.table))
            }
            Some("ValidationException" | "ItemCollectionSizeLimitExceededException") => {
                StoreError::Invalid(message)
            }
            _ => StoreError::Unavailable(DisplayErrorContext(&err).to_string()),
        }
    }

    fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
            ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
        ])
    }
}

fn now_value(now: i64) -> AttributeValue {
    AttributeValue::N(now.to_string())
}

fn to_attribute(value: &Value) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| StoreError::Invalid(format!("cannot store value: {e}")))
}

fn encode(item: &Item) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let mut attrs = DynamoRecords::key(&item.pk, &item.sk);
    attrs.insert("ttl".into(), AttributeValue::N(item.ttl.to_string()));
    attrs.insert(
        "data".into(),
        to_attribute(&Value::Object(item.data.clone()))?,
    );
    Ok(attrs)
}

fn decode(mut attrs: HashMap<String, AttributeValue>) -> Result<Item, StoreError> {
    let string = |attrs: &mut HashMap<String, AttributeValue>, name: &str| match attrs.remove(name)
    {
        Some(AttributeValue::S(s)) => Ok(s),
        _ => Err(StoreError::Corrupt(format!(
            "item without a string `{name}`"
        ))),
    };
    let pk = string(&mut attrs, "pk")?;
    let sk = string(&mut attrs, "sk")?;
    let ttl = match attrs.remove("ttl") {
        Some(AttributeValue::N(n)) => n
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("{pk}/{sk}: bad ttl {n}")))?,
        _ => return Err(StoreError::Corrupt(format!("{pk}/{sk}: no ttl"))),
    };
    let data = match attrs.remove("data") {
        Some(value) => match serde_dynamo::from_attribute_value::<_, Value>(value) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(StoreError::Corrupt(format!("{pk}/{sk}: data is not a map"))),
            Err(e) => return Err(StoreError::Corrupt(format!("{pk}/{sk}: {e}"))),
        },
        None => Map::new(),
    };
    Ok(Item { pk, sk, ttl, data })
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
            request = request
                .condition_expression("attribute_not_exists(#pk) OR #ttl <= :now")
                .expression_attribute_names("#pk", "pk")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":now", now_value(now));
        }
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match self.map_err(e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("{} / {} already exists", item.pk, item.sk))
                }
                other => other,
            })
    }

    async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.map_err(e))?;
        match out.item {
            Some(attrs) => Ok(Some(decode(attrs)?).filter(|i| !i.is_expired(now))),
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
        if fields.is_empty() {
            return self.get(pk, sk, now).await?.ok_or(StoreError::NotFound);
        }
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_names("#data", "data")
            .expression_attribute_values(":now", now_value(now))
            .return_values(ReturnValue::AllNew);
        let mut sets = Vec::with_capacity(fields.len());
        for (i, (name, value)) in fields.iter().enumerate() {
            sets.push(format!("#data.#f{i} = :v{i}"));
            request = request
                .expression_attribute_names(format!("#f{i}"), name)
                .expression_attribute_values(format!(":v{i}"), to_attribute(value)?);
        }
        let mut conditions = vec!["attribute_exists(#pk) AND #ttl > :now".to_owned()];
        for (i, guard) in guards.iter().enumerate() {
            let (field, condition) = match guard {
                Guard::Equals(field, value) => {
                    request =
                        request.expression_attribute_values(format!(":g{i}"), to_attribute(value)?);
                    (field, format!("#data.#g{i} = :g{i}"))
                }
                Guard::Missing(field) => (field, format!("attribute_not_exists(#data.#g{i})")),
                Guard::GreaterThan(field, n) => {
                    request = request.expression_attribute_values(format!(":g{i}"), now_value(*n));
                    (field, format!("#data.#g{i} > :g{i}"))
                }
            };
            request = request.expression_attribute_names(format!("#g{i}"), field);
            conditions.push(condition);
        }
        let result = request
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression(conditions.join(" AND "))
            .send()
            .await;
        match result {
            Ok(out) => decode(out.attributes.unwrap_or_default()),
            Err(e) => match self.map_err(e) {
                // The condition covers both "absent/expired" and "guard failed": tell them apart.
                StoreError::Conflict(_) => match self.get(pk, sk, now).await? {
                    None => Err(StoreError::NotFound),
                    Some(_) => Err(StoreError::Conflict(format!(
                        "{pk} / {sk}: condition does not hold"
                    ))),
                },
                other => Err(other),
            },
        }
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
        let mut start = page.after.as_ref().map(|after| Self::key(pk, after));
        loop {
            // Ask for one more than needed, to know whether a next page exists. `Limit` counts
            // items read before the ttl filter, so a page may take several requests.
            let wanted = (limit + 1 - items.len()) as i32;
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .scan_index_forward(!page.newest_first)
                .limit(wanted)
                .expression_attribute_names("#pk", "pk")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
                .expression_attribute_values(":now", now_value(now))
                .filter_expression("#ttl > :now")
                .set_exclusive_start_key(start.take());
            request = if sk_prefix.is_empty() {
                request.key_condition_expression("#pk = :pk")
            } else {
                request
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#sk", "sk")
                    .expression_attribute_values(":prefix", AttributeValue::S(sk_prefix.to_owned()))
            };
            let out = request.send().await.map_err(|e| self.map_err(e))?;
            for attrs in out.items.unwrap_or_default() {
                items.push(decode(attrs)?);
            }
            match out.last_evaluated_key {
                Some(key) if items.len() <= limit => start = Some(key),
                _ => break,
            }
        }
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|i| i.sk.clone())
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.map_err(e))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.map_err(e))
    }

    fn describe(&self) -> String {
        format!("dynamodb:{}", self.table)
    }
}

/// Creates the table (`pk` hash, `sk` range, on-demand) and enables TTL on `ttl`. Creating a
/// table that exists is not an error. For tests and local set-up; production tables come from
/// `template.yaml`.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let invalid = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Invalid(e.to_string());
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash).map_err(invalid)?)
        .key_schema(key("sk", KeyType::Range).map_err(invalid)?)
        .attribute_definitions(attr("pk").map_err(invalid)?)
        .attribute_definitions(attr("sk").map_err(invalid)?)
        .send()
        .await;
    if let Err(err) = created
        && err.code() != Some("ResourceInUseException")
    {
        return Err(StoreError::Unavailable(
            DisplayErrorContext(&err).to_string(),
        ));
    }
    let ttl = TimeToLiveSpecification::builder()
        .attribute_name("ttl")
        .enabled(true)
        .build()
        .map_err(invalid)?;
    match client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(ttl)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        // Already enabled.
        Err(err) if err.code() == Some("ValidationException") => Ok(()),
        Err(err) => Err(StoreError::Unavailable(
            DisplayErrorContext(&err).to_string(),
        )),
    }
}
