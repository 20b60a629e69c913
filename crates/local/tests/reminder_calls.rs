//! Reminder calls on the embedded adapters: a due call reminder is placed through the outbound
//! dialer (here the local dialer) with the reminder as the call's purpose, and the call policy
//! applies to it like to any outbound call: quiet hours, the do-not-call list and the daily cap
//! refuse it, recorded as the reminder's failure naming the rule, with nothing dialled. Without
//! a dialer a call reminder fails as not configured.

use std::sync::Arc;

use phone_core::outbound::OutboundId;
use phone_core::outbound::dialer::{Dialer, DialerSettings};
use phone_core::outbound::policy::CallPolicy;
use phone_core::ports::{PortError, ReminderAlarm};
use phone_core::reminders::{
    ChannelDelivery, FireOutcome, Reminder, ReminderFirer, ReminderStatus,
};
use phone_core::tools::clock_time::LocalZone;
use phone_core::tools::{ToolContext, run_tool};
use phone_core::{AccessLevel, PhoneNumber, Store};
use phone_local::{LocalCalendar, LocalDialer, LocalRecords, MailOutbox, SmsOutbox};
use phone_test_support::store_suite::TestClock;
use serde_json::json;

// 2026-11-24T10:00:00Z (11:00 in Paris), a Tuesday.
const NOW: i64 = 1_795_514_400;
const OWNER: &str = "+14155550123";

/// An alarm that accepts every reminder: the test fires them by hand at its clock's time.
struct ManualAlarm;

#[async_trait::async_trait]
impl ReminderAlarm for ManualAlarm {
    async fn set(&self, _reminder: &Reminder) -> Result<(), PortError> {
        Ok(())
    }
    async fn clear(&self, _reminder: &Reminder) -> Result<(), PortError> {
        Ok(())
    }
    fn describe(&self) -> String {
        "fired by the test".into()
    }
}

struct World {
    ctx: ToolContext,
    clock: Arc<TestClock>,
    dialer: LocalDialer,
    firer: ReminderFirer,
}

/// The owner on a call with the assistant; reminder calls go through a local dialer under
/// `policy`, or are not configured when `policy` is `None`.
fn world(policy: Option<CallPolicy>) -> World {
    let clock = TestClock::at(NOW);
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        clock.clone(),
        Default::default(),
    );
    let sms = Arc::new(SmsOutbox::new(store.clone(), None));
    let calendar = Arc::new(LocalCalendar::new(store.clone()));
    let alarm = Arc::new(ManualAlarm);
    let zone = LocalZone::new("Europe/Paris").unwrap();
    let local_dialer = LocalDialer::default();
    let dialer = policy.map(|policy| {
        Dialer::new(
            store.clone(),
            Arc::new(local_dialer.clone()),
            DialerSettings {
                policy,
                public_base_url: "http://127.0.0.1:9".into(),
                from: None,
                default_zone: "Europe/Paris".into(),
                ring_timeout_secs: 30,
            },
        )
    });
    let ctx = ToolContext {
        calendar: calendar.clone(),
        messaging: sms.clone(),
        mail: Arc::new(MailOutbox::new(store.clone())),
        store: store.clone(),
        zone: zone.clone(),
        transfer_number: None,
        owner_pk: format!("CALL#{OWNER}"),
        caller: Some(PhoneNumber::parse(OWNER).unwrap()),
        voice: true,
        access: AccessLevel::Owner,
        email_sender: None,
        owner_number: None,
        guest_quotas: Default::default(),
        verified_caller: true,
        reminder_alarm: alarm.clone(),
        events: Default::default(),
    };
    let firer = ReminderFirer {
        store,
        calendar,
        delivery: Arc::new(ChannelDelivery::new(sms, dialer)),
        alarm,
        zone,
    };
    World {
        ctx,
        clock,
        dialer: local_dialer,
        firer,
    }
}

impl World {
    /// "Call me at `at` about `message`", as the model would ask; the reminder's id.
    async fn call_me(&self, message: &str, at: &str, call_id: &str) -> String {
        let args = json!({"channel": "call", "message": message, "at": at});
        let set = run_tool(&self.ctx, "schedule_reminder", &args.to_string(), call_id).await;
        assert!(!set.is_error, "{}", set.result);
        set.result["scheduled"]["id"].as_str().unwrap().to_owned()
    }

    async fn fire(&self, id: &str) -> FireOutcome {
        let id = phone_core::reminders::ReminderId::parse(id).unwrap();
        self.firer.fire(&id).await.unwrap()
    }

    async fn reminder(&self, id: &str) -> phone_core::reminders::Reminder {
        let id = phone_core::reminders::ReminderId::parse(id).unwrap();
        self.ctx.store.get_reminder(&id).await.unwrap()
    }
}

#[tokio::test]
async fn a_call_reminder_is_placed_through_the_dialer_with_the_reminder_as_its_purpose() {
    let w = world(Some(CallPolicy::default()));
    // 11:00 in Paris; "call me at 11:30 about the dentist appointment".
    let id = w
        .call_me("dentist appointment at 15:00", "2026-11-24T11:30", "call_1")
        .await;
    assert!(matches!(w.fire(&id).await, FireOutcome::NotDue(_)));
    assert!(w.dialer.dialed().is_empty(), "nothing before its time");

    w.clock.advance(30 * 60);
    let outcome = w.fire(&id).await;
    let FireOutcome::Delivered(delivery) = outcome else {
        panic!("not delivered: {outcome:?}");
    };
    let ob = OutboundId::parse(&delivery).expect("the delivery is the outbound request's id");
    let reminder = w.reminder(&id).await;
    assert_eq!(reminder.status, ReminderStatus::Fired);
    assert_eq!(reminder.delivery_id.as_deref(), Some(delivery.as_str()));

    let request = w.ctx.store.get_outbound(&ob).await.unwrap();
    assert_eq!(request.to.as_str(), OWNER);
    assert_eq!(request.purpose, "a reminder: dentist appointment at 15:00");
    assert!(
        request
            .instructions
            .contains("\"Reminder: dentist appointment at 15:00\""),
        "{}",
        request.instructions
    );
    assert_eq!(
        request.greeting("Ava", Some("Sam")),
        "Hi, this is Ava calling for Sam about a reminder: dentist appointment at 15:00."
    );
    let dialed = w.dialer.dialed();
    assert_eq!(dialed.len(), 1, "one call placed");
    assert_eq!(dialed[0].request.to.as_str(), OWNER);
    assert_eq!(
        dialed[0].request.voice_url,
        format!("http://127.0.0.1:9/voice/outbound?outbound={ob}")
    );
    assert_eq!(request.attempts, vec![dialed[0].call_sid.clone()]);

    // Fired once: firing again does nothing and dials nothing.
    assert_eq!(w.fire(&id).await, FireOutcome::AlreadyDone);
    assert_eq!(w.dialer.dialed().len(), 1);
}

#[tokio::test]
async fn the_call_policy_refuses_reminder_calls_and_the_reminder_records_the_rule() {
    let policy = CallPolicy {
        max_calls_per_day: 1,
        ..CallPolicy::default()
    };
    let w = world(Some(policy));
    // Quiet hours: 22:30 in Paris is outside 08:00-21:00.
    let late = w
        .call_me("take the pills", "2026-11-24T22:30", "late")
        .await;
    // Do not call: the owner's number texted STOP.
    let stopped = w
        .call_me("water the plants", "2026-11-24T12:00", "stopped")
        .await;
    // The daily cap of one: the first call goes out, the second is refused.
    let first = w
        .call_me("call the bank", "2026-11-24T12:10", "first")
        .await;
    let second = w
        .call_me("call the vet", "2026-11-24T12:20", "second")
        .await;

    w.clock.advance(2 * 3600);
    let owner = PhoneNumber::parse(OWNER).unwrap();
    w.ctx.store.set_sms_opt_out(&owner, true).await.unwrap();
    let refused = w.fire(&stopped).await;
    assert!(
        matches!(&refused, FireOutcome::Failed(e) if e.contains("refused (do_not_call)")),
        "{refused:?}"
    );
    w.ctx.store.set_sms_opt_out(&owner, false).await.unwrap();
    assert!(matches!(w.fire(&first).await, FireOutcome::Delivered(_)));
    let capped = w.fire(&second).await;
    assert!(
        matches!(&capped, FireOutcome::Failed(e) if e.contains("refused (daily_cap)")),
        "{capped:?}"
    );

    w.clock.advance(10 * 3600 + 30 * 60);
    let quiet = w.fire(&late).await;
    assert!(
        matches!(&quiet, FireOutcome::Failed(e) if e.contains("refused (quiet_hours)") && e.contains("08:00-21:00")),
        "{quiet:?}"
    );

    for (id, rule) in [
        (&stopped, "do_not_call"),
        (&second, "daily_cap"),
        (&late, "quiet_hours"),
    ] {
        let r = w.reminder(id).await;
        assert_eq!(r.status, ReminderStatus::Failed, "{id}");
        assert!(r.delivery_id.is_none(), "{id}: never reported as delivered");
        assert!(r.error.as_deref().unwrap_or("").contains(rule), "{r:?}");
    }
    assert_eq!(
        w.dialer.dialed().len(),
        1,
        "only the first call was dialled"
    );
}

#[tokio::test]
async fn without_a_dialer_a_call_reminder_fails_as_not_configured() {
    let w = world(None);
    let id = w.call_me("dentist", "2026-11-24T11:30", "call_1").await;
    w.clock.advance(30 * 60);
    let outcome = w.fire(&id).await;
    assert!(
        matches!(&outcome, FireOutcome::Failed(e) if e.contains("not configured") && e.contains("PUBLIC_BASE_URL")),
        "{outcome:?}"
    );
    let r = w.reminder(&id).await;
    assert_eq!(r.status, ReminderStatus::Failed);
    assert!(r.delivery_id.is_none());
}
