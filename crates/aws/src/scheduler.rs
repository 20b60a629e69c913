//! Reminders' alarms as EventBridge Scheduler one-time schedules: `at(<UTC time>)`, deleted by
//! the scheduler after they run (`ActionAfterCompletion: DELETE`), invoking the reminders
//! function with `{"reminder_id": "<id>"}`. A schedule is named after the reminder and its due
//! time ([`schedule_name`]): moving a reminder creates a new schedule, and the one left at the
//! old time finds the reminder not due when it runs and does nothing; cancelling deletes the
//! current one.

use async_trait::async_trait;
use aws_sdk_scheduler::Client;
use aws_sdk_scheduler::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, Target,
};
use phone_core::ports::{PortError, ReminderAlarm};
use phone_core::reminders::{Reminder, ReminderId};
use time::OffsetDateTime;
use time::macros::format_description;

const SERVICE: &str = "eventbridge_scheduler";

/// A [`ReminderAlarm`] on EventBridge Scheduler.
#[derive(Debug, Clone)]
pub struct EventBridgeAlarm {
    client: Client,
    group: String,
    target_arn: String,
    role_arn: String,
}

impl EventBridgeAlarm {
    /// Schedules in `group`, invoking `target_arn` (the reminders function) as `role_arn`.
    pub fn new(client: Client, group: &str, target_arn: &str, role_arn: &str) -> Self {
        Self {
            client,
            group: group.to_owned(),
            target_arn: target_arn.to_owned(),
            role_arn: role_arn.to_owned(),
        }
    }

    fn target(&self, id: &ReminderId) -> Result<Target, PortError> {
        Target::builder()
            .arn(&self.target_arn)
            .role_arn(&self.role_arn)
            .input(serde_json::json!({ "reminder_id": id }).to_string())
            // A reminder late by a day is no reminder: give up rather than retry for long.
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_event_age_in_seconds(3600)
                    .maximum_retry_attempts(3)
                    .build(),
            )
            .build()
            .map_err(|e| PortError::Invalid(format!("schedule target: {e}")))
    }
}

/// `at(yyyy-mm-ddThh:mm:ss)`, in UTC (the schedule's time zone), rounded up to the second.
pub fn at_expression(fire_at: OffsetDateTime) -> String {
    let utc = fire_at.to_offset(time::UtcOffset::UTC);
    let utc = if utc.nanosecond() > 0 {
        utc.replace_nanosecond(0).unwrap_or(utc) + time::Duration::seconds(1)
    } else {
        utc
    };
    let text = utc
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    format!("at({text})")
}

fn upstream<E, R>(e: &SdkError<E, R>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e {
        SdkError::TimeoutError(_) => PortError::Timeout(SERVICE),
        SdkError::ServiceError(service) => PortError::Upstream {
            service: SERVICE,
            status: None,
            message: format!(
                "{}: {}",
                service.err().code().unwrap_or("error"),
                service.err().message().unwrap_or("no message")
            ),
        },
        other => PortError::Upstream {
            service: SERVICE,
            status: None,
            message: aws_sdk_scheduler::error::DisplayErrorContext(other)
                .to_string()
                .chars()
                .take(300)
                .collect(),
        },
    }
}

fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    match e {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

/// The schedule of `reminder` at its current due time: `<reminder id>-<due, epoch seconds>`
/// (at most 39 characters of `[a-z0-9_-]`). One schedule per (reminder, time), never updated:
/// a schedule deletes itself after it runs, so updating one that is running (a reminder
/// moved by the firing it triggered) could lose the update.
pub fn schedule_name(reminder: &Reminder) -> String {
    format!("{}-{}", reminder.id, reminder.due)
}

#[async_trait]
impl ReminderAlarm for EventBridgeAlarm {
    async fn set(&self, reminder: &Reminder) -> Result<(), PortError> {
        let expression = at_expression(reminder.fire_at);
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(|e| PortError::Invalid(format!("flexible time window: {e}")))?;
        let name = schedule_name(reminder);
        let created = self
            .client
            .create_schedule()
            .name(&name)
            .group_name(&self.group)
            .schedule_expression(&expression)
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .action_after_completion(ActionAfterCompletion::Delete)
            .target(self.target(&reminder.id)?)
            .send()
            .await;
        match created {
            Ok(_) => {}
            // The same reminder at the same time (a retried request): already set.
            Err(e) if code(&e) == Some("ConflictException") => {}
            Err(e) => return Err(upstream(&e)),
        }
        tracing::info!(reminder = %reminder.id, schedule = name.as_str(), %expression, "reminder schedule set");
        Ok(())
    }

    async fn clear(&self, reminder: &Reminder) -> Result<(), PortError> {
        match self
            .client
            .delete_schedule()
            .name(schedule_name(reminder))
            .group_name(&self.group)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Already run (and deleted after completion) or never set.
            Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(()),
            Err(e) => Err(upstream(&e)),
        }
    }

    fn describe(&self) -> String {
        format!("eventbridge-scheduler:{}", self.group)
    }
}

/// An [`EventBridgeAlarm`] built on first use from the default AWS configuration (start-up
/// code that builds the tools is synchronous; the SDK's configuration loads asynchronously).
#[derive(Debug)]
pub struct LazyEventBridgeAlarm {
    group: String,
    target_arn: String,
    role_arn: String,
    endpoint: Option<String>,
    alarm: tokio::sync::OnceCell<EventBridgeAlarm>,
}

impl LazyEventBridgeAlarm {
    /// Schedules in `group` invoking `target_arn` as `role_arn`; `endpoint` overrides the
    /// service endpoint (moto).
    pub fn new(group: &str, target_arn: &str, role_arn: &str, endpoint: Option<&str>) -> Self {
        Self {
            group: group.to_owned(),
            target_arn: target_arn.to_owned(),
            role_arn: role_arn.to_owned(),
            endpoint: endpoint.map(str::to_owned),
            alarm: tokio::sync::OnceCell::new(),
        }
    }

    async fn alarm(&self) -> &EventBridgeAlarm {
        self.alarm
            .get_or_init(|| async {
                let sdk = crate::sdk_config(self.endpoint.as_deref()).await;
                EventBridgeAlarm::new(
                    Client::new(&sdk),
                    &self.group,
                    &self.target_arn,
                    &self.role_arn,
                )
            })
            .await
    }
}

#[async_trait]
impl ReminderAlarm for LazyEventBridgeAlarm {
    async fn set(&self, reminder: &Reminder) -> Result<(), PortError> {
        self.alarm().await.set(reminder).await
    }

    async fn clear(&self, reminder: &Reminder) -> Result<(), PortError> {
        self.alarm().await.clear(reminder).await
    }

    fn describe(&self) -> String {
        format!("eventbridge-scheduler:{}", self.group)
    }
}
