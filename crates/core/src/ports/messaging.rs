//! Messaging port: Twilio SMS, or the local outbox.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::PortError;
use crate::phone::PhoneNumber;

/// An SMS, sent or received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SmsMessage {
    /// Twilio's `SM…` id (or the outbox's id).
    pub sid: String,
    /// Recipient.
    pub to: String,
    /// Sender.
    pub from: String,
    /// Text.
    pub body: String,
    /// Twilio status: `queued`, `sent`, `delivered`, `failed`, `received`, …
    pub status: String,
    /// `outbound-api`, `inbound`, …
    pub direction: String,
    /// When it was created.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
    /// Segments billed.
    #[serde(default)]
    pub num_segments: Option<u32>,
    /// Twilio's error code when it failed.
    #[serde(default)]
    pub error_code: Option<i64>,
}

/// A filter for listing messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SmsQuery {
    /// Only messages to this number.
    pub to: Option<PhoneNumber>,
    /// Only messages from this number.
    pub from: Option<PhoneNumber>,
    /// At most this many (1..=100).
    pub limit: u32,
}

/// The messaging port.
#[async_trait]
pub trait Messaging: Send + Sync + 'static {
    /// Sends an SMS from our number.
    async fn send_sms(&self, to: &PhoneNumber, body: &str) -> Result<SmsMessage, PortError>;
    /// Lists messages, newest first.
    async fn list_sms(&self, query: &SmsQuery) -> Result<Vec<SmsMessage>, PortError>;
    /// Reads one message by sid.
    async fn get_sms(&self, sid: &str) -> Result<SmsMessage, PortError>;
    /// `twilio` or `local outbox`.
    fn describe(&self) -> String;
}
