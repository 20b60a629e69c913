//! Retries of write tools on the embedded adapters: the model's retry under a new tool call id
//! does not send the SMS again (even concurrently), a failed first attempt does not block a
//! retry, and a tool that never finished is settled as "outcome unknown" instead of staying
//! pending, without being run again.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use phone_core::ports::{Messaging, PortError, SmsMessage, SmsQuery};
use phone_core::store::{PageRequest, TOOL_EFFECT_WINDOW, TOOL_PENDING_EXPIRY};
use phone_core::tools::clock_time::LocalZone;
use phone_core::tools::{ErrorKind, ToolContext, run_tool};
use phone_core::{PhoneNumber, Store};
use phone_local::{LocalCalendar, LocalRecords, MailOutbox, SmsOutbox};
use phone_test_support::store_suite::TestClock;

const NOW: i64 = 1_795_514_400;
const CALLER: &str = "+14155550123";

fn context(messaging: Arc<dyn Messaging>, store: Store, owner_pk: &str) -> ToolContext {
    ToolContext {
        calendar: Arc::new(LocalCalendar::new(store.clone())),
        messaging,
        mail: Arc::new(MailOutbox::new(store.clone())),
        store,
        zone: LocalZone::new("Europe/Paris").unwrap(),
        transfer_number: None,
        owner_pk: owner_pk.into(),
        caller: Some(PhoneNumber::parse(CALLER).unwrap()),
        voice: false,
        access: phone_core::AccessLevel::Owner,
        email_sender: None,
        owner_number: None,
        verified_caller: true,
        reminder_alarm: std::sync::Arc::new(phone_core::ports::NoAlarm),
        guest_quotas: Default::default(),
        events: Default::default(),
    }
}

fn store(clock: Arc<TestClock>) -> Store {
    Store::new(
        Arc::new(LocalRecords::in_memory()),
        clock,
        Default::default(),
    )
}

async fn sent(sms: &SmsOutbox) -> Vec<SmsMessage> {
    sms.list_sms(&SmsQuery {
        limit: 100,
        ..SmsQuery::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_models_retry_with_a_new_call_id_sends_the_sms_once() {
    let clock = TestClock::at(NOW);
    let store = store(clock.clone());
    let sms = Arc::new(SmsOutbox::new(store.clone(), None));
    let ctx = context(sms.clone(), store, "SMS#+14155550123");

    let first = run_tool(
        &ctx,
        "send_sms",
        r#"{"body":"See you at 3","to":"+14155550123"}"#,
        "a1",
    )
    .await;
    assert!(!first.is_error, "{}", first.result);
    // Same arguments in another order, another id: the same effect.
    let retry = run_tool(
        &ctx,
        "send_sms",
        r#"{"to":"+14155550123","body":"See you at 3"}"#,
        "a2",
    )
    .await;
    assert!(!retry.is_error, "{}", retry.result);
    assert_eq!(retry.result["already_done"], true);
    assert_eq!(retry.result["result"], first.result);
    assert_eq!(sent(&sms).await.len(), 1);
    // The retry is recorded with the answer it got, not left pending.
    let records = ctx
        .store
        .list_tool_calls(&ctx.owner_pk, &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].result["already_done"], true);

    // Other words are another message.
    let other = run_tool(&ctx, "send_sms", r#"{"body":"Running late"}"#, "a3").await;
    assert!(!other.is_error, "{}", other.result);
    assert_eq!(sent(&sms).await.len(), 2);

    // Concurrent retries of one effect: one is sent.
    let runs: Vec<_> = (0..6)
        .map(|i| {
            let ctx = ctx.clone();
            tokio::spawn(async move {
                run_tool(&ctx, "send_sms", r#"{"body":"Call me"}"#, &format!("b{i}")).await
            })
        })
        .collect();
    let mut done = 0;
    for run in runs {
        let outcome = run.await.unwrap();
        if !outcome.is_error && outcome.result.get("already_done").is_none() {
            done += 1;
        } else {
            assert!(
                outcome.result["already_done"] == true
                    || outcome.error_kind() == Some(ErrorKind::InProgress),
                "{}",
                outcome.result
            );
        }
    }
    assert_eq!(done, 1);
    assert_eq!(sent(&sms).await.len(), 3);

    // After the window, the same words are a new message.
    clock.advance(TOOL_EFFECT_WINDOW.as_secs() as i64);
    let later = run_tool(&ctx, "send_sms", r#"{"body":"Call me"}"#, "c1").await;
    assert!(
        later.result.get("already_done").is_none(),
        "{}",
        later.result
    );
    assert_eq!(sent(&sms).await.len(), 4);
}

#[tokio::test]
async fn a_first_attempt_that_failed_does_not_block_the_retry() {
    let clock = TestClock::at(NOW);
    let store = store(clock);
    let sms = Arc::new(SmsOutbox::new(store.clone(), None));
    let ctx = context(sms.clone(), store, "SMS#+14155550123");
    let to = PhoneNumber::parse("+14155550199").unwrap();
    ctx.store.set_sms_opt_out(&to, true).await.unwrap();
    let args = r#"{"to":"+14155550199","body":"Hello"}"#;
    let refused = run_tool(&ctx, "send_sms", args, "f1").await;
    assert!(refused.is_error, "{}", refused.result);
    ctx.store.set_sms_opt_out(&to, false).await.unwrap();
    let retry = run_tool(&ctx, "send_sms", args, "f2").await;
    assert!(
        !retry.is_error && retry.result.get("already_done").is_none(),
        "{}",
        retry.result
    );
    assert_eq!(sent(&sms).await.len(), 1);
}

/// A messaging port that never answers: the tool is cut by its caller's timeout.
struct Hanging;

#[async_trait]
impl Messaging for Hanging {
    async fn send_sms(&self, _: &PhoneNumber, _: &str) -> Result<SmsMessage, PortError> {
        std::future::pending().await
    }
    async fn list_sms(&self, _: &SmsQuery) -> Result<Vec<SmsMessage>, PortError> {
        Ok(Vec::new())
    }
    async fn get_sms(&self, sid: &str) -> Result<SmsMessage, PortError> {
        Err(PortError::NotFound(sid.into()))
    }
    fn describe(&self) -> String {
        "hanging".into()
    }
}

#[tokio::test]
async fn a_tool_cut_off_mid_run_is_settled_as_unknown_and_not_run_again() {
    let clock = TestClock::at(NOW);
    let store = store(clock.clone());
    let ctx = context(
        Arc::new(Hanging),
        store,
        "CALL#CA000000000000000000000000000000bb",
    );
    let args = r#"{"body":"Hello"}"#;
    // Cut as the stream host's tool timeout or a hang-up would cut it.
    let cut = tokio::time::timeout(
        Duration::from_millis(50),
        run_tool(&ctx, "send_sms", args, "t1"),
    )
    .await;
    assert!(cut.is_err());

    // While it could still be running: in progress, for its id and for a retry under another.
    let same = run_tool(&ctx, "send_sms", args, "t1").await;
    assert_eq!(
        same.error_kind(),
        Some(ErrorKind::InProgress),
        "{}",
        same.result
    );
    let retry = run_tool(&ctx, "send_sms", args, "t2").await;
    assert_eq!(
        retry.error_kind(),
        Some(ErrorKind::InProgress),
        "{}",
        retry.result
    );

    // Past the expiry it can no longer finish: its outcome is unknown, and a retry is told so
    // instead of sending again (the port would hang if it were called).
    clock.advance(TOOL_PENDING_EXPIRY.as_secs() as i64);
    let retry = tokio::time::timeout(
        Duration::from_secs(5),
        run_tool(&ctx, "send_sms", args, "t3"),
    )
    .await
    .expect("not run again");
    assert!(retry.is_error);
    assert_eq!(retry.result["outcome"], "unknown", "{}", retry.result);
    let first = ctx
        .store
        .get_tool_call(&ctx.owner_pk, "t1")
        .await
        .unwrap()
        .unwrap();
    assert!(!first.is_pending(), "settled in the store: {first:?}");
    assert_eq!(first.result["outcome"], "unknown");
    let again = run_tool(&ctx, "send_sms", args, "t1").await;
    assert_eq!(again.result["outcome"], "unknown", "{}", again.result);
    let records = ctx
        .store
        .list_tool_calls(&ctx.owner_pk, &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert!(records.iter().all(|r| !r.is_pending()), "{records:?}");
}

#[tokio::test]
async fn a_port_timeout_is_an_unknown_outcome_that_a_retry_does_not_repeat() {
    struct TimesOut;
    #[async_trait]
    impl Messaging for TimesOut {
        async fn send_sms(&self, _: &PhoneNumber, _: &str) -> Result<SmsMessage, PortError> {
            Err(PortError::Timeout("twilio"))
        }
        async fn list_sms(&self, _: &SmsQuery) -> Result<Vec<SmsMessage>, PortError> {
            Ok(Vec::new())
        }
        async fn get_sms(&self, sid: &str) -> Result<SmsMessage, PortError> {
            Err(PortError::NotFound(sid.into()))
        }
        fn describe(&self) -> String {
            "times out".into()
        }
    }
    let store = store(TestClock::at(NOW));
    let ctx = context(Arc::new(TimesOut), store, "SMS#+14155550123");
    let first = run_tool(&ctx, "send_sms", r#"{"body":"Hi"}"#, "u1").await;
    assert_eq!(first.result["outcome"], "unknown", "{}", first.result);
    let retry = run_tool(&ctx, "send_sms", r#"{"body":"Hi"}"#, "u2").await;
    assert_eq!(
        retry.result, first.result,
        "answered with the first outcome, not run again"
    );
}
