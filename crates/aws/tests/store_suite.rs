//! The shared store suite against DynamoDB, served by moto on loopback.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use phone_aws::{DynamoRecords, create_table};
use phone_core::store::{Records, Retention};
use phone_core::{CallSession, CallSid, Store};
use phone_test_support::moto;
use phone_test_support::store_suite::TestClock;

/// A fresh table on the shared moto; `None` when moto is absent outside CI.
async fn table() -> Option<(aws_sdk_dynamodb::Client, String)> {
    let endpoint = moto::endpoint()?;
    let client = moto::dynamodb_client(&endpoint).await;
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
