//! What the assistant remembers about a caller between calls and channels.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The per-caller profile (`CALLER#<E.164>` / `MEMORY`): a rolling summary plus facts the caller
/// asked to be remembered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallerMemory {
    /// A short summary of past conversations, rewritten after each one.
    #[serde(default)]
    pub summary: String,
    /// The caller's name, if they gave it.
    #[serde(default)]
    pub name: Option<String>,
    /// When this was last updated.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

/// One remembered action or fact (`CALLER#<E.164>` / `NOTE#<ts>`), e.g. "created event
/// `abc123`, Team sync, Thu 15:00" so a later "that meeting" can be resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryNote {
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What kind of note: `event_created`, `sms_sent`, `summary`, …
    pub kind: String,
    /// Human- and model-readable text.
    pub text: String,
    /// Structured details (event id, times), for tools that act on "that meeting".
    #[serde(default)]
    pub data: serde_json::Value,
}
