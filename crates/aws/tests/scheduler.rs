//! The EventBridge Scheduler alarm against moto's scheduler on loopback: a reminder's schedule
//! is created as a one-time `at(...)` expression in UTC, deleted after completion, invoking the
//! target with the reminder id; setting it again is fine; a moved reminder gets a schedule at
//! its new time; clearing deletes the current one, twice is fine.

use aws_sdk_scheduler::types::ActionAfterCompletion;
use phone_aws::{EventBridgeAlarm, at_expression, schedule_name};
use phone_core::PhoneNumber;
use phone_core::ports::ReminderAlarm;
use phone_core::reminders::{Reminder, ReminderChannel, ReminderId, ReminderStatus};
use phone_test_support::moto;
use time::OffsetDateTime;

const TARGET: &str = "arn:aws:lambda:us-east-1:123456789012:function:phone-agent-reminders";
const ROLE: &str = "arn:aws:iam::123456789012:role/phone-agent-reminder-scheduler";

fn reminder(fire_at: i64) -> Reminder {
    let fire_at = OffsetDateTime::from_unix_timestamp(fire_at).unwrap();
    Reminder {
        id: ReminderId::derive("SMS#+14155550123", "call_1"),
        channel: ReminderChannel::Sms,
        to: PhoneNumber::parse("+14155550123").unwrap(),
        message: "renew the parking permit".into(),
        fire_at,
        due: fire_at.unix_timestamp(),
        event: None,
        status: ReminderStatus::Pending,
        created_at: fire_at - time::Duration::hours(1),
        created_by: "SMS#+14155550123".into(),
        idempotency_key: "call_1".into(),
        fired_at: None,
        delivery_id: None,
        error: None,
        note: None,
    }
}

#[test]
fn at_expressions_are_utc_to_the_second_rounded_up() {
    let at = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
    assert_eq!(at_expression(at), "at(2026-09-21T14:13:20)");
    let paris = at.to_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap());
    assert_eq!(at_expression(paris), "at(2026-09-21T14:13:20)");
    assert_eq!(
        at_expression(at + time::Duration::milliseconds(1)),
        "at(2026-09-21T14:13:21)"
    );
}

#[tokio::test]
async fn schedules_are_created_moved_and_deleted_in_their_group() {
    let Some(endpoint) = moto::shared_endpoint() else {
        return;
    };
    let client = moto::scheduler_client(&endpoint);
    let group = moto::unique_name("reminders");
    client
        .create_schedule_group()
        .name(&group)
        .send()
        .await
        .expect("create the schedule group on moto");
    let alarm = EventBridgeAlarm::new(client.clone(), &group, TARGET, ROLE);
    assert_eq!(alarm.describe(), format!("eventbridge-scheduler:{group}"));
    let first = reminder(1_790_000_000);
    alarm.set(&first).await.unwrap();
    // Set again (a retried request): the same schedule, no error.
    alarm.set(&first).await.unwrap();

    let read = |name: String| {
        let client = client.clone();
        let group = group.clone();
        async move {
            client
                .get_schedule()
                .name(name)
                .group_name(group)
                .send()
                .await
        }
    };
    let first_name = schedule_name(&first);
    assert_eq!(first_name, format!("{}-1790000000", first.id));
    let schedule = read(first_name.clone()).await.unwrap();
    assert_eq!(
        schedule.schedule_expression(),
        Some("at(2026-09-21T14:13:20)")
    );
    assert_eq!(schedule.schedule_expression_timezone(), Some("UTC"));
    assert_eq!(
        schedule.action_after_completion(),
        Some(&ActionAfterCompletion::Delete)
    );
    let target = schedule.target().expect("target");
    assert_eq!(target.arn(), TARGET);
    assert_eq!(target.role_arn(), ROLE);
    let input: serde_json::Value = serde_json::from_str(target.input().unwrap()).unwrap();
    assert_eq!(input, serde_json::json!({"reminder_id": first.id.as_str()}));

    // Moved: a schedule at the new time, with the same input.
    let moved = reminder(1_790_003_600);
    alarm.set(&moved).await.unwrap();
    let schedule = read(schedule_name(&moved)).await.unwrap();
    assert_eq!(
        schedule.schedule_expression(),
        Some("at(2026-09-21T15:13:20)")
    );
    assert_eq!(schedule.target().and_then(|t| t.input()), target.input());

    // Cleared: the current schedule is deleted; clearing again (it ran) is fine.
    alarm.clear(&moved).await.unwrap();
    let gone = read(schedule_name(&moved)).await.unwrap_err();
    assert_eq!(
        gone.as_service_error()
            .and_then(|e| aws_sdk_scheduler::error::ProvideErrorMetadata::code(e)),
        Some("ResourceNotFoundException")
    );
    alarm.clear(&moved).await.unwrap();
}

#[tokio::test]
async fn a_missing_group_is_an_upstream_error_naming_the_service() {
    let Some(endpoint) = moto::shared_endpoint() else {
        return;
    };
    let alarm = EventBridgeAlarm::new(
        moto::scheduler_client(&endpoint),
        "no-such-group",
        TARGET,
        ROLE,
    );
    let err = alarm.set(&reminder(1_790_000_000)).await.unwrap_err();
    assert!(err.to_string().contains("eventbridge_scheduler"), "{err}");
}
