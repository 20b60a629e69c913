//! The local calendar, kept in the store (`CALENDAR#local` / `EVT#<id>`), with Google's
//! semantics: listing by overlap, create-once per request id, `NotFound` for unknown ids.

use async_trait::async_trait;
use phone_core::Store;
use phone_core::ports::{Calendar, CalendarEvent, EventPatch, NewEvent, PortError, TimeRange};
use phone_core::store::{PageRequest, PutMode, StoreError};
use sha2::{Digest, Sha256};

const PK: &str = "CALENDAR#local";
const PREFIX: &str = "EVT#";
/// Events are kept ten years; the calendar is not call data.
const KEEP: std::time::Duration = std::time::Duration::from_secs(10 * 365 * 24 * 3600);
/// Upper bound on events scanned per listing; a local calendar beyond this is not its use.
const SCAN_LIMIT: usize = 10_000;

/// A calendar in the embedded store.
#[derive(Clone, Debug)]
pub struct LocalCalendar {
    store: Store,
}

fn store_err(e: StoreError) -> PortError {
    match e {
        StoreError::NotFound => PortError::NotFound("event".into()),
        other => PortError::Upstream {
            service: "local_calendar",
            status: None,
            message: other.to_string(),
        },
    }
}

impl LocalCalendar {
    /// A calendar stored in `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    async fn all(&self) -> Result<Vec<CalendarEvent>, PortError> {
        let mut events = Vec::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let batch = self
                .store
                .query_values::<CalendarEvent>(PK, PREFIX, &page)
                .await
                .map_err(store_err)?;
            events.extend(batch.items);
            match batch.next {
                Some(cursor) if events.len() < SCAN_LIMIT => page.after = Some(cursor),
                _ => return Ok(events),
            }
        }
    }

    async fn save(&self, event: &CalendarEvent, mode: PutMode) -> Result<(), StoreError> {
        self.store
            .put_value(PK, &format!("{PREFIX}{}", event.id), event, KEEP, mode)
            .await
    }
}

fn validate(start: time::OffsetDateTime, end: time::OffsetDateTime) -> Result<(), PortError> {
    if end <= start {
        return Err(PortError::Invalid(
            "the event must end after it starts".into(),
        ));
    }
    Ok(())
}

#[async_trait]
impl Calendar for LocalCalendar {
    async fn list_events(
        &self,
        range: TimeRange,
        query: Option<&str>,
        max: u32,
    ) -> Result<Vec<CalendarEvent>, PortError> {
        let needle = query.map(str::to_lowercase);
        let mut found: Vec<CalendarEvent> = self
            .all()
            .await?
            .into_iter()
            .filter(|e| {
                range.overlaps(&TimeRange {
                    start: e.start,
                    end: e.end,
                })
            })
            .filter(|e| {
                needle.as_ref().is_none_or(|n| {
                    e.title.to_lowercase().contains(n)
                        || e.description
                            .as_deref()
                            .unwrap_or("")
                            .to_lowercase()
                            .contains(n)
                })
            })
            .collect();
        found.sort_by_key(|e| e.start);
        found.truncate(max as usize);
        Ok(found)
    }

    async fn get_event(&self, id: &str) -> Result<CalendarEvent, PortError> {
        self.store
            .get_value(PK, &format!("{PREFIX}{id}"))
            .await
            .map_err(|e| match e {
                StoreError::NotFound => PortError::NotFound(format!("event {id}")),
                other => store_err(other),
            })
    }

    async fn create_event(
        &self,
        event: &NewEvent,
        request_id: &str,
    ) -> Result<CalendarEvent, PortError> {
        validate(event.start, event.end)?;
        // The id derives from the request id, so a retried create finds its first result.
        let id = format!(
            "evt{}",
            &hex::encode(Sha256::digest(request_id.as_bytes()))[..20]
        );
        let created = CalendarEvent {
            id: id.clone(),
            title: event.title.clone(),
            start: event.start,
            end: event.end,
            description: event.description.clone(),
            location: event.location.clone(),
            attendees: event.attendees.clone(),
            reminders: event.reminders.clone(),
        };
        match self.save(&created, PutMode::IfAbsent).await {
            Ok(()) => Ok(created),
            Err(StoreError::Conflict(_)) => self.get_event(&id).await,
            Err(e) => Err(store_err(e)),
        }
    }

    async fn update_event(&self, id: &str, patch: &EventPatch) -> Result<CalendarEvent, PortError> {
        let mut event = self.get_event(id).await?;
        if let Some(title) = &patch.title {
            event.title = title.clone();
        }
        if let Some(start) = patch.start {
            event.start = start;
        }
        if let Some(end) = patch.end {
            event.end = end;
        }
        if let Some(d) = &patch.description {
            event.description = Some(d.clone());
        }
        if let Some(l) = &patch.location {
            event.location = Some(l.clone());
        }
        if let Some(a) = &patch.attendees {
            event.attendees = a.clone();
        }
        if let Some(r) = &patch.reminders {
            event.reminders = Some(r.clone());
        }
        validate(event.start, event.end)?;
        self.save(&event, PutMode::Overwrite)
            .await
            .map_err(store_err)?;
        Ok(event)
    }

    async fn delete_event(&self, id: &str) -> Result<(), PortError> {
        self.get_event(id).await?;
        self.store
            .delete_value(PK, &format!("{PREFIX}{id}"))
            .await
            .map_err(store_err)
    }

    async fn busy(&self, range: TimeRange) -> Result<Vec<TimeRange>, PortError> {
        Ok(self
            .list_events(range, None, u32::MAX)
            .await?
            .into_iter()
            .map(|e| TimeRange {
                start: e.start,
                end: e.end,
            })
            .collect())
    }

    fn describe(&self) -> String {
        "local calendar (in the store)".into()
    }
}
