//! The email processor's record of one message (`EMAIL#<id>` / `META`): claimed with a
//! conditional put before anything is done, so a re-run or an overlapping run never processes a
//! message twice, then completed with what was done.
//!
//! Life of a record: `processing` (claimed) → `done` or `failed`. A failed message is retried by
//! a later run (at most [`MAX_ATTEMPTS`] attempts in all) only when the failed attempt changed
//! nothing outside (no event created, no reply written): retrying after a write could write
//! twice. A claim left `processing` longer than [`LEASE`] belongs to a run that died mid-way; it
//! is marked failed, not retried, since what that run already did is unknown.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::ReplyPolicy;
use crate::store::{Guard, Keys, PutMode, Store, StoreError};

/// Most attempts at one message before it is left failed for a human.
pub const MAX_ATTEMPTS: u32 = 3;
/// How long a claim may stay `processing`: well beyond the Lambda's 300 s timeout.
pub const LEASE: Duration = Duration::from_secs(15 * 60);
/// Records outlive the inbox query's look-back many times over: an expired record would let a
/// message still matched by the query be processed again.
pub const MIN_KEEP: Duration = Duration::from_secs(30 * 24 * 3600);

/// Where a message is in its processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailStatus {
    /// Claimed by a run that has not finished it.
    Processing,
    /// Finished: see `decision` and `reply`.
    Done,
    /// Failed: see `error` and `retryable`.
    Failed,
}

impl EmailStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processing => "processing",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

/// What was decided about a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The model wrote a reply (drafted, sent or kept, per the policy).
    Reply,
    /// The model found nothing to do.
    NoReply,
    /// Not shown to the model: an automated sender or no usable sender address.
    Skipped,
}

/// A tool the model ran for the message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSummary {
    /// Tool name.
    pub name: String,
    /// Whether it failed.
    pub is_error: bool,
    /// For `create_event`: the created event's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

/// The reply that was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyRecord {
    /// `draft` or `sent`.
    pub kind: String,
    /// The draft's or the sent message's id.
    pub id: String,
    /// Its thread.
    #[serde(default)]
    pub thread_id: Option<String>,
}

/// Everything recorded about one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailRecord {
    /// The mail service's message id.
    pub message_id: String,
    /// Its thread.
    #[serde(default)]
    pub thread_id: Option<String>,
    /// The sender's address (empty if none was usable).
    pub from: String,
    /// Subject, one line, bounded.
    pub subject: String,
    /// Where processing is.
    pub status: EmailStatus,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// The reply policy in force when it was processed.
    pub policy: ReplyPolicy,
    /// What was decided.
    #[serde(default)]
    pub decision: Option<Decision>,
    /// Why it was skipped, or why it failed.
    #[serde(default)]
    pub reason: Option<String>,
    /// For a failure: whether a later run will try again.
    #[serde(default)]
    pub retryable: bool,
    /// Tools the model ran.
    #[serde(default)]
    pub tool_calls: Vec<ToolSummary>,
    /// The reply text the model wrote (kept even when the policy is `off`).
    #[serde(default)]
    pub reply_text: Option<String>,
    /// The draft or sent message.
    #[serde(default)]
    pub reply: Option<ReplyRecord>,
    /// When this attempt claimed it.
    #[serde(with = "time::serde::rfc3339")]
    pub claimed_at: OffsetDateTime,
    /// When it finished or failed.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

impl EmailRecord {
    /// The record a first claim writes: processing, attempt 1, nothing decided yet.
    pub fn first_claim(
        message_id: &str,
        thread_id: Option<String>,
        from: String,
        subject: String,
        policy: ReplyPolicy,
        claimed_at: OffsetDateTime,
    ) -> Self {
        Self {
            message_id: message_id.to_owned(),
            thread_id,
            from,
            subject,
            status: EmailStatus::Processing,
            attempts: 1,
            policy,
            decision: None,
            reason: None,
            retryable: false,
            tool_calls: Vec::new(),
            reply_text: None,
            reply: None,
            claimed_at,
            finished_at: None,
        }
    }
}

/// What a claim attempt found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// This run owns the message now; the record as claimed.
    Owned(EmailRecord),
    /// Someone else has it or it is finished; the record as found.
    Taken(EmailRecord),
}

fn keep(store: &Store) -> Duration {
    store.retention().calls.max(MIN_KEEP)
}

fn to_fields(record: &EmailRecord) -> Result<Map<String, Value>, StoreError> {
    match serde_json::to_value(record).map_err(|e| StoreError::Invalid(e.to_string()))? {
        Value::Object(map) => Ok(map),
        _ => Err(StoreError::Invalid("record is not an object".into())),
    }
}

/// Reads the record of a message.
pub async fn get(store: &Store, message_id: &str) -> Result<EmailRecord, StoreError> {
    store.get_value(&Keys::email(message_id), Keys::META).await
}

/// Claims `fresh` (a record in `processing` state, attempt 1) for this run, or takes over a
/// retryable failure or an expired lease, atomically: of two runs racing, one wins.
pub async fn claim(store: &Store, fresh: EmailRecord) -> Result<Claim, StoreError> {
    let pk = Keys::email(&fresh.message_id);
    match store
        .put_value(&pk, Keys::META, &fresh, keep(store), PutMode::IfAbsent)
        .await
    {
        Ok(()) => return Ok(Claim::Owned(fresh)),
        Err(StoreError::Conflict(_)) => {}
        Err(e) => return Err(e),
    }
    let found = get(store, &fresh.message_id).await?;
    let now = store.clock().now();
    let lease_over = found.status == EmailStatus::Processing
        && now - found.claimed_at > time::Duration::try_from(LEASE).unwrap_or_default();
    if lease_over {
        let mut failed = found.clone();
        failed.status = EmailStatus::Failed;
        failed.retryable = false;
        failed.reason =
            Some("interrupted: the run that claimed it stopped before finishing".into());
        failed.finished_at = Some(now);
        return match update(store, &found, &failed).await {
            Ok(()) => Ok(Claim::Taken(failed)),
            Err(StoreError::Conflict(_)) => Ok(Claim::Taken(get(store, &fresh.message_id).await?)),
            Err(e) => Err(e),
        };
    }
    let retry =
        found.status == EmailStatus::Failed && found.retryable && found.attempts < MAX_ATTEMPTS;
    if !retry {
        return Ok(Claim::Taken(found));
    }
    let mut again = fresh;
    again.attempts = found.attempts + 1;
    match update(store, &found, &again).await {
        Ok(()) => Ok(Claim::Owned(again)),
        // Another run took the retry first.
        Err(StoreError::Conflict(_)) => Ok(Claim::Taken(get(store, &again.message_id).await?)),
        Err(e) => Err(e),
    }
}

/// Whether `message_id` has a record no run will act on again: done, or failed for good. A
/// message still being processed, or failed but retryable, is not settled ([`claim`] decides).
pub async fn is_settled(store: &Store, message_id: &str) -> Result<bool, StoreError> {
    match get(store, message_id).await {
        Ok(found) => Ok(match found.status {
            EmailStatus::Done => true,
            EmailStatus::Failed => !(found.retryable && found.attempts < MAX_ATTEMPTS),
            EmailStatus::Processing => false,
        }),
        Err(StoreError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Writes `next` over `current` only if the stored record is still `current`'s status and
/// attempt: a run that lost its claim cannot overwrite the new owner's record.
pub async fn update(
    store: &Store,
    current: &EmailRecord,
    next: &EmailRecord,
) -> Result<(), StoreError> {
    let guards = [
        Guard::Equals("status".into(), current.status.as_str().into()),
        Guard::Equals("attempts".into(), current.attempts.into()),
    ];
    let now = store.clock().now().unix_timestamp();
    store
        .records()
        .update(
            &Keys::email(&current.message_id),
            Keys::META,
            to_fields(next)?,
            &guards,
            now,
        )
        .await
        .map(|_| ())
}
