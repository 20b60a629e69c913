//! Reminders on the embedded adapters: set by SMS with the tools, delivered to the SMS outbox by
//! the local scheduler on a test clock, listed and cancelled, refused when they cannot be kept
//! (past, unknown event, guest, no scheduler), and checked against their event at fire time
//! when it changed outside the assistant.

use std::sync::Arc;
use std::time::Duration;

use phone_core::ports::{Calendar, EventPatch, Messaging, NewEvent, SmsDelivery, SmsQuery};
use phone_core::reminders::{FireOutcome, ReminderFirer, ReminderId, ReminderStatus};
use phone_core::tools::clock_time::LocalZone;
use phone_core::tools::{ToolContext, run_tool};
use phone_core::{AccessLevel, PhoneNumber, Store};
use phone_local::reminders::{LocalAlarm, run_scheduler};
use phone_local::{LocalCalendar, LocalRecords, MailOutbox, SmsOutbox};
use phone_test_support::store_suite::TestClock;
use serde_json::{Value, json};
use time::OffsetDateTime;

// 2026-11-24T10:00:00Z (11:00 in Paris), a Tuesday.
const NOW: i64 = 1_795_514_400;
const OWNER: &str = "+14155550123";

struct World {
    ctx: ToolContext,
    sms: Arc<SmsOutbox>,
    calendar: Arc<LocalCalendar>,
    clock: Arc<TestClock>,
    alarm: LocalAlarm,
    firer: ReminderFirer,
}

/// The owner texting the assistant, with a local alarm (running unless `scheduler_off`).
fn world(access: AccessLevel) -> World {
    let clock = TestClock::at(NOW);
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        clock.clone(),
        Default::default(),
    );
    let sms = Arc::new(SmsOutbox::new(store.clone(), None));
    let calendar = Arc::new(LocalCalendar::new(store.clone()));
    let alarm = LocalAlarm::new();
    let zone = LocalZone::new("Europe/Paris").unwrap();
    let ctx = ToolContext {
        calendar: calendar.clone(),
        messaging: sms.clone(),
        mail: Arc::new(MailOutbox::new(store.clone())),
        store: store.clone(),
        zone: zone.clone(),
        transfer_number: None,
        owner_pk: format!("SMS#{OWNER}"),
        caller: Some(PhoneNumber::parse(OWNER).unwrap()),
        voice: false,
        access,
        email_sender: None,
        owner_number: None,
        guest_quotas: Default::default(),
        verified_caller: access == AccessLevel::Owner,
        reminder_alarm: Arc::new(alarm.clone()),
        events: Default::default(),
    };
    let firer = ReminderFirer {
        store,
        calendar: calendar.clone(),
        delivery: Arc::new(SmsDelivery::new(sms.clone())),
        alarm: Arc::new(alarm.clone()),
        zone,
    };
    World {
        ctx,
        sms,
        calendar,
        clock,
        alarm,
        firer,
    }
}

impl World {
    /// Starts the scheduler task; the returned sender stops it.
    fn start_scheduler(&self) -> tokio::sync::oneshot::Sender<()> {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(run_scheduler(
            self.firer.clone(),
            self.alarm.clone(),
            self.clock.clone(),
            async move {
                let _ = stopped.await;
            },
        ));
        stop
    }

    async fn texts(&self) -> Vec<String> {
        self.sms
            .list_sms(&SmsQuery {
                to: Some(PhoneNumber::parse(OWNER).unwrap()),
                from: None,
                limit: 100,
            })
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.body)
            .collect()
    }

    async fn event(&self, title: &str, start_unix: i64) -> String {
        let start = OffsetDateTime::from_unix_timestamp(start_unix).unwrap();
        self.calendar
            .create_event(
                &NewEvent {
                    title: title.into(),
                    start,
                    end: start + time::Duration::minutes(30),
                    time_zone: "Europe/Paris".into(),
                    description: None,
                    location: None,
                    attendees: vec![],
                    reminders: None,
                },
                &format!("test:{title}"),
            )
            .await
            .unwrap()
            .id
    }

    async fn schedule(&self, args: Value, call_id: &str) -> phone_core::tools::ToolOutcome {
        run_tool(&self.ctx, "schedule_reminder", &args.to_string(), call_id).await
    }
}

async fn wait_for_texts(w: &World, n: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let texts = w.texts().await;
        if texts.len() >= n {
            return texts;
        }
        assert!(tokio::time::Instant::now() < deadline, "only {texts:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn an_sms_reminder_is_texted_to_the_outbox_once_at_its_time() {
    let w = world(AccessLevel::Owner);
    let stop = w.start_scheduler();
    // "Text me tomorrow at 9 to renew the parking permit."
    let set = w
        .schedule(
            json!({"channel": "sms", "message": "renew the parking permit", "at": "2026-11-25T09:00"}),
            "call_1",
        )
        .await;
    assert!(!set.is_error, "{}", set.result);
    assert_eq!(
        set.result["scheduled"]["at"],
        "2026-11-25T09:00 (Europe/Paris)"
    );
    // The same request retried (same tool call id) finds the same reminder.
    let again = w
        .schedule(
            json!({"channel": "sms", "message": "renew the parking permit", "at": "2026-11-25T09:00"}),
            "call_1",
        )
        .await;
    assert_eq!(again.result, set.result);
    assert_eq!(w.ctx.store.pending_reminders().await.unwrap().len(), 1);

    // 08:59 Paris: nothing yet. 09:00: one text.
    let nine = 1_795_593_600; // 2026-11-25T08:00:00Z
    w.clock.set(nine - 60);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(w.texts().await.is_empty());
    w.clock.set(nine);
    let texts = wait_for_texts(&w, 1).await;
    assert_eq!(texts, ["Reminder: renew the parking permit"]);
    w.clock.advance(86_400);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(w.texts().await.len(), 1, "fired once");
    let listed = run_tool(&w.ctx, "list_reminders", r#"{"include_done":true}"#, "l1").await;
    assert_eq!(
        listed.result["reminders"][0]["status"], "fired",
        "{}",
        listed.result
    );
    let _ = stop.send(());
}

#[tokio::test]
async fn reminders_are_listed_and_cancelled_and_a_cancelled_one_never_fires() {
    let w = world(AccessLevel::Owner);
    let stop = w.start_scheduler();
    let set = w
        .schedule(
            json!({"channel": "sms", "message": "call mum", "at": "2026-11-24T18:00"}),
            "c1",
        )
        .await;
    let id = set.result["scheduled"]["id"].as_str().unwrap().to_owned();
    let listed = run_tool(&w.ctx, "list_reminders", "{}", "l1").await;
    assert_eq!(listed.result["reminders"][0]["id"], id.as_str());
    let cancelled = run_tool(
        &w.ctx,
        "cancel_reminder",
        &json!({"reminder_id": id}).to_string(),
        "c2",
    )
    .await;
    assert!(!cancelled.is_error, "{}", cancelled.result);
    assert_eq!(cancelled.result["cancelled"]["status"], "cancelled");
    let twice = run_tool(
        &w.ctx,
        "cancel_reminder",
        &json!({"reminder_id": id}).to_string(),
        "c3",
    )
    .await;
    // The model asking again is answered from the first cancel (the tool-retry machinery)...
    assert_eq!(twice.result["already_done"], true, "{}", twice.result);
    // ...and a cancel of a reminder that is no longer pending says what it is.
    let rid = ReminderId::parse(&id).unwrap();
    let direct =
        phone_core::reminders::cancel_by_owner(&w.ctx.store, &*w.ctx.reminder_alarm, &rid).await;
    assert!(
        matches!(direct, Err(phone_core::StoreError::Conflict(_))),
        "{direct:?}"
    );
    let unknown = run_tool(
        &w.ctx,
        "cancel_reminder",
        r#"{"reminder_id":"rem_000000000000000000000000"}"#,
        "c4",
    )
    .await;
    assert_eq!(unknown.result["kind"], "not_found");
    let garbage = run_tool(
        &w.ctx,
        "cancel_reminder",
        r#"{"reminder_id":"../../x"}"#,
        "c5",
    )
    .await;
    assert_eq!(garbage.result["kind"], "invalid_arguments");
    assert_eq!(
        run_tool(&w.ctx, "list_reminders", "{}", "l2").await.result["reminders"],
        json!([])
    );
    w.clock.advance(86_400);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(w.texts().await.is_empty());
    let _ = stop.send(());
}

#[tokio::test]
async fn reminders_that_cannot_be_kept_are_refused_with_a_clear_error() {
    let w = world(AccessLevel::Owner);
    let cases = [
        (
            json!({"channel": "sms", "message": "x", "at": "2026-11-24T10:00"}),
            "already passed",
        ),
        (
            json!({"channel": "sms", "message": "x", "event_id": "evt_nope"}),
            "list_events",
        ),
        (json!({"channel": "sms", "message": "x"}), "exactly one"),
        (
            json!({"channel": "sms", "message": "x", "at": "2026-11-25T09:00", "event_id": "e"}),
            "exactly one",
        ),
        (
            json!({"channel": "fax", "message": "x", "at": "2026-11-25T09:00"}),
            "unknown variant",
        ),
        (
            json!({"channel": "sms", "message": " ", "at": "2026-11-25T09:00"}),
            "must not be empty",
        ),
        (
            json!({"channel": "sms", "message": "x".repeat(301), "at": "2026-11-25T09:00"}),
            "longer than 300",
        ),
        (
            json!({"channel": "sms", "message": "x", "at": "2028-11-25T09:00"}),
            "a year ahead",
        ),
    ];
    for (i, (args, why)) in cases.into_iter().enumerate() {
        let refused = w.schedule(args.clone(), &format!("bad_{i}")).await;
        assert!(refused.is_error, "{args}");
        let error = refused.result["error"].as_str().unwrap();
        assert!(error.contains(why), "{args}: {error}");
    }
    // An event that already started leaves no time to remind before it.
    let soon = w.event("Standup", NOW + 300).await;
    let late = w
        .schedule(
            json!({"channel": "sms", "message": "x", "event_id": soon, "minutes_before": 10}),
            "late",
        )
        .await;
    assert!(
        late.result["error"]
            .as_str()
            .unwrap()
            .contains("already passed"),
        "{}",
        late.result
    );
    // No scheduler running: refused, not accepted and forgotten.
    let no_scheduler = w
        .schedule(
            json!({"channel": "sms", "message": "x", "at": "2026-11-25T09:00"}),
            "ok",
        )
        .await;
    assert!(
        no_scheduler.result["error"]
            .as_str()
            .unwrap()
            .contains("scheduler"),
        "{}",
        no_scheduler.result
    );
    assert!(w.ctx.store.pending_reminders().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_guest_is_refused_the_reminder_tools_in_code() {
    let w = world(AccessLevel::Guest);
    let _stop = w.start_scheduler();
    for (tool, args) in [
        (
            "schedule_reminder",
            r#"{"channel":"sms","message":"x","at":"2026-11-25T09:00"}"#,
        ),
        ("list_reminders", "{}"),
        (
            "cancel_reminder",
            r#"{"reminder_id":"rem_000000000000000000000000"}"#,
        ),
    ] {
        let refused = run_tool(&w.ctx, tool, args, &format!("g_{tool}")).await;
        assert_eq!(
            refused.result["kind"], "not_allowed",
            "{tool}: {}",
            refused.result
        );
    }
    assert!(w.ctx.store.pending_reminders().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_reminder_follows_its_event_moved_or_deleted_by_the_tools() {
    let w = world(AccessLevel::Owner);
    let _stop = w.start_scheduler();
    let dentist = w.event("Dentist", NOW + 2 * 3600).await; // 13:00 Paris
    let set = w
        .schedule(json!({"channel": "sms", "message": "dentist", "event_id": dentist, "minutes_before": 10}), "r1")
        .await;
    assert_eq!(
        set.result["scheduled"]["at"], "2026-11-24T12:50 (Europe/Paris)",
        "{}",
        set.result
    );
    let moved = run_tool(
        &w.ctx,
        "update_event",
        &json!({"event_id": dentist, "start": "2026-11-24T16:00"}).to_string(),
        "u1",
    )
    .await;
    assert_eq!(
        moved.result["reminders_moved"][0]["at"], "2026-11-24T15:50 (Europe/Paris)",
        "{}",
        moved.result
    );
    let deleted = run_tool(
        &w.ctx,
        "delete_event",
        &json!({"event_id": dentist}).to_string(),
        "d1",
    )
    .await;
    assert_eq!(
        deleted.result["reminders_cancelled"][0]["status"], "cancelled",
        "{}",
        deleted.result
    );
    w.clock.advance(86_400);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(w.texts().await.is_empty());
}

#[tokio::test]
async fn at_fire_time_an_event_changed_outside_the_assistant_moves_or_cancels_the_reminder() {
    let mut w = world(AccessLevel::Owner);
    w.ctx.reminder_alarm = Arc::new(ManualAlarm);
    let moved_event = w.event("Dentist", NOW + 2 * 3600).await;
    let deleted_event = w.event("Lunch", NOW + 2 * 3600).await;
    for (event, key) in [(&moved_event, "m"), (&deleted_event, "d")] {
        let set = w
            .schedule(
                json!({"channel": "sms", "message": key, "event_id": event, "minutes_before": 10}),
                key,
            )
            .await;
        assert!(!set.is_error, "{}", set.result);
    }
    // Changed in the calendar directly, not through the tools: the reminders do not know yet.
    let later = OffsetDateTime::from_unix_timestamp(NOW + 3 * 3600).unwrap();
    w.calendar
        .update_event(
            &moved_event,
            &EventPatch {
                start: Some(later),
                end: Some(later + time::Duration::minutes(30)),
                ..EventPatch::default()
            },
        )
        .await
        .unwrap();
    w.calendar.delete_event(&deleted_event).await.unwrap();

    // At the old time: the moved one follows its event, the other is cancelled; nothing is sent.
    w.clock.set(NOW + 2 * 3600 - 600);
    let next = w.firer.fire_due().await.unwrap();
    assert_eq!(next.map(|n| n.unix_timestamp()), Some(NOW + 3 * 3600 - 600));
    assert!(w.texts().await.is_empty());
    let id = |key: &str| ReminderId::derive(&format!("SMS#{OWNER}"), key);
    let cancelled = w.ctx.store.get_reminder(&id("d")).await.unwrap();
    assert_eq!(cancelled.status, ReminderStatus::Cancelled);
    assert!(cancelled.note.unwrap().contains("deleted"));
    assert_eq!(
        w.firer.fire(&id("m")).await.unwrap(),
        FireOutcome::NotDue(later - time::Duration::minutes(10))
    );

    // At the new time it fires, once.
    w.clock.set(NOW + 3 * 3600 - 600);
    assert!(matches!(
        w.firer.fire(&id("m")).await.unwrap(),
        FireOutcome::Delivered(_)
    ));
    assert_eq!(
        w.firer.fire(&id("m")).await.unwrap(),
        FireOutcome::AlreadyDone
    );
    assert_eq!(
        w.texts().await,
        ["Reminder: m (Dentist at 2026-11-24T14:00 (Europe/Paris))"]
    );
}

#[tokio::test]
async fn a_call_reminder_fails_clearly_until_the_dialer_is_wired() {
    let mut w = world(AccessLevel::Owner);
    w.ctx.reminder_alarm = Arc::new(ManualAlarm);
    w.schedule(
        json!({"channel": "call", "message": "stand up", "at": "2026-11-24T12:00"}),
        "c1",
    )
    .await;
    w.clock.set(NOW + 3600);
    let id = ReminderId::derive(&format!("SMS#{OWNER}"), "c1");
    let FireOutcome::Failed(error) = w.firer.fire(&id).await.unwrap() else {
        panic!("a call reminder cannot be delivered without the dialer");
    };
    assert!(error.contains("outbound call dialer"), "{error}");
    let stored = w.ctx.store.get_reminder(&id).await.unwrap();
    assert_eq!(stored.status, ReminderStatus::Failed);
    assert!(stored.delivery_id.is_none());
    // Not retried: at most once.
    assert_eq!(w.firer.fire(&id).await.unwrap(), FireOutcome::AlreadyDone);
    assert!(w.texts().await.is_empty());
}

/// An alarm that accepts every reminder and fires none: the test fires them by hand with
/// [`ReminderFirer`].
struct ManualAlarm;

#[async_trait::async_trait]
impl phone_core::ports::ReminderAlarm for ManualAlarm {
    async fn set(
        &self,
        _: &phone_core::reminders::Reminder,
    ) -> Result<(), phone_core::ports::PortError> {
        Ok(())
    }
    async fn clear(
        &self,
        _: &phone_core::reminders::Reminder,
    ) -> Result<(), phone_core::ports::PortError> {
        Ok(())
    }
    fn describe(&self) -> String {
        "manual".into()
    }
}
