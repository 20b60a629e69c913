//! Webhook delivery over loopback: signatures verified by the PyPI `standardwebhooks` package,
//! retries under the same id against a receiver that fails twice, and a receiver that never
//! answers costing the emitter nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use phone_core::events::{EventSink, EventType, Events};
use phone_core::store::{DeliveryStatus, PageRequest, Retention};
use phone_core::{CallSid, Store, SystemClock};
use phone_local::LocalRecords;
use phone_test_support::standard_webhooks_oracle::assert_verified;
use phone_test_support::webhook_receiver::{Behaviour, WebhookReceiver};
use phone_webhooks::{Deliverer, RetrySchedule, WebhookOutbox, WebhookSecret};
use serde_json::{Value, json};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SID: &str = "CA0123456789abcdef0123456789abcdef";

fn store() -> Store {
    Store::new(
        Arc::new(LocalRecords::in_memory()),
        Arc::new(SystemClock),
        Retention::default(),
    )
}

fn outbox(url: &str, store: &Store, schedule: RetrySchedule) -> WebhookOutbox {
    let deliverer = Deliverer::new(
        vec![url.to_owned()],
        WebhookSecret::parse(SECRET).unwrap(),
        store.clone(),
        schedule,
    )
    .unwrap();
    WebhookOutbox::start(deliverer)
}

fn fast() -> RetrySchedule {
    RetrySchedule(vec![
        Duration::from_millis(50),
        Duration::from_millis(100),
        Duration::from_millis(150),
    ])
}

#[tokio::test]
async fn retries_keep_the_id_and_every_attempt_verifies_with_standardwebhooks() {
    let receiver = WebhookReceiver::start(Behaviour::FailFirst(2)).await;
    let store = store();
    let outbox = outbox(receiver.url(), &store, fast());
    let events = Events::new(Arc::new(outbox.clone()));
    let sid = CallSid::parse(SID).unwrap();
    events.emit(
        EventType::CallEnded,
        store.clock().now(),
        Some(sid.clone()),
        json!({"reason": "caller_hung_up"}),
    );
    assert!(
        outbox.flush(Duration::from_secs(5)).await,
        "delivered in time"
    );

    let received = receiver.received();
    assert_eq!(received.len(), 3, "two failures, then success");
    assert!(received[0].id.starts_with("msg_"));
    assert!(
        received.iter().all(|r| r.id == received[0].id),
        "same id on every retry"
    );
    assert!(received.iter().all(|r| r.body == received[0].body));
    assert!(received.iter().all(|r| r.signature.starts_with("v1,")));
    let body: Value = serde_json::from_str(&received[0].body).unwrap();
    assert_eq!(body["type"], "call.ended");
    assert_eq!(body["data"]["call_sid"], SID);
    assert_verified(SECRET, &received);

    let page = store
        .list_webhook_deliveries(&PageRequest::newest(10))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    let delivery = &page.items[0];
    assert_eq!(delivery.id, received[0].id);
    assert_eq!(delivery.attempts, 3);
    assert_eq!(delivery.status, DeliveryStatus::Delivered);
    assert_eq!(delivery.last_error.as_deref(), Some("HTTP 500"));
    let for_call = store
        .list_call_webhook_deliveries(&sid, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(
        for_call.items, page.items,
        "the call's copy is the same record"
    );
}

#[tokio::test]
async fn a_receiver_that_always_fails_is_given_up_after_four_attempts() {
    let receiver = WebhookReceiver::start(Behaviour::FailFirst(usize::MAX)).await;
    let store = store();
    let outbox = outbox(receiver.url(), &store, fast());
    outbox.emit(phone_core::events::Event::new(
        EventType::ToolCalled,
        store.clock().now(),
        None,
        json!({"tool": "list_events"}),
    ));
    assert!(outbox.flush(Duration::from_secs(5)).await);
    assert_eq!(
        receiver.received().len(),
        4,
        "the first attempt and three retries"
    );
    let page = store
        .list_webhook_deliveries(&PageRequest::newest(10))
        .await
        .unwrap();
    assert_eq!(page.items[0].status, DeliveryStatus::Failed);
    assert_eq!(page.items[0].attempts, 4);
}

#[tokio::test]
async fn a_receiver_that_never_answers_does_not_hold_up_the_emitter() {
    let receiver = WebhookReceiver::start(Behaviour::Hang).await;
    let store = store();
    let outbox = outbox(receiver.url(), &store, RetrySchedule::default());
    let events = Events::new(Arc::new(outbox.clone()));
    let started = Instant::now();
    for _ in 0..50 {
        events.emit(EventType::CallEnded, store.clock().now(), None, json!({}));
    }
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "emitting 50 events took {:?}",
        started.elapsed()
    );
    // The requests did go out (and hang): delivery runs in the outbox's own tasks.
    let received = receiver.wait_for(32, Duration::from_secs(5)).await;
    assert!(
        received.len() >= 32,
        "{} requests in flight",
        received.len()
    );
    assert_eq!(outbox.pending(), 50);
    let page = store
        .list_webhook_deliveries(&PageRequest::newest(100))
        .await
        .unwrap();
    assert!(
        page.items
            .iter()
            .all(|d| d.status == DeliveryStatus::Pending)
    );
}

#[test]
fn the_url_shown_has_no_token() {
    assert_eq!(
        phone_webhooks::delivery::shown_url("https://user:pw@hooks.example/in?token=abc#x"),
        "https://hooks.example/in"
    );
}
