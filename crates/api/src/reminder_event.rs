//! The reminders function's event: what a reminder's EventBridge Scheduler schedule sends
//! (`{"reminder_id": "rem_…"}`, the schedule's target input), fired through
//! [`ReminderFirer::fire`].

use phone_core::StoreError;
use phone_core::reminders::{FireOutcome, ReminderFirer, ReminderId};
use serde::Deserialize;
use serde_json::{Value, json};

/// Why an event could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum ReminderEventError {
    /// The event is not `{"reminder_id": "rem_…"}`; retrying will not help.
    #[error("not a reminder event: {0}")]
    Invalid(String),
    /// The store failed; the scheduler's retry may succeed (a claim makes the retry safe).
    #[error("reminder store: {0}")]
    Store(#[from] StoreError),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReminderEvent {
    reminder_id: String,
}

/// Fires the reminder `event` names and answers what happened, as JSON for the log. An unknown
/// reminder (expired, or a stale schedule) is answered, not an error: nothing is left to do.
pub async fn fire_event(firer: &ReminderFirer, event: Value) -> Result<Value, ReminderEventError> {
    let event: ReminderEvent =
        serde_json::from_value(event).map_err(|e| ReminderEventError::Invalid(e.to_string()))?;
    let id = ReminderId::parse(&event.reminder_id)
        .map_err(|e| ReminderEventError::Invalid(e.to_string()))?;
    let outcome = match firer.fire(&id).await {
        Ok(outcome) => outcome,
        Err(StoreError::NotFound) => {
            tracing::warn!(reminder = %id, "schedule fired for a reminder that no longer exists");
            return Ok(json!({"reminder_id": id, "outcome": "not_found"}));
        }
        Err(e) => return Err(e.into()),
    };
    let answer = match outcome {
        FireOutcome::Delivered(sid) => json!({"outcome": "delivered", "delivery_id": sid}),
        FireOutcome::Failed(error) => json!({"outcome": "failed", "error": error}),
        FireOutcome::NotDue(at) => json!({"outcome": "not_due", "fire_at": at.unix_timestamp()}),
        FireOutcome::Moved(at) => json!({"outcome": "moved", "fire_at": at.unix_timestamp()}),
        FireOutcome::Cancelled(why) => json!({"outcome": "cancelled", "reason": why}),
        FireOutcome::AlreadyDone => json!({"outcome": "already_done"}),
    };
    let mut answer = answer;
    answer["reminder_id"] = json!(id);
    Ok(answer)
}
