//! The email processor: one run reads new mail, and for each message not handled before asks
//! the text agent (with calendar tools only) whether it asks for something the tools can do,
//! lets it act (check free time, create the event or propose times), and writes its reply as a
//! draft, sends it, or keeps it, per the configured [`ReplyPolicy`].
//!
//! Guarantees:
//! - Each message is claimed in the store ([`record::claim`]) before anything is done, so a
//!   re-run or an overlapping run never processes it twice; what was done is recorded under
//!   `EMAIL#<id>` (the record, and the tool calls beside it).
//! - The policy and the tool list are fixed here, in code: nothing in an email can make the
//!   processor send instead of draft, or reach SMS, email or call tools.
//! - The sender's access level is decided from the `From` address: the owner's own address
//!   (`OWNER_EMAIL`) is the owner, everyone else a guest, who sees free/busy only and whose
//!   event invites nobody but them (see [`crate::tools::access`]).
//! - A failed message is recorded with its reason; [`record`] says when it is retried.

mod message;
mod prompt;
pub mod record;

use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::access::AccessLevel;
use crate::ports::{ChatModel, PortError, ToolSpec};
use crate::store::{Store, StoreError};
use crate::tools::{Channel, ToolPorts, chat_tools_for};
pub use prompt::NO_REPLY;

/// What to do with the reply the model writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyPolicy {
    /// Save it as a draft in the thread for the owner to review and send (the default).
    #[default]
    Draft,
    /// Send it.
    Send,
    /// Neither: keep the text in the record only.
    Off,
}

impl ReplyPolicy {
    /// The configuration value: `draft`, `send` or `off`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Send => "send",
            Self::Off => "off",
        }
    }
}

impl FromStr for ReplyPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "draft" => Ok(Self::Draft),
            "send" => Ok(Self::Send),
            "off" => Ok(Self::Off),
            other => Err(format!("expected draft, send or off, got {other:?}")),
        }
    }
}

/// The most the email agent is ever offered: reading the calendar and creating an event. Not
/// `update_event` or `delete_event` (no email moves or cancels the owner's events), and nothing
/// that sends SMS or email or controls a call. Within this list each sender gets their access
/// level's catalog ([`email_tools`]): a stranger gets `find_free_time` and a `create_event`
/// that invites only them, in a free slot; the owner's own address also gets `list_events`.
pub const EMAIL_TOOLS: &[&str] = &["list_events", "find_free_time", "create_event"];

/// The default inbox query: recent mail in the inbox, not sent by the owner.
pub const DEFAULT_QUERY: &str = "in:inbox newer_than:2d -from:me";

/// How one run behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailOptions {
    /// What to do with replies.
    pub policy: ReplyPolicy,
    /// Mail search query (Gmail syntax).
    pub query: String,
    /// Most messages listed per run.
    pub max_messages: u32,
    /// Most characters of a body shown to the model.
    pub max_body_chars: usize,
    /// No new message is started after this long; the rest waits for the next run.
    pub budget: Duration,
}

impl Default for EmailOptions {
    fn default() -> Self {
        Self {
            policy: ReplyPolicy::Draft,
            query: DEFAULT_QUERY.into(),
            max_messages: 20,
            max_body_chars: 4_000,
            // The Lambda times out at 300 s. A message started at the budget's end may still
            // take six model calls of up to 30 s each plus Gmail: 60 + 180 + margin < 300.
            budget: Duration::from_secs(60),
        }
    }
}

/// What happened to one listed message in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Claimed or finished before this run (status as found).
    AlreadyHandled,
    /// A reply was written per the policy.
    Replied,
    /// The model found nothing to do.
    NoReply,
    /// Not shown to the model (automated or unusable sender).
    Skipped,
    /// Failed; the record says why.
    Failed,
    /// Left for the next run (out of time, or no model).
    Deferred,
}

/// One message's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageOutcome {
    /// Its id.
    pub message_id: String,
    /// What happened.
    pub outcome: Outcome,
}

/// What one run did, for logs and the Lambda's response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// The policy in force.
    pub policy: ReplyPolicy,
    /// Messages the query returned.
    pub listed: usize,
    /// Already handled by an earlier or concurrent run.
    pub already_handled: usize,
    /// Replied to (drafted, sent or kept, per the policy).
    pub replied: usize,
    /// Nothing to do.
    pub no_reply: usize,
    /// Skipped without the model.
    pub skipped: usize,
    /// Failed.
    pub failed: usize,
    /// Left for the next run.
    pub deferred: usize,
    /// Per message.
    pub messages: Vec<MessageOutcome>,
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum EmailRunError {
    /// The mailbox could not be listed.
    #[error("listing mail: {0}")]
    List(PortError),
    /// A listed message could not be read; nothing was claimed, so the next run tries again.
    #[error("reading message {id}: {error}")]
    Fetch {
        /// The message.
        id: String,
        /// Why.
        error: PortError,
    },
    /// The store failed while claiming.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Mail is waiting but there is no model to read it.
    #[error("{0} new message(s) are waiting but no chat model is configured (OPENAI_API_KEY)")]
    NoModel(usize),
}

/// The tool specs offered to the email agent for a sender with `access`.
pub fn email_tools(access: AccessLevel) -> Vec<ToolSpec> {
    chat_tools_for(access, Channel::Email)
        .into_iter()
        .filter(|t| EMAIL_TOOLS.contains(&t.name.as_str()))
        .collect()
}

/// Runs the processor once over the mailbox of `ports.mail`.
pub async fn process_inbox(
    ports: &ToolPorts,
    store: &Store,
    model: Option<&dyn ChatModel>,
    options: &EmailOptions,
) -> Result<RunSummary, EmailRunError> {
    let started = Instant::now();
    let mut ids = ports
        .mail
        .list_ids(&options.query, options.max_messages)
        .await
        .map_err(EmailRunError::List)?;
    // Listed newest first; handled oldest first, so replies go out in the order mail came in.
    ids.reverse();
    let mut summary = RunSummary {
        policy: options.policy,
        listed: ids.len(),
        already_handled: 0,
        replied: 0,
        no_reply: 0,
        skipped: 0,
        failed: 0,
        deferred: 0,
        messages: Vec::new(),
    };
    for id in &ids {
        let outcome = match model {
            _ if started.elapsed() > options.budget => Outcome::Deferred,
            None => match record::get(store, id).await {
                Ok(_) => Outcome::AlreadyHandled,
                Err(StoreError::NotFound) => Outcome::Deferred,
                Err(e) => return Err(e.into()),
            },
            // Settled messages are not fetched again: most of a run's listing is mail that an
            // earlier run handled.
            Some(_) if record::is_settled(store, id).await? => Outcome::AlreadyHandled,
            Some(model) => {
                let email =
                    ports
                        .mail
                        .get_email(id)
                        .await
                        .map_err(|error| EmailRunError::Fetch {
                            id: id.clone(),
                            error,
                        })?;
                message::process_one(ports, store, model, options, &email).await?
            }
        };
        let counter = match outcome {
            Outcome::AlreadyHandled => &mut summary.already_handled,
            Outcome::Replied => &mut summary.replied,
            Outcome::NoReply => &mut summary.no_reply,
            Outcome::Skipped => &mut summary.skipped,
            Outcome::Failed => &mut summary.failed,
            Outcome::Deferred => &mut summary.deferred,
        };
        *counter += 1;
        summary.messages.push(MessageOutcome {
            message_id: id.clone(),
            outcome,
        });
    }
    tracing::info!(
        policy = options.policy.as_str(),
        listed = summary.listed,
        already_handled = summary.already_handled,
        replied = summary.replied,
        no_reply = summary.no_reply,
        skipped = summary.skipped,
        failed = summary.failed,
        deferred = summary.deferred,
        "email run finished"
    );
    if model.is_none() && summary.deferred > 0 {
        return Err(EmailRunError::NoModel(summary.deferred));
    }
    Ok(summary)
}
