//! Reminders the owner asked for: "call me ten minutes before my dentist appointment", "text me
//! tomorrow at 9 to renew the parking permit".
//!
//! - [`Reminder`]: one reminder as stored (`REMINDERS` / `REM#<id>`, through the `Records` port).
//! - [`fire`]: [`ReminderFirer`], which fires a due reminder at most once, re-reading its event
//!   first (moved: rescheduled; deleted: cancelled).
//! - [`follow`]: a reminder follows its event when the assistant moves or deletes it.
//! - [`delivery`]: [`ChannelDelivery`], texts over the messaging port and calls over the
//!   outbound [`crate::outbound::dialer::Dialer`].
//!
//! What schedules the firing is the [`crate::ports::ReminderAlarm`] port (EventBridge Scheduler
//! in AWS, the scheduler task of `phone-agent serve` locally); what delivers it is the
//! [`crate::ports::ReminderDelivery`] port.

pub mod delivery;
pub mod fire;
pub mod follow;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::phone::PhoneNumber;

pub use delivery::ChannelDelivery;
pub use fire::{FireOutcome, ReminderFirer};
pub use follow::{cancel_by_owner, cancel_for_event, follow_event};

/// How far ahead a reminder may be set, and how far its event may carry it from its creation.
pub const MAX_AHEAD: Duration = Duration::days(366);

/// Longest reminder text, in characters (one SMS segment or two, or a short spoken message).
pub const MAX_MESSAGE: usize = 300;

/// Most minutes before an event a reminder may be set (four weeks, as calendar reminders).
pub const MAX_MINUTES_BEFORE: u32 = 40_320;

/// A reminder's id: `rem_` and 24 hex digits, derived from the conversation and the
/// idempotency key of the request that set it, so a retried request finds the same reminder.
/// Also the name of its EventBridge schedule (letters, digits, `_`; at most 64 characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, pattern = "^rem_[0-9a-f]{24}$", example = "rem_0123456789abcdef01234567")]
pub struct ReminderId(String);

/// Why a string is not a [`ReminderId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a reminder id looks like rem_ followed by 24 hex digits")]
pub struct BadReminderId;

impl ReminderId {
    const PREFIX: &'static str = "rem_";

    /// The id of the reminder set in conversation `conversation` (its partition key) by the
    /// request with idempotency key `key` (the tool call id, or the REST idempotency key).
    pub fn derive(conversation: &str, key: &str) -> Self {
        let mut hash = Sha256::new();
        hash.update(conversation.as_bytes());
        hash.update([0]);
        hash.update(key.as_bytes());
        let hex = hex::encode(hash.finalize());
        Self(format!("{}{}", Self::PREFIX, &hex[..24]))
    }

    /// Parses an id from outside (the model, a URL path, a schedule's input).
    pub fn parse(raw: &str) -> Result<Self, BadReminderId> {
        let hex = raw.strip_prefix(Self::PREFIX).ok_or(BadReminderId)?;
        if hex.len() == 24 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(BadReminderId)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ReminderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ReminderId {
    type Error = BadReminderId;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<ReminderId> for String {
    fn from(id: ReminderId) -> Self {
        id.0
    }
}

/// How a reminder reaches the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReminderChannel {
    /// A phone call that speaks the message.
    Call,
    /// A text message.
    Sms,
}

impl ReminderChannel {
    /// `call` or `sms`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Sms => "sms",
        }
    }
}

/// Where a reminder is in its life. Only a pending one can fire, move or be cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReminderStatus {
    /// Waiting for its time.
    Pending,
    /// Claimed by a scheduler and handed to delivery (at most once).
    Fired,
    /// Claimed, but delivery failed (`error` says why); it is not retried.
    Failed,
    /// Cancelled by the owner, or because its event was deleted.
    Cancelled,
}

impl ReminderStatus {
    /// `pending`, `fired`, `failed` or `cancelled`: the stored value guards compare with.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Fired => "fired",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// The calendar event a reminder is tied to: it fires `minutes_before` its start, and follows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventLink {
    /// The calendar's event id (as `list_events` gave it).
    pub event_id: String,
    /// Minutes before the start.
    pub minutes_before: u32,
    /// The event's start when the reminder was last computed from it.
    #[serde(with = "time::serde::rfc3339")]
    pub event_start: OffsetDateTime,
    /// The event's title then, for the reminder's text and listings.
    pub title: String,
}

impl EventLink {
    /// When the reminder fires for an event starting at `start`.
    pub fn fire_time(&self, start: OffsetDateTime) -> OffsetDateTime {
        start - Duration::minutes(i64::from(self.minutes_before))
    }
}

/// One reminder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reminder {
    /// Its id (and schedule name).
    pub id: ReminderId,
    /// Call or text.
    pub channel: ReminderChannel,
    /// Who is reminded: the owner's number.
    pub to: PhoneNumber,
    /// What to say.
    pub message: String,
    /// When it fires.
    #[serde(with = "time::serde::rfc3339")]
    pub fire_at: OffsetDateTime,
    /// `fire_at` in epoch seconds: what a claim and a move compare, so a reminder that moved
    /// is never fired at its old time.
    pub due: i64,
    /// The event it is tied to, if any.
    #[serde(default)]
    pub event: Option<EventLink>,
    /// Where it is in its life.
    pub status: ReminderStatus,
    /// When it was set.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The conversation that set it (`CALL#<sid>`, `SMS#<number>`, `AGENT#<key>`).
    pub created_by: String,
    /// The idempotency key of the request that set it.
    pub idempotency_key: String,
    /// When a scheduler claimed it.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub fired_at: Option<OffsetDateTime>,
    /// The delivery's id: the SMS sid, or the outbound call request's id (`OB…`).
    #[serde(default)]
    pub delivery_id: Option<String>,
    /// Why delivery failed.
    #[serde(default)]
    pub error: Option<String>,
    /// Why it was cancelled or last moved, when not by the owner's own request.
    #[serde(default)]
    pub note: Option<String>,
}

impl Reminder {
    /// The text delivered: `Reminder: ` and the [`Reminder::words`].
    pub fn text(&self, show: impl Fn(OffsetDateTime) -> String) -> String {
        format!("Reminder: {}", self.words(show))
    }

    /// What the reminder says: the message, and the event's title and start when tied to one.
    pub fn words(&self, show: impl Fn(OffsetDateTime) -> String) -> String {
        match &self.event {
            Some(link) => format!(
                "{} ({} at {})",
                self.message,
                link.title,
                show(link.event_start)
            ),
            None => self.message.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_derived_stably_and_parse_strictly() {
        let a = ReminderId::derive("CALL#CA1", "call_1");
        assert_eq!(a, ReminderId::derive("CALL#CA1", "call_1"));
        assert_ne!(a, ReminderId::derive("CALL#CA1", "call_2"));
        assert_ne!(a, ReminderId::derive("SMS#+1", "call_1"));
        assert_eq!(ReminderId::parse(a.as_str()), Ok(a.clone()));
        assert_eq!(a.as_str().len(), 28);
        for bad in [
            "",
            "rem_",
            "rem_ABCDEF0123456789abcdef01",
            "x_0123456789abcdef01234567",
        ] {
            assert_eq!(ReminderId::parse(bad), Err(BadReminderId), "{bad}");
        }
        let parsed: Result<ReminderId, _> = serde_json::from_str("\"rem_zz\"");
        assert!(parsed.is_err());
    }
}
