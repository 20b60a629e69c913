//! The webhook event queue against moto's SQS on loopback: an emitted event arrives as one
//! message holding the whole event (its id included, so every delivery attempt signs with the
//! same `webhook-id`) while `emit` itself returns at once; a send that fails is counted and
//! logged, not raised; a message put back with a delay stays invisible until the delay is
//! over, then comes back with its receive count raised.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::MessageSystemAttributeName;
use phone_aws::{Spawn, SqsEventSink, WebhookQueue};
use phone_core::CallSid;
use phone_core::events::{Event, EventType, Events};
use phone_test_support::moto;
use serde_json::json;
use time::OffsetDateTime;
use tokio::task::JoinHandle;

/// A spawner that keeps the handles, so the test can wait for the sends.
fn recording_spawn() -> (Spawn, Arc<Mutex<Vec<JoinHandle<()>>>>) {
    let handles = Arc::new(Mutex::new(Vec::new()));
    let kept = handles.clone();
    let spawn: Spawn = Arc::new(move |task| {
        kept.lock().unwrap().push(tokio::spawn(task));
    });
    (spawn, handles)
}

async fn join_all(handles: &Arc<Mutex<Vec<JoinHandle<()>>>>) {
    let handles: Vec<_> = handles.lock().unwrap().drain(..).collect();
    for handle in handles {
        handle.await.unwrap();
    }
}

async fn create_queue(client: &aws_sdk_sqs::Client) -> String {
    client
        .create_queue()
        .queue_name(moto::unique_name("webhooks"))
        .send()
        .await
        .expect("create the queue on moto")
        .queue_url
        .expect("queue url")
}

#[tokio::test]
async fn an_emitted_event_arrives_whole_and_emit_does_not_wait() {
    let Some(endpoint) = moto::shared_endpoint() else {
        return;
    };
    let client = moto::sqs_client(&endpoint);
    let url = create_queue(&client).await;
    let (spawn, handles) = recording_spawn();
    let sink = SqsEventSink::new(WebhookQueue::new(client.clone(), &url), spawn);
    let events = Events::new(Arc::new(sink.clone()));
    let sid = CallSid::parse("CA0123456789abcdef0123456789abcdef").unwrap();
    let at = OffsetDateTime::from_unix_timestamp(1_795_615_752).unwrap();

    let started = Instant::now();
    events.emit(
        EventType::ToolCalled,
        at,
        Some(sid.clone()),
        json!({"tool": "send_sms", "channel": "text"}),
    );
    assert!(
        started.elapsed() < Duration::from_millis(50),
        "emit waited {:?}",
        started.elapsed()
    );
    join_all(&handles).await;
    assert_eq!(sink.unsent(), 0);

    let received = client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let messages = received.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let event: Event = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert!(
        event.id.starts_with("msg_") && event.id.len() == 36,
        "{}",
        event.id
    );
    assert_eq!(event.kind, EventType::ToolCalled);
    assert_eq!(event.timestamp, at);
    assert_eq!(event.call_sid, Some(sid));
    assert_eq!(event.data["tool"], "send_sms");
}

#[tokio::test]
async fn a_failed_send_is_counted_not_raised() {
    let Some(endpoint) = moto::shared_endpoint() else {
        return;
    };
    let client = moto::sqs_client(&endpoint);
    let missing = format!(
        "{endpoint}/123456789012/{}",
        moto::unique_name("no-such-queue")
    );
    let (spawn, handles) = recording_spawn();
    let sink = SqsEventSink::new(WebhookQueue::new(client, &missing), spawn);
    let events = Events::new(Arc::new(sink.clone()));
    events.emit(
        EventType::CallEnded,
        OffsetDateTime::now_utc(),
        None,
        json!({}),
    );
    events.emit(
        EventType::CallEnded,
        OffsetDateTime::now_utc(),
        None,
        json!({}),
    );
    join_all(&handles).await;
    assert_eq!(sink.unsent(), 2);
}

#[tokio::test]
async fn a_message_put_back_returns_after_its_delay() {
    let Some(endpoint) = moto::shared_endpoint() else {
        return;
    };
    let client = moto::sqs_client(&endpoint);
    let url = create_queue(&client).await;
    let queue = WebhookQueue::new(client.clone(), &url);
    let event = Event::new(
        EventType::CallEnded,
        OffsetDateTime::now_utc(),
        None,
        json!({}),
    );
    queue.send(&event).await.unwrap();

    let receive = || async {
        client
            .receive_message()
            .queue_url(&url)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            // Visible again at once unless put back with a delay.
            .visibility_timeout(0)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default()
    };
    let first = receive().await;
    assert_eq!(first.len(), 1);
    queue
        .retry_after(first[0].receipt_handle().unwrap(), Duration::from_secs(2))
        .await
        .unwrap();
    assert!(receive().await.is_empty(), "invisible during the delay");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let again = receive().await;
    assert_eq!(again.len(), 1, "visible after the delay");
    let count = again[0]
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .map(String::as_str);
    assert_eq!(count, Some("2"));
    let back: Event = serde_json::from_str(again[0].body().unwrap()).unwrap();
    assert_eq!(back.id, event.id);
}
