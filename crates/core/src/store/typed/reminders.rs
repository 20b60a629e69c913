//! Reminders (`REMINDERS` / `REM#<id>`): created once per id, and every change of state a
//! compare-and-set on `status` (and `due`), so two schedulers racing fire a reminder at most
//! once and a moved reminder never fires at its old time.

use std::time::Duration;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::{Created, Store, from_map, to_map, to_value};
use crate::reminders::{EventLink, MAX_AHEAD, Reminder, ReminderId, ReminderStatus};
use crate::store::{Guard, Item, Keys, Page, PageRequest, PutMode, StoreError};

/// How a claim ended ([`Store::claim_reminder`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReminderClaim {
    /// This caller claimed it: deliver it.
    Won(Box<Reminder>),
    /// It is no longer pending at that time (fired, cancelled or moved by someone else).
    Lost,
}

impl Store {
    /// Stores a new reminder once per id. A repeat (a retried request) gets
    /// [`Created::Existing`] with the reminder as first stored. Kept until
    /// [`MAX_AHEAD`] plus the call retention after creation, so a reminder that follows its
    /// event up to [`MAX_AHEAD`] is still there to fire, and a fired one stays listable.
    pub async fn create_reminder(
        &self,
        reminder: &Reminder,
    ) -> Result<Created<Reminder>, StoreError> {
        let ahead = Duration::from_secs(MAX_AHEAD.whole_seconds().unsigned_abs());
        let item = Item {
            pk: Keys::REMINDERS.into(),
            sk: Keys::reminder(&reminder.id),
            ttl: self.ttl(ahead + self.retention.calls),
            data: to_map(reminder)?,
        };
        match self.records.put(item, PutMode::IfAbsent, self.now()).await {
            Ok(()) => Ok(Created::New),
            Err(StoreError::Conflict(_)) => {
                Ok(Created::Existing(self.get_reminder(&reminder.id).await?))
            }
            Err(e) => Err(e),
        }
    }

    /// One reminder; [`StoreError::NotFound`] if there is none.
    pub async fn get_reminder(&self, id: &ReminderId) -> Result<Reminder, StoreError> {
        self.get_value(Keys::REMINDERS, &Keys::reminder(id)).await
    }

    /// Reminders in id order, one page.
    pub async fn list_reminders(&self, page: &PageRequest) -> Result<Page<Reminder>, StoreError> {
        self.query_typed(Keys::REMINDERS, Keys::REMINDER_PREFIX, page)
            .await
    }

    /// Every pending reminder (all pages): what a scheduler scans, and what follows an event.
    pub async fn pending_reminders(&self) -> Result<Vec<Reminder>, StoreError> {
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        let mut pending = Vec::new();
        loop {
            let found = self.list_reminders(&page).await?;
            pending.extend(
                found
                    .items
                    .into_iter()
                    .filter(|r| r.status == ReminderStatus::Pending),
            );
            match found.next {
                Some(next) => page.after = Some(next),
                None => return Ok(pending),
            }
        }
    }

    /// Claims a pending reminder whose `due` is still `due` for firing, marking it fired at
    /// `now`. Exactly one of several concurrent claimers wins.
    pub async fn claim_reminder(
        &self,
        id: &ReminderId,
        due: i64,
        now: OffsetDateTime,
    ) -> Result<ReminderClaim, StoreError> {
        let mut fields = Map::new();
        fields.insert("status".into(), status(ReminderStatus::Fired));
        fields.insert("fired_at".into(), Value::String(super::rfc3339(now)?));
        let guards = [pending(), Guard::Equals("due".into(), due.into())];
        match self.update_reminder(id, fields, &guards).await {
            Ok(claimed) => Ok(ReminderClaim::Won(Box::new(claimed))),
            Err(StoreError::Conflict(_) | StoreError::NotFound) => Ok(ReminderClaim::Lost),
            Err(e) => Err(e),
        }
    }

    /// Records a claimed reminder's delivery: its id, or the error (status `failed`).
    pub async fn finish_reminder(
        &self,
        id: &ReminderId,
        delivered: Result<String, String>,
    ) -> Result<Reminder, StoreError> {
        let mut fields = Map::new();
        match delivered {
            Ok(delivery_id) => {
                fields.insert("delivery_id".into(), delivery_id.into());
            }
            Err(error) => {
                fields.insert("status".into(), status(ReminderStatus::Failed));
                fields.insert("error".into(), error.into());
            }
        }
        let guards = [Guard::Equals(
            "status".into(),
            status(ReminderStatus::Fired),
        )];
        self.update_reminder(id, fields, &guards).await
    }

    /// Moves a pending reminder whose `due` is still `due` to `fire_at` (with its event's new
    /// start in `event`). [`StoreError::Conflict`] when it fired, was cancelled or moved meanwhile.
    pub async fn move_reminder(
        &self,
        id: &ReminderId,
        due: i64,
        fire_at: OffsetDateTime,
        event: Option<&EventLink>,
        note: &str,
    ) -> Result<Reminder, StoreError> {
        let mut fields = Map::new();
        fields.insert("fire_at".into(), Value::String(super::rfc3339(fire_at)?));
        fields.insert("due".into(), fire_at.unix_timestamp().into());
        fields.insert("event".into(), to_value(&event)?);
        fields.insert("note".into(), note.into());
        let guards = [pending(), Guard::Equals("due".into(), due.into())];
        self.update_reminder(id, fields, &guards).await
    }

    /// Cancels a pending reminder, saying why. [`StoreError::Conflict`] when it is not pending
    /// (already fired or cancelled); [`StoreError::NotFound`] when there is none.
    pub async fn cancel_reminder(
        &self,
        id: &ReminderId,
        note: &str,
    ) -> Result<Reminder, StoreError> {
        let mut fields = Map::new();
        fields.insert("status".into(), status(ReminderStatus::Cancelled));
        fields.insert("note".into(), note.into());
        self.update_reminder(id, fields, &[pending()]).await
    }

    async fn update_reminder(
        &self,
        id: &ReminderId,
        fields: Map<String, Value>,
        guards: &[Guard],
    ) -> Result<Reminder, StoreError> {
        let item = self
            .records
            .update(
                Keys::REMINDERS,
                &Keys::reminder(id),
                fields,
                guards,
                self.now(),
            )
            .await?;
        from_map(item.data)
    }
}

fn status(s: ReminderStatus) -> Value {
    Value::String(s.as_str().into())
}

fn pending() -> Guard {
    Guard::Equals("status".into(), status(ReminderStatus::Pending))
}
