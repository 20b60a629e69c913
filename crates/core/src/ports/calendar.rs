//! Calendar port: Google Calendar, or the local calendar kept in the store.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::PortError;

/// A half-open interval of time `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// Inclusive start.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// Exclusive end.
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
}

impl TimeRange {
    /// Whether the two ranges share any instant.
    pub fn overlaps(&self, other: &TimeRange) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// How a reminder reaches the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReminderMethod {
    /// A notification on the user's devices.
    Popup,
    /// An email.
    Email,
}

/// A reminder some minutes before an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    /// How.
    pub method: ReminderMethod,
    /// Minutes before the start (0..=40320, Google's limit of four weeks).
    pub minutes: u32,
}

/// A calendar event as the tools see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarEvent {
    /// The calendar's id for the event.
    pub id: String,
    /// Title (Google's `summary`).
    pub title: String,
    /// Start instant.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// End instant.
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Where.
    #[serde(default)]
    pub location: Option<String>,
    /// Attendee email addresses.
    #[serde(default)]
    pub attendees: Vec<String>,
    /// Reminders; `None` means the calendar's defaults.
    #[serde(default)]
    pub reminders: Option<Vec<Reminder>>,
}

/// What to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// Title.
    pub title: String,
    /// Start instant.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// End instant (after `start`).
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    /// IANA time zone the event is shown in.
    pub time_zone: String,
    /// Free text.
    pub description: Option<String>,
    /// Where.
    pub location: Option<String>,
    /// Attendee email addresses.
    pub attendees: Vec<String>,
    /// Reminders; `None` uses the calendar's defaults.
    pub reminders: Option<Vec<Reminder>>,
}

/// A partial update: `None` fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventPatch {
    /// New title.
    pub title: Option<String>,
    /// New start.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub start: Option<OffsetDateTime>,
    /// New end.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub end: Option<OffsetDateTime>,
    /// IANA time zone for new start/end.
    pub time_zone: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New location.
    pub location: Option<String>,
    /// New attendee list.
    pub attendees: Option<Vec<String>>,
    /// New reminders (replacing the old ones).
    pub reminders: Option<Vec<Reminder>>,
}

/// The calendar port.
#[async_trait]
pub trait Calendar: Send + Sync + 'static {
    /// Events overlapping `range`, by start time, at most `max`; `query` filters by text.
    async fn list_events(
        &self,
        range: TimeRange,
        query: Option<&str>,
        max: u32,
    ) -> Result<Vec<CalendarEvent>, PortError>;
    /// Reads one event.
    async fn get_event(&self, id: &str) -> Result<CalendarEvent, PortError>;
    /// Creates an event. `request_id` makes retries safe: the same id never creates twice.
    async fn create_event(
        &self,
        event: &NewEvent,
        request_id: &str,
    ) -> Result<CalendarEvent, PortError>;
    /// Changes an event.
    async fn update_event(&self, id: &str, patch: &EventPatch) -> Result<CalendarEvent, PortError>;
    /// Deletes an event; deleting a deleted event is [`PortError::NotFound`].
    async fn delete_event(&self, id: &str) -> Result<(), PortError>;
    /// Busy intervals within `range` (Google's freeBusy).
    async fn busy(&self, range: TimeRange) -> Result<Vec<TimeRange>, PortError>;
    /// `google:<calendar id>` or `local`, for logs and `serve`'s banner.
    fn describe(&self) -> String;
}
