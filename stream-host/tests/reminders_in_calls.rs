//! A reminder set by voice: on an owner's call the model schedules "call me ten minutes before
//! my dentist appointment" (the event id from the calendar), then moves the appointment; the
//! local scheduler, on a test clock, fires the reminder once, at the moved time and not at the
//! old one. A guest's call is never offered the reminder tools.

mod harness;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use harness::{WAIT, sid};
use phone_core::ports::{Calendar, NewEvent, PortError, ReminderDelivery};
use phone_core::reminders::{ReminderFirer, ReminderStatus};
use phone_core::tools::clock_time::LocalZone;
use phone_core::{AccessLevel, PhoneNumber};
use phone_local::LocalCalendar;
use phone_local::reminders::{LocalAlarm, run_scheduler};
use phone_test_support::realtime_server::{Response, Status};
use phone_test_support::store_suite::TestClock;
use serde_json::Value;
use time::OffsetDateTime;

/// Records what it delivers: the dialer's seam ([`ReminderDelivery::call`]) as a test double.
#[derive(Default)]
struct RecordingDelivery {
    calls: Mutex<Vec<(String, String, i64)>>,
    clock: Mutex<Option<Arc<TestClock>>>,
}

#[async_trait]
impl ReminderDelivery for RecordingDelivery {
    async fn text(&self, _to: &PhoneNumber, _body: &str) -> Result<String, PortError> {
        Err(PortError::Invalid("this test expects a call".into()))
    }
    async fn call(
        &self,
        reminder: &phone_core::reminders::Reminder,
        message: &str,
    ) -> Result<String, PortError> {
        let to = &reminder.to;
        let at = self
            .clock
            .lock()
            .unwrap()
            .as_ref()
            .map(|c| phone_core::Clock::now(&**c).unix_timestamp())
            .unwrap_or_default();
        let mut calls = self.calls.lock().unwrap();
        calls.push((to.as_str().to_owned(), message.to_owned(), at));
        Ok(format!("CA{:032x}", calls.len()))
    }
    fn describe(&self) -> String {
        "recording".into()
    }
}

/// `2026-11-30T15:00` for the model: the local wall time of `at` in Paris.
fn local(zone: &LocalZone, at: OffsetDateTime) -> String {
    zone.show(at).split(' ').next().unwrap().to_owned()
}

fn output(item: &Value) -> Value {
    serde_json::from_str(item["item"]["output"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_reminder_set_by_voice_follows_its_moved_event_and_fires_once_at_its_time() {
    let zone = LocalZone::new("Europe/Paris").unwrap();
    let start = OffsetDateTime::now_utc().unix_timestamp() / 60 * 60;
    let clock = TestClock::at(start);
    let alarm = LocalAlarm::new();
    let host = harness::start_with_reminders(clock.clone(), Arc::new(alarm.clone())).await;
    let calendar = Arc::new(LocalCalendar::new(host.store.clone()));
    let dentist_at = OffsetDateTime::from_unix_timestamp(start + 2 * 3600).unwrap();
    let dentist = calendar
        .create_event(
            &NewEvent {
                title: "Dentist".into(),
                start: dentist_at,
                end: dentist_at + time::Duration::minutes(30),
                time_zone: "Europe/Paris".into(),
                description: None,
                location: None,
                attendees: vec![],
                reminders: None,
            },
            "test:dentist",
        )
        .await
        .unwrap();
    let delivery = Arc::new(RecordingDelivery::default());
    *delivery.clock.lock().unwrap() = Some(clock.clone());
    let firer = ReminderFirer {
        store: host.store.clone(),
        calendar: calendar.clone(),
        delivery: delivery.clone(),
        alarm: Arc::new(alarm.clone()),
        zone: zone.clone(),
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let scheduler = tokio::spawn(run_scheduler(firer, alarm, clock.clone(), async move {
        let _ = stop_rx.await;
    }));

    // The owner's call: "call me ten minutes before my dentist appointment".
    let mut twilio = host.connect_call(&sid(40)).await;
    let update = &host.openai.wait_for("session.update", 1, WAIT).await[0];
    let offered: Vec<&str> = update["session"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(offered.contains(&"schedule_reminder"), "{offered:?}");
    host.greeting_done().await;
    let turn = host.openai.vad_turn().await.unwrap();
    let args = serde_json::json!({"channel": "call", "message": "dentist appointment",
        "event_id": dentist.id, "minutes_before": 10});
    host.openai
        .play(
            &turn,
            Response::new().function_call("call_1", "schedule_reminder", &args.to_string()),
        )
        .await;
    host.openai.finish(&turn, Status::Completed).await;
    let outputs = host
        .openai
        .wait_for("conversation.item.create", 1, WAIT)
        .await;
    let scheduled = output(&outputs[0]);
    let first_fire = dentist_at - time::Duration::minutes(10);
    assert_eq!(
        scheduled["scheduled"]["at"],
        zone.show(first_fire),
        "{scheduled}"
    );
    assert_eq!(scheduled["scheduled"]["status"], "pending");

    // "Move the dentist to an hour later": the reminder moves with it.
    let moved_at = dentist_at + time::Duration::hours(1);
    let patch = serde_json::json!({"event_id": dentist.id, "start": local(&zone, moved_at)});
    host.openai
        .respond(
            Response::new()
                .function_call("call_2", "update_event", &patch.to_string())
                .status(Status::Completed),
        )
        .await;
    let outputs = host
        .openai
        .wait_for("conversation.item.create", 2, WAIT)
        .await;
    let updated = output(&outputs[1]);
    let second_fire = moved_at - time::Duration::minutes(10);
    assert_eq!(
        updated["reminders_moved"][0]["at"],
        zone.show(second_fire),
        "{updated}"
    );
    host.openai
        .respond(Response::new().status(Status::Completed))
        .await;
    twilio.stop(&sid(40)).await;
    host.wait_no_active_calls().await;
    host.assert_no_refusals().await;

    // At the old time nothing fires; at the new time the owner is called, once.
    clock.set(first_fire.unix_timestamp() + 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        delivery.calls.lock().unwrap().is_empty(),
        "not at the old time"
    );
    clock.set(second_fire.unix_timestamp());
    let deadline = tokio::time::Instant::now() + WAIT;
    while delivery.calls.lock().unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reminder never fired"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    clock.advance(3600);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let calls = delivery.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "fired once: {calls:?}");
    let (to, message, at) = &calls[0];
    assert_eq!(to, "+14155550123", "the owner who asked");
    assert!(
        message.contains("dentist appointment") && message.contains("Dentist"),
        "{message}"
    );
    assert_eq!(*at, second_fire.unix_timestamp(), "at its time");
    let stored = host.store.pending_reminders().await.unwrap();
    assert!(stored.is_empty());
    let all = host
        .store
        .list_reminders(&phone_core::store::PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, ReminderStatus::Fired);
    assert_eq!(
        all[0].delivery_id.as_deref(),
        Some(&*format!("CA{:032x}", 1))
    );

    let _ = stop_tx.send(());
    scheduler.await.unwrap();
}

#[tokio::test]
async fn a_guests_call_is_not_offered_the_reminder_tools_and_is_refused_them() {
    let host = harness::start_with_tools().await;
    let mut twilio = host.connect_call_as(&sid(41), AccessLevel::Guest).await;
    let update = &host.openai.wait_for("session.update", 1, WAIT).await[0];
    let offered: Vec<&str> = update["session"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for tool in ["schedule_reminder", "list_reminders", "cancel_reminder"] {
        assert!(!offered.contains(&tool), "{tool} offered to a guest");
    }
    host.greeting_done().await;
    let turn = host.openai.vad_turn().await.unwrap();
    host.openai
        .play(
            &turn,
            Response::new().function_call(
                "call_1",
                "schedule_reminder",
                r#"{"channel":"sms","message":"x","at":"2030-01-01T09:00"}"#,
            ),
        )
        .await;
    host.openai.finish(&turn, Status::Completed).await;
    let outputs = host
        .openai
        .wait_for("conversation.item.create", 1, WAIT)
        .await;
    let refused = output(&outputs[0]);
    assert_eq!(refused["kind"], "not_allowed", "{refused}");
    host.openai
        .respond(Response::new().status(Status::Completed))
        .await;
    twilio.stop(&sid(41)).await;
    host.wait_no_active_calls().await;
    assert!(host.store.pending_reminders().await.unwrap().is_empty());
}
