//! A reminder follows its event when the assistant moves or deletes the event (the
//! `update_event` and `delete_event` tools). Changes made elsewhere (in Google Calendar
//! directly) are caught at fire time instead ([`super::ReminderFirer::fire`]).

use super::{MAX_AHEAD, Reminder, ReminderId};
use crate::ports::{CalendarEvent, ReminderAlarm};
use crate::store::{Store, StoreError};

/// Moves every pending reminder tied to `event` to its new start (a reminder whose new time
/// has passed fires at once), and re-arms it. Returns the reminders moved.
pub async fn follow_event(
    store: &Store,
    alarm: &dyn ReminderAlarm,
    event: &CalendarEvent,
) -> Result<Vec<Reminder>, StoreError> {
    let now = store.clock().now();
    let mut moved = Vec::new();
    for reminder in tied_to(store, &event.id).await? {
        let Some(mut link) = reminder.event.clone() else {
            continue;
        };
        if link.event_start == event.start && link.title == event.title {
            continue;
        }
        let fire_at = link.fire_time(event.start).max(now);
        if event.start <= now || fire_at > reminder.created_at + MAX_AHEAD {
            cancel(
                store,
                alarm,
                &reminder,
                "its event moved out of reach (already started, or more than a year ahead)",
            )
            .await?;
            continue;
        }
        link.event_start = event.start;
        link.title = event.title.clone();
        match store
            .move_reminder(
                &reminder.id,
                reminder.due,
                fire_at,
                Some(&link),
                "moved with its event",
            )
            .await
        {
            Ok(now_moved) => {
                arm(alarm, &now_moved).await;
                moved.push(now_moved);
            }
            // It fired or was cancelled meanwhile: nothing left to move.
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(moved)
}

/// Cancels every pending reminder tied to the deleted event `event_id`. Returns them.
pub async fn cancel_for_event(
    store: &Store,
    alarm: &dyn ReminderAlarm,
    event_id: &str,
) -> Result<Vec<Reminder>, StoreError> {
    let mut cancelled = Vec::new();
    for reminder in tied_to(store, event_id).await? {
        if let Some(done) = cancel(store, alarm, &reminder, "its event was deleted").await? {
            cancelled.push(done);
        }
    }
    Ok(cancelled)
}

/// Cancels reminder `id` at the owner's request (tool or REST) and clears its alarm.
/// [`StoreError::NotFound`]: there is no such reminder; [`StoreError::Conflict`]: it is not
/// pending (already fired, failed or cancelled).
pub async fn cancel_by_owner(
    store: &Store,
    alarm: &dyn ReminderAlarm,
    id: &ReminderId,
) -> Result<Reminder, StoreError> {
    let cancelled = store.cancel_reminder(id, "cancelled by the owner").await?;
    if let Err(e) = alarm.clear(&cancelled).await {
        // A leftover alarm finds the reminder cancelled and does nothing.
        tracing::warn!(reminder = %id, error = %e, "cancelled reminder's alarm not cleared");
    }
    Ok(cancelled)
}

async fn tied_to(store: &Store, event_id: &str) -> Result<Vec<Reminder>, StoreError> {
    Ok(store
        .pending_reminders()
        .await?
        .into_iter()
        .filter(|r| r.event.as_ref().is_some_and(|l| l.event_id == event_id))
        .collect())
}

async fn cancel(
    store: &Store,
    alarm: &dyn ReminderAlarm,
    reminder: &Reminder,
    why: &str,
) -> Result<Option<Reminder>, StoreError> {
    match store.cancel_reminder(&reminder.id, why).await {
        Ok(done) => {
            if let Err(e) = alarm.clear(&done).await {
                // The alarm finds the reminder cancelled and does nothing.
                tracing::warn!(reminder = %reminder.id, error = %e, "cancelled reminder's alarm not cleared");
            }
            Ok(Some(done))
        }
        Err(StoreError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn arm(alarm: &dyn ReminderAlarm, reminder: &Reminder) {
    if let Err(e) = alarm.set(reminder).await {
        tracing::error!(reminder = %reminder.id, error = %e, "moved reminder's alarm not set");
    }
}
