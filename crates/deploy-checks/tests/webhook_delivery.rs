//! The `webhook-delivery` function binary, run as Lambda runs it (the emulated Runtime API),
//! fed SQS events built from real messages of moto's SQS, delivering to a loopback receiver
//! that fails once: the first receive is reported as a batch item failure and put back with
//! its 5 s backoff (invisible meanwhile), the redelivery succeeds under the same `webhook-id`,
//! both signatures verify with the PyPI `standardwebhooks` package, and the store records
//! `pending` then `delivered`. A message that is not an event is reported too.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use phone_aws::WebhookQueue;
use phone_core::events::{Event, EventType};
use phone_core::store::{DeliveryStatus, PageRequest, WebhookDelivery};
use phone_core::{CallSid, Store, SystemClock};
use phone_deploy_checks::fixtures::{self, Profile, function_env};
use phone_test_support::lambda_runtime::{LambdaProcess, Outcome};
use phone_test_support::moto;
use phone_test_support::standard_webhooks_oracle::assert_verified;
use phone_test_support::webhook_receiver::{Behaviour, WebhookReceiver};
use serde_json::{Value, json};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SID: &str = "CA0123456789abcdef0123456789abcdef";

/// The Lambda SQS event of `messages`, as the event source mapping sends it.
fn sqs_event(messages: &[Message]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: serde_json::Map<String, Value> = m
                .attributes()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str().to_owned(), Value::String(v.clone())))
                .collect();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:webhooks",
                "awsRegion": "us-east-1",
            })
        })
        .collect();
    json!({ "Records": records })
}

fn failures(outcome: &Outcome) -> Vec<String> {
    let Outcome::Response(body) = outcome else {
        panic!("not a response: {outcome:?}");
    };
    body["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("no batchItemFailures: {body}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect()
}

/// The delivery records in the function's table (moto's DynamoDB), as `GET
/// /webhooks/deliveries` reads them.
async fn deliveries(endpoint: &str, table: &str) -> Vec<WebhookDelivery> {
    let store = Store::new(
        Arc::new(phone_aws::DynamoRecords::new(
            moto::dynamodb_client(endpoint),
            table.to_owned(),
        )),
        Arc::new(SystemClock),
        Default::default(),
    );
    store
        .list_webhook_deliveries(&PageRequest::newest(10))
        .await
        .unwrap()
        .items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_attempt_returns_to_the_queue_and_the_redelivery_keeps_the_id() {
    let Some(endpoint) = moto::shared_endpoint() else {
        return;
    };
    let bin_dir = fixtures::build_functions(&["webhook-delivery"], Profile::Debug);
    let client = moto::sqs_client(&endpoint);
    let queue_url = client
        .create_queue()
        .queue_name(moto::unique_name("webhooks"))
        .send()
        .await
        .expect("create the queue on moto")
        .queue_url
        .unwrap();
    let receiver = WebhookReceiver::start(Behaviour::FailFirst(1)).await;
    let table = moto::unique_name("webhook-delivery");
    phone_aws::create_table(&moto::dynamodb_client(&endpoint), &table)
        .await
        .expect("create the table on moto");

    let mut env = function_env();
    env.extend([
        ("TABLE_NAME", table.clone()),
        ("DYNAMODB_ENDPOINT", endpoint.clone()),
        ("WEBHOOK_URLS", receiver.url().to_owned()),
        ("WEBHOOK_SECRET", SECRET.into()),
        ("WEBHOOK_QUEUE_URL", queue_url.clone()),
        ("WEBHOOK_QUEUE_ENDPOINT", endpoint.clone()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
    ]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let function =
        LambdaProcess::start(&bin_dir.join("webhook-delivery"), "webhook-delivery", &env)
            .await
            .expect("starting webhook-delivery");

    // A function sends the event (the SQS sink's own send), the queue hands it over.
    let event = Event::new(
        EventType::CallTransferred,
        time::OffsetDateTime::now_utc(),
        Some(CallSid::parse(SID).unwrap()),
        json!({"to": "+14155550100", "reason": "caller asked for a human"}),
    );
    WebhookQueue::new(client.clone(), &queue_url)
        .send(&event)
        .await
        .unwrap();
    let receive = || async {
        client
            .receive_message()
            .queue_url(&queue_url)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            // Visible again at once unless the function puts it back with a backoff.
            .visibility_timeout(0)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default()
    };
    let first = receive().await;
    assert_eq!(first.len(), 1);

    // First receive: the receiver answers 5xx.
    let outcome = function.invoke(sqs_event(&first)).await.unwrap();
    assert_eq!(
        failures(&outcome),
        vec![first[0].message_id().unwrap().to_owned()],
        "{}",
        function.stderr()
    );
    let records = deliveries(&endpoint, &table).await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].id, event.id);
    assert_eq!(records[0].status, DeliveryStatus::Pending);
    assert_eq!(records[0].attempts, 1);
    assert!(
        records[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("HTTP 5")),
        "{records:?}"
    );
    assert!(
        receive().await.is_empty(),
        "put back with its backoff: invisible for 5 s"
    );

    // The queue redelivers after the backoff; the receiver now answers 2xx.
    tokio::time::sleep(Duration::from_millis(5500)).await;
    let second = receive().await;
    assert_eq!(second.len(), 1, "redelivered after the backoff");
    assert_eq!(
        second[0]
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .map(String::as_str),
        Some("2")
    );
    let outcome = function.invoke(sqs_event(&second)).await.unwrap();
    assert!(failures(&outcome).is_empty(), "{}", function.stderr());

    let received = receiver.received();
    assert_eq!(received.len(), 2, "one attempt per receive");
    assert!(received.iter().all(|r| r.id == event.id), "same webhook-id");
    assert_eq!(received[0].body, received[1].body);
    let body: Value = serde_json::from_str(&received[1].body).unwrap();
    assert_eq!(body["type"], "call.transferred");
    assert_eq!(body["data"]["call_sid"], SID);
    assert_verified(SECRET, &received);

    let records = deliveries(&endpoint, &table).await;
    assert_eq!(records.len(), 1, "one record, updated: {records:?}");
    assert_eq!(records[0].status, DeliveryStatus::Delivered);
    assert_eq!(records[0].attempts, 2);

    // A duplicate receive of a delivered event sends nothing again.
    let outcome = function.invoke(sqs_event(&second)).await.unwrap();
    assert!(failures(&outcome).is_empty());
    assert_eq!(receiver.received().len(), 2, "not sent twice");

    // A message that is not an event is reported, so it ends in the dead-letter queue.
    let mut garbage = second[0].clone();
    garbage.message_id = Some("not-an-event".into());
    garbage.body = Some("{\"hello\": 1}".into());
    let outcome = function.invoke(sqs_event(&[garbage])).await.unwrap();
    assert_eq!(failures(&outcome), vec!["not-an-event".to_owned()]);
}
