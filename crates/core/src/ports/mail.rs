//! Mail port: Gmail, or the local outbox.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::PortError;

/// An email to send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingEmail {
    /// Recipients' addresses.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// Message-ID being answered, for threading.
    #[serde(default)]
    pub in_reply_to: Option<String>,
    /// Gmail thread to add the message to.
    #[serde(default)]
    pub thread_id: Option<String>,
}

/// What the mail service returned for a sent message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentEmail {
    /// Message id.
    pub id: String,
    /// Thread id.
    pub thread_id: Option<String>,
}

/// A received (or sent) message as read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EmailMessage {
    /// Message id.
    pub id: String,
    /// Thread id.
    pub thread_id: Option<String>,
    /// `From` header.
    pub from: String,
    /// `To` header.
    pub to: String,
    /// `Subject` header.
    pub subject: String,
    /// `Message-ID` header, for replies.
    #[serde(default)]
    pub message_id: Option<String>,
    /// When it was received.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub date: Option<OffsetDateTime>,
    /// Plain-text body (bounded).
    pub body: String,
}

/// The mail port.
#[async_trait]
pub trait Mail: Send + Sync + 'static {
    /// Sends a message.
    async fn send_email(&self, email: &OutgoingEmail) -> Result<SentEmail, PortError>;
    /// Saves a draft instead of sending (for the email processor's draft-only policy).
    async fn create_draft(&self, email: &OutgoingEmail) -> Result<SentEmail, PortError>;
    /// Recent messages matching a Gmail-style query (`is:unread newer_than:1d`), newest first.
    async fn list_recent(&self, query: &str, max: u32) -> Result<Vec<EmailMessage>, PortError>;
    /// The ids of the messages [`Mail::list_recent`] would return, newest first, without their
    /// contents: a caller that has handled most of them fetches only the rest. The default
    /// reads whole messages; adapters with a cheaper listing (Gmail) override it.
    async fn list_ids(&self, query: &str, max: u32) -> Result<Vec<String>, PortError> {
        Ok(self
            .list_recent(query, max)
            .await?
            .into_iter()
            .map(|m| m.id)
            .collect())
    }
    /// Reads one message.
    async fn get_email(&self, id: &str) -> Result<EmailMessage, PortError>;
    /// `gmail` or `local outbox`.
    fn describe(&self) -> String;
}
