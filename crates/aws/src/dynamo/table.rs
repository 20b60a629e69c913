//! Creating the table, for tests and local set-up; production tables come from `template.yaml`.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use phone_core::StoreError;

use super::codec::{PK, SK, TTL};
use super::errors::map_sdk_error;

/// How long a new table may stay `CREATING` (real DynamoDB takes seconds; moto none).
const ACTIVE_WITHIN: Duration = Duration::from_secs(60);

/// Creates `table` (`pk` hash key, `sk` range key, both strings, on-demand billing), waits until
/// it is active, and enables TTL on `ttl`. Idempotent: a table that already exists, or TTL that
/// is already on, is not an error.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let invalid = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Invalid(e.to_string());
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(invalid)
    };
    let string_attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(invalid)
    };
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .attribute_definitions(string_attr(PK)?)
        .attribute_definitions(string_attr(SK)?)
        .send()
        .await;
    match created {
        Ok(_) => tracing::info!(table, "table created"),
        Err(err) if err.code() == Some("ResourceInUseException") => {
            tracing::debug!(table, "table already exists");
        }
        Err(err) => return Err(map_sdk_error(table, err)),
    }
    wait_until_active(client, table).await?;
    enable_ttl(client, table).await
}

/// Polls until the table is `ACTIVE`: TTL cannot be changed while it is `CREATING`.
async fn wait_until_active(client: &Client, table: &str) -> Result<(), StoreError> {
    let deadline = tokio::time::Instant::now() + ACTIVE_WITHIN;
    loop {
        let out = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| map_sdk_error(table, e))?;
        let status = out.table().and_then(|t| t.table_status()).cloned();
        if status == Some(TableStatus::Active) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(StoreError::Unavailable(format!(
                "table {table} not active after {}s (status {status:?})",
                ACTIVE_WITHIN.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Turns on TTL deletion on `ttl` unless it is on already (enabling twice is an error).
async fn enable_ttl(client: &Client, table: &str) -> Result<(), StoreError> {
    let current = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| map_sdk_error(table, e))?;
    if let Some(ttl) = current.time_to_live_description()
        && matches!(
            ttl.time_to_live_status(),
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        )
    {
        return match ttl.attribute_name() {
            Some(TTL) => Ok(()),
            other => Err(StoreError::Invalid(format!(
                "table {table} expires items on {other:?}, not on `{TTL}`"
            ))),
        };
    }
    let spec = TimeToLiveSpecification::builder()
        .attribute_name(TTL)
        .enabled(true)
        .build()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec)
        .send()
        .await
        .map_err(|e| map_sdk_error(table, e))?;
    Ok(())
}
