//! The dispatcher counts a guest's write tools per number and UTC day, and refuses them past
//! `GUEST_TOOL_WRITES_PER_DAY` with a `limit_reached` error the model can relay; reads, call
//! control, repeats of one tool call id and owners are not counted.

use std::sync::Arc;

use phone_core::ports::{Messaging, SmsQuery};
use phone_core::quota::{GuestQuotas, QuotaKind};
use phone_core::tools::clock_time::LocalZone;
use phone_core::tools::{ErrorKind, ToolContext, run_tool};
use phone_core::{AccessLevel, PhoneNumber, Store};
use phone_local::{LocalCalendar, LocalRecords, MailOutbox, SmsOutbox};
use phone_test_support::logs;
use phone_test_support::store_suite::TestClock;

// 2026-11-24T10:00:00Z, a Tuesday.
const NOW: i64 = 1_795_514_400;
const GUEST: &str = "+14155550123";

fn context(access: AccessLevel, store: &Store, writes: u32) -> (ToolContext, Arc<SmsOutbox>) {
    let sms = Arc::new(SmsOutbox::new(store.clone(), None));
    let ctx = ToolContext {
        calendar: Arc::new(LocalCalendar::new(store.clone())),
        messaging: sms.clone(),
        mail: Arc::new(MailOutbox::new(store.clone())),
        store: store.clone(),
        zone: LocalZone::new("Europe/Paris").unwrap(),
        transfer_number: None,
        owner_pk: "CALL#CA00000000000000000000000000000001".into(),
        caller: Some(PhoneNumber::parse(GUEST).unwrap()),
        voice: true,
        access,
        email_sender: None,
        owner_number: None,
        verified_caller: false,
        reminder_alarm: std::sync::Arc::new(phone_core::ports::NoAlarm),
        guest_quotas: GuestQuotas {
            tool_writes: Some(writes),
            ..GuestQuotas::default()
        },
        events: Default::default(),
    };
    (ctx, sms)
}

async fn sent(sms: &SmsOutbox) -> usize {
    sms.list_sms(&SmsQuery {
        limit: 50,
        ..SmsQuery::default()
    })
    .await
    .unwrap()
    .len()
}

#[tokio::test]
async fn a_guests_writes_stop_at_the_daily_limit_and_reads_go_on() {
    let (_guard, logs) = logs::capture();
    let clock = TestClock::at(NOW);
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        clock.clone(),
        Default::default(),
    );
    let (ctx, sms) = context(AccessLevel::Guest, &store, 2);
    // Each text differs: the same text again under a new id would be the same effect, answered
    // from the first call's record (tools::retries), not a new write.
    let text = |n: u32| format!(r#"{{"body":"Your booking request is noted ({n})"}}"#);
    for (n, id) in [(1, "w1"), (2, "w2")] {
        let out = run_tool(&ctx, "send_sms", &text(n), id).await;
        assert!(!out.is_error, "{}", out.result);
    }
    // A repeat of a counted call id is answered from its record, not counted again.
    assert!(!run_tool(&ctx, "send_sms", &text(1), "w1").await.is_error);
    assert_eq!(
        store
            .quota_used(GUEST, QuotaKind::ToolWrites)
            .await
            .unwrap(),
        2
    );

    let refused = run_tool(&ctx, "send_sms", &text(3), "w3").await;
    assert!(refused.is_error);
    assert_eq!(refused.error_kind(), Some(ErrorKind::LimitReached));
    assert_eq!(refused.result["kind"], "limit_reached");
    let message = refused.result["error"].as_str().unwrap();
    assert!(message.contains("today's limit of 2"), "{message}");
    // Another guest write tool is refused the same way, before it runs.
    let message_left = run_tool(
        &ctx,
        "leave_message",
        r#"{"name":"Ann","message":"call me"}"#,
        "w4",
    )
    .await;
    assert_eq!(message_left.error_kind(), Some(ErrorKind::LimitReached));
    assert_eq!(sent(&sms).await, 2, "nothing left past the limit");
    // The refusal is recorded, and a repeat of its id gets it again.
    let again = run_tool(&ctx, "send_sms", &text(3), "w3").await;
    assert_eq!(again.result, refused.result);
    assert_eq!(
        store
            .quota_used(GUEST, QuotaKind::ToolWrites)
            .await
            .unwrap(),
        2
    );
    let log = logs.lines_with(&["guest's daily write limit reached", "send_sms"]);
    assert!(!log.is_empty(), "{}", logs.text());
    assert!(
        !logs.text().contains("Your booking request"),
        "arguments never logged"
    );

    // Reads and call control are not counted.
    let free = run_tool(
        &ctx,
        "find_free_time",
        r#"{"start":"2026-11-26T09:00","end":"2026-11-26T18:00","duration_minutes":30}"#,
        "r1",
    )
    .await;
    assert!(!free.is_error, "{}", free.result);
    let end = run_tool(&ctx, "end_call", "{}", "e1").await;
    assert!(!end.is_error, "{}", end.result);

    // The next UTC day, the guest may write again.
    clock.advance(86_400);
    assert!(!run_tool(&ctx, "send_sms", &text(5), "w5").await.is_error);
    assert_eq!(sent(&sms).await, 3);
}

#[tokio::test]
async fn the_owner_is_never_counted() {
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        TestClock::at(NOW),
        Default::default(),
    );
    let (ctx, sms) = context(AccessLevel::Owner, &store, 0);
    for n in 0..3 {
        let args = format!(r#"{{"to":"+14155550199","body":"note {n}"}}"#);
        let out = run_tool(&ctx, "send_sms", &args, &format!("o{n}")).await;
        assert!(!out.is_error, "{}", out.result);
    }
    assert_eq!(sent(&sms).await, 3);
    assert_eq!(
        store
            .quota_used(GUEST, QuotaKind::ToolWrites)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn a_limit_of_zero_refuses_every_guest_write_and_off_none() {
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        TestClock::at(NOW),
        Default::default(),
    );
    let (ctx, sms) = context(AccessLevel::Guest, &store, 0);
    let text = r#"{"body":"hello"}"#;
    let out = run_tool(&ctx, "send_sms", text, "z1").await;
    assert_eq!(out.error_kind(), Some(ErrorKind::LimitReached));
    let (mut unlimited, _) = context(AccessLevel::Guest, &store, 0);
    unlimited.guest_quotas = GuestQuotas::UNLIMITED;
    unlimited.messaging = sms.clone();
    for n in 0..12 {
        // Distinct texts: the same one again would be answered as already done.
        let text = format!(r#"{{"body":"hello {n}"}}"#);
        let out = run_tool(&unlimited, "send_sms", &text, &format!("u{n}")).await;
        assert!(!out.is_error, "{}", out.result);
    }
    assert_eq!(sent(&sms).await, 12);
}
