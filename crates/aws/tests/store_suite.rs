//! The shared store suite against DynamoDB, served by moto on loopback.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use phone_aws::{DynamoRecords, create_table};
use phone_core::store::{Item, PutMode, Records, Retention, StoreError};
use phone_core::{CallSession, CallSid, Store};
use phone_test_support::moto;
use phone_test_support::store_suite::TestClock;

/// A fresh table on the shared moto; `None` when moto is absent outside CI.
async fn table() -> Option<(aws_sdk_dynamodb::Client, String)> {
    let endpoint = moto::shared_endpoint()?;
    let client = moto::dynamodb_client(&endpoint);
    let name = moto::unique_name("phone-agent");
    create_table(&client, &name)
        .await
        .expect("create table on moto");
    Some((client, name))
}

async fn records() -> Option<Arc<dyn Records>> {
    let (client, name) = table().await?;
    Some(Arc::new(DynamoRecords::new(client, name)))
}

phone_test_support::store_suite!(records());

#[tokio::test]
async fn items_carry_a_numeric_ttl_attribute_as_the_store_computed() {
    let Some((client, name)) = table().await else {
        return;
    };
    let now = 1_790_000_000;
    let retention = Retention::default();
    let store = Store::new(
        Arc::new(DynamoRecords::new(client.clone(), name.clone())),
        TestClock::at(now),
        retention,
    );
    let sid = CallSid::parse("CA0123456789abcdef0123456789abcdef").unwrap();
    let at = time::OffsetDateTime::from_unix_timestamp(now).unwrap();
    store
        .create_call(&CallSession::new(sid.clone(), None, None, at), "h", at)
        .await
        .unwrap();

    let raw = client
        .get_item()
        .table_name(&name)
        .key("pk", AttributeValue::S(format!("CALL#{sid}")))
        .key("sk", AttributeValue::S("META".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("raw item");
    let expected = now + retention.calls.as_secs() as i64;
    assert_eq!(raw["ttl"], AttributeValue::N(expected.to_string()));
    assert!(
        matches!(raw["data"], AttributeValue::M(_)),
        "fields are one map attribute"
    );
}

#[tokio::test]
async fn creating_the_table_twice_is_fine_and_ping_reports_a_missing_table() {
    let Some((client, name)) = table().await else {
        return;
    };
    create_table(&client, &name).await.unwrap();
    DynamoRecords::new(client.clone(), name)
        .ping()
        .await
        .unwrap();
    let missing = DynamoRecords::new(client, "no-such-table")
        .ping()
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("no-such-table"), "{missing}");
}

#[tokio::test]
async fn table_has_ttl_enabled_on_the_ttl_attribute() {
    let Some((client, name)) = table().await else {
        return;
    };
    let ttl = client
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .expect("ttl description");
    assert_eq!(ttl.attribute_name(), Some("ttl"));
    assert_eq!(
        ttl.time_to_live_status(),
        Some(&aws_sdk_dynamodb::types::TimeToLiveStatus::Enabled)
    );
}

#[tokio::test]
async fn service_errors_map_to_store_errors() {
    let Some((client, name)) = table().await else {
        return;
    };
    let records = DynamoRecords::new(client.clone(), name);
    assert_eq!(records.describe(), format!("dynamodb:{}", records.table()));
    let mut data = serde_json::Map::new();
    data.insert("blob".into(), "x".repeat(500 * 1024).into());
    let huge = Item {
        pk: "P".into(),
        sk: "S".into(),
        ttl: 2_000_000_000,
        data,
    };
    let err = records
        .put(huge, PutMode::Overwrite, 1_790_000_000)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid(_)),
        "an item over 400 KB is invalid, not retryable: {err:?}"
    );

    let missing = DynamoRecords::new(client, "no-such-table");
    let err = missing.get("P", "S", 0).await.unwrap_err();
    assert_eq!(
        err,
        StoreError::Unavailable("table no-such-table not found".into())
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable_and_retryable() {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    let records = DynamoRecords::new(moto::dynamodb_client("http://127.0.0.1:9"), "t");
    let err = records.ping().await.unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable(_)) && err.is_retryable(),
        "{err:?}"
    );
}
