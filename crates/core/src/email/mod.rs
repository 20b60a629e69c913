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
//! - A failed message is recorded with its reason; [`record`] says when it is retried.

mod prompt;
pub mod record;

use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::agent::run_agent_with_tools;
use crate::ports::{ChatModel, EmailMessage, OutgoingEmail, PortError, ToolSpec};
use crate::store::{Keys, PageRequest, Store, StoreError};
use crate::tools::{ToolPorts, chat_tools};
pub use prompt::NO_REPLY;
use prompt::{Answer, one_line, read_answer, reply_subject, sender_address};
use record::{Claim, Decision, EmailRecord, EmailStatus, ReplyRecord, ToolSummary};

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

/// The tools the email agent gets: reading the calendar and creating an event. Not
/// `update_event` or `delete_event` (a stranger's email must not move or cancel the owner's
/// events), and nothing that sends SMS or email or controls a call.
pub const EMAIL_TOOLS: &[&str] = &["list_events", "find_free_time", "create_event"];
/// Tools whose success means something changed outside, so a retry could repeat it.
const WRITE_TOOLS: &[&str] = &["create_event"];

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
    /// The store failed while claiming.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Mail is waiting but there is no model to read it.
    #[error("{0} new message(s) are waiting but no chat model is configured (OPENAI_API_KEY)")]
    NoModel(usize),
}

/// The tool specs offered to the email agent.
pub fn email_tools() -> Vec<ToolSpec> {
    chat_tools()
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
    let mut messages = ports
        .mail
        .list_recent(&options.query, options.max_messages)
        .await
        .map_err(EmailRunError::List)?;
    // Oldest first, so replies go out in the order the mail came in.
    messages.sort_by_key(|m| m.date);
    let mut summary = RunSummary {
        policy: options.policy,
        listed: messages.len(),
        already_handled: 0,
        replied: 0,
        no_reply: 0,
        skipped: 0,
        failed: 0,
        deferred: 0,
        messages: Vec::new(),
    };
    for email in &messages {
        let outcome = match model {
            _ if started.elapsed() > options.budget => Outcome::Deferred,
            None => match record::get(store, &email.id).await {
                Ok(_) => Outcome::AlreadyHandled,
                Err(StoreError::NotFound) => Outcome::Deferred,
                Err(e) => return Err(e.into()),
            },
            Some(model) => process_one(ports, store, model, options, email).await?,
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
            message_id: email.id.clone(),
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

/// Claims, processes and records one message.
async fn process_one(
    ports: &ToolPorts,
    store: &Store,
    model: &dyn ChatModel,
    options: &EmailOptions,
    email: &EmailMessage,
) -> Result<Outcome, StoreError> {
    let from = sender_address(&email.from);
    let fresh = EmailRecord {
        message_id: email.id.clone(),
        thread_id: email.thread_id.clone(),
        from: from.clone().unwrap_or_default(),
        subject: one_line(&email.subject, prompt::MAX_SUBJECT_CHARS),
        status: EmailStatus::Processing,
        attempts: 1,
        policy: options.policy,
        decision: None,
        reason: None,
        retryable: false,
        tool_calls: Vec::new(),
        reply_text: None,
        reply: None,
        claimed_at: store.clock().now(),
        finished_at: None,
    };
    let claimed = match record::claim(store, fresh).await? {
        Claim::Owned(claimed) => claimed,
        Claim::Taken(found) => {
            tracing::debug!(message_id = %email.id, status = found.status.as_str(), "already handled");
            return Ok(Outcome::AlreadyHandled);
        }
    };
    let mut done = claimed.clone();
    let outcome = act(ports, store, model, options, email, from, &mut done).await;
    done.finished_at = Some(store.clock().now());
    if let Err(e) = record::update(store, &claimed, &done).await {
        // The work is done; only its record is missing. The claim stays `processing`, so the
        // message is not processed again, and the lease turns it into a visible failure.
        tracing::error!(message_id = %email.id, error = %e, "email outcome not recorded");
    }
    tracing::info!(
        message_id = %email.id,
        attempt = done.attempts,
        outcome = ?outcome,
        tools = done.tool_calls.len(),
        reply = done.reply.as_ref().map(|r| r.kind.as_str()),
        reason = done.reason.as_deref(),
        "email processed"
    );
    Ok(outcome)
}

/// Does the work for a claimed message, filling in `rec`.
async fn act(
    ports: &ToolPorts,
    store: &Store,
    model: &dyn ChatModel,
    options: &EmailOptions,
    email: &EmailMessage,
    from: Option<String>,
    rec: &mut EmailRecord,
) -> Outcome {
    let skip = |rec: &mut EmailRecord, reason: &str| {
        rec.status = EmailStatus::Done;
        rec.decision = Some(Decision::Skipped);
        rec.reason = Some(reason.into());
        Outcome::Skipped
    };
    let Some(to) = from else {
        return skip(rec, "no usable sender address");
    };
    if prompt::is_automated(&to) {
        return skip(rec, "automated sender");
    }
    let ctx = ports.context(store, Keys::email(&email.id), None, false);
    let system = prompt::system_prompt(&ctx);
    let user = prompt::user_message(&ctx, email, options.max_body_chars);
    // The attempt is part of the key so a retry is not answered from a failed attempt's record.
    let request_id = format!("email:{}:{}", email.id, rec.attempts);
    let mut history = Vec::new();
    let tools = email_tools();
    let run = run_agent_with_tools(
        &ctx,
        model,
        &tools,
        &system,
        &mut history,
        &user,
        &request_id,
    )
    .await;
    let recorded = tool_summaries(store, &ctx.owner_pk, &request_id).await;
    let wrote = recorded.as_ref().is_none_or(|calls| {
        calls
            .iter()
            .any(|c| WRITE_TOOLS.contains(&c.name.as_str()) && !c.is_error)
    });
    rec.tool_calls = recorded.unwrap_or_default();
    let reply = match run {
        Ok(reply) => reply,
        Err(e) => return fail(rec, format!("model: {e}"), !wrote),
    };
    let body = match read_answer(&reply.text) {
        Answer::NoReply => {
            rec.status = EmailStatus::Done;
            rec.decision = Some(Decision::NoReply);
            return Outcome::NoReply;
        }
        Answer::Reply(body) => body,
    };
    rec.decision = Some(Decision::Reply);
    rec.reply_text = Some(body.clone());
    let outgoing = OutgoingEmail {
        to: vec![to],
        subject: reply_subject(&email.subject),
        body,
        in_reply_to: email.message_id.clone(),
        thread_id: email.thread_id.clone(),
    };
    // The policy comes from configuration only; the model's text cannot reach this choice.
    let written = match options.policy {
        ReplyPolicy::Off => None,
        ReplyPolicy::Draft => Some(("draft", ports.mail.create_draft(&outgoing).await)),
        ReplyPolicy::Send => Some(("sent", ports.mail.send_email(&outgoing).await)),
    };
    match written {
        None => {}
        Some((kind, Ok(sent))) => {
            rec.reply = Some(ReplyRecord {
                kind: kind.into(),
                id: sent.id,
                thread_id: sent.thread_id,
            });
        }
        Some((kind, Err(e))) => {
            // A send that failed (or timed out) may still have gone out: never retry a send.
            let retry = !wrote && options.policy == ReplyPolicy::Draft;
            return fail(rec, format!("writing the {kind} reply: {e}"), retry);
        }
    }
    rec.status = EmailStatus::Done;
    Outcome::Replied
}

fn fail(rec: &mut EmailRecord, reason: String, may_retry: bool) -> Outcome {
    rec.status = EmailStatus::Failed;
    rec.retryable = may_retry && rec.attempts < record::MAX_ATTEMPTS;
    rec.reason = Some(reason);
    Outcome::Failed
}

/// The tool calls recorded for this attempt, or `None` if they could not be read (then it is
/// unknown whether anything was written).
async fn tool_summaries(
    store: &Store,
    owner_pk: &str,
    request_id: &str,
) -> Option<Vec<ToolSummary>> {
    let page = store
        .list_tool_calls(owner_pk, &PageRequest::first(100))
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "tool calls of an email unreadable"))
        .ok()?;
    Some(
        page.items
            .into_iter()
            .filter(|c| c.call_id.starts_with(&format!("{request_id}:")))
            .map(|c| ToolSummary {
                event_id: c.result["created"]["id"].as_str().map(str::to_owned),
                name: c.name,
                is_error: c.is_error,
            })
            .collect(),
    )
}
