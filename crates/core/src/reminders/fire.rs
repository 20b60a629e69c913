//! Firing a due reminder: re-read its event, then claim it (at most once) and deliver it.

use std::sync::Arc;

use time::OffsetDateTime;

use super::{MAX_AHEAD, Reminder, ReminderChannel, ReminderId, ReminderStatus};
use crate::ports::{Calendar, PortError, ReminderAlarm, ReminderDelivery};
use crate::store::{ReminderClaim, Store, StoreError};
use crate::tools::clock_time::LocalZone;

/// What happened when a reminder was asked to fire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FireOutcome {
    /// Delivered; the SMS sid or the outbound call request's id (`OB…`).
    Delivered(String),
    /// Claimed, but delivery failed; recorded as failed, not retried.
    Failed(String),
    /// Not due yet (its alarm went off early, or it was moved later): due then.
    NotDue(OffsetDateTime),
    /// Its event moved outside the assistant: the reminder moved with it, to this time.
    Moved(OffsetDateTime),
    /// Cancelled now: its event was deleted or has already started.
    Cancelled(String),
    /// Nothing to do: it already fired or was cancelled, or another scheduler claimed it.
    AlreadyDone,
}

/// Fires reminders: one by id (the EventBridge target), or every due one (the local scheduler).
#[derive(Clone)]
pub struct ReminderFirer {
    /// Where reminders are kept; its clock is "now".
    pub store: Store,
    /// To re-read a reminder's event at fire time.
    pub calendar: Arc<dyn Calendar>,
    /// Delivers texts and calls.
    pub delivery: Arc<dyn ReminderDelivery>,
    /// Re-armed when the event moved.
    pub alarm: Arc<dyn ReminderAlarm>,
    /// Shows event times in the reminder's text.
    pub zone: LocalZone,
}

impl ReminderFirer {
    /// Fires reminder `id` if it is due and still pending. An event it is tied to is read
    /// again first: deleted or already started, the reminder is cancelled; moved, the
    /// reminder moves with it (and fires now if its new time has passed).
    pub async fn fire(&self, id: &ReminderId) -> Result<FireOutcome, StoreError> {
        let reminder = self.store.get_reminder(id).await?;
        if reminder.status != ReminderStatus::Pending {
            return Ok(FireOutcome::AlreadyDone);
        }
        let now = self.store.clock().now();
        if reminder.fire_at > now {
            return Ok(FireOutcome::NotDue(reminder.fire_at));
        }
        let reminder = match self.check_event(reminder, now).await? {
            Ok(reminder) => reminder,
            Err(outcome) => return Ok(outcome),
        };
        let claimed = match self.store.claim_reminder(id, reminder.due, now).await? {
            ReminderClaim::Won(claimed) => *claimed,
            ReminderClaim::Lost => return Ok(FireOutcome::AlreadyDone),
        };
        let delivered = match claimed.channel {
            ReminderChannel::Sms => {
                let body = claimed.text(|at| self.zone.show(at));
                self.delivery.text(&claimed.to, &body).await
            }
            ReminderChannel::Call => {
                let words = claimed.words(|at| self.zone.show(at));
                self.delivery.call(&claimed, &words).await
            }
        };
        let outcome = match &delivered {
            Ok(sid) => FireOutcome::Delivered(sid.clone()),
            Err(e) => FireOutcome::Failed(e.to_string()),
        };
        match &delivered {
            Ok(_) => {
                tracing::info!(reminder = %id, channel = claimed.channel.as_str(), "reminder delivered")
            }
            Err(e) => {
                tracing::error!(reminder = %id, channel = claimed.channel.as_str(), error = %e, "reminder delivery failed")
            }
        }
        self.store
            .finish_reminder(id, delivered.map_err(|e| e.to_string()))
            .await?;
        Ok(outcome)
    }

    /// Fires every pending reminder that is due, and answers when the next one is due.
    /// A reminder that fails to fire is logged and left for the next pass.
    pub async fn fire_due(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        let now = self.store.clock().now();
        let mut next: Option<OffsetDateTime> = None;
        let mut later = |at: OffsetDateTime| next = Some(next.map_or(at, |n| n.min(at)));
        for reminder in self.store.pending_reminders().await? {
            if reminder.fire_at > now {
                later(reminder.fire_at);
                continue;
            }
            match self.fire(&reminder.id).await {
                Ok(FireOutcome::NotDue(at) | FireOutcome::Moved(at)) => later(at),
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(reminder = %reminder.id, error = %e, "reminder could not fire");
                }
            }
        }
        Ok(next)
    }

    /// The reminder as it should fire now, or what happened instead when its event changed.
    async fn check_event(
        &self,
        reminder: Reminder,
        now: OffsetDateTime,
    ) -> Result<Result<Reminder, FireOutcome>, StoreError> {
        let Some(link) = reminder.event.clone() else {
            return Ok(Ok(reminder));
        };
        let event = match self.calendar.get_event(&link.event_id).await {
            Ok(event) => event,
            Err(PortError::NotFound(_)) => {
                let why = format!("its event \"{}\" was deleted", link.title);
                return self.cancel(&reminder, &why).await;
            }
            Err(e) => {
                // Better a reminder for the time we know than none.
                tracing::warn!(reminder = %reminder.id, error = %e, "reminder's event unreadable; firing as scheduled");
                return Ok(Ok(reminder));
            }
        };
        if event.start == link.event_start {
            return Ok(Ok(reminder));
        }
        if event.start <= now {
            let why = format!(
                "its event \"{}\" moved to a time already started",
                event.title
            );
            return self.cancel(&reminder, &why).await;
        }
        let fire_at = link.fire_time(event.start);
        if fire_at > reminder.created_at + MAX_AHEAD {
            let why = format!("its event \"{}\" moved more than a year ahead", event.title);
            return self.cancel(&reminder, &why).await;
        }
        let mut moved_link = link;
        moved_link.event_start = event.start;
        moved_link.title = event.title.clone();
        let note = "its event was moved outside the assistant; the reminder followed it";
        let moved = match self
            .store
            .move_reminder(
                &reminder.id,
                reminder.due,
                fire_at.max(now),
                Some(&moved_link),
                note,
            )
            .await
        {
            Ok(moved) => moved,
            Err(StoreError::Conflict(_)) => return Ok(Err(FireOutcome::AlreadyDone)),
            Err(e) => return Err(e),
        };
        if moved.fire_at <= now {
            return Ok(Ok(moved));
        }
        tracing::info!(reminder = %moved.id, "reminder followed its event to a new time");
        if let Err(e) = self.alarm.set(&moved).await {
            tracing::error!(reminder = %moved.id, error = %e, "moved reminder's alarm not set");
        }
        Ok(Err(FireOutcome::Moved(moved.fire_at)))
    }

    async fn cancel(
        &self,
        reminder: &Reminder,
        why: &str,
    ) -> Result<Result<Reminder, FireOutcome>, StoreError> {
        match self.store.cancel_reminder(&reminder.id, why).await {
            Ok(_) => {
                tracing::info!(reminder = %reminder.id, why, "reminder cancelled at fire time");
                Ok(Err(FireOutcome::Cancelled(why.to_owned())))
            }
            Err(StoreError::Conflict(_)) => Ok(Err(FireOutcome::AlreadyDone)),
            Err(e) => Err(e),
        }
    }
}
