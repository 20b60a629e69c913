//! One message: claim it, let the agent act, write the reply per the policy, record it all.

use super::prompt::{self, Answer, one_line, read_answer, reply_subject, sender_address};
use super::record::{self, Claim, Decision, EmailRecord, EmailStatus, ReplyRecord, ToolSummary};
use super::{EmailOptions, Outcome, ReplyPolicy, email_tools};
use crate::agent::run_agent_with_tools;
use crate::ports::{ChatModel, EmailMessage, OutgoingEmail};
use crate::store::{Keys, PageRequest, Store, StoreError};
use crate::tools::ToolPorts;

/// Tools whose success means something changed outside, so a retry could repeat it.
const WRITE_TOOLS: &[&str] = &["create_event"];

/// Claims, processes and records one message.
pub(super) async fn process_one(
    ports: &ToolPorts,
    store: &Store,
    model: &dyn ChatModel,
    options: &EmailOptions,
    email: &EmailMessage,
) -> Result<Outcome, StoreError> {
    let from = sender_address(&email.from);
    let fresh = EmailRecord::first_claim(
        &email.id,
        email.thread_id.clone(),
        from.clone().unwrap_or_default(),
        one_line(&email.subject, prompt::MAX_SUBJECT_CHARS),
        options.policy,
        store.clock().now(),
    );
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
    // `From` can be forged. A forged owner address gains little: the reply goes to that
    // address (the owner's own), and an emailed event invites only the sender.
    let access = ports.owners.email_access(&to);
    let mut ctx = ports.context_as(store, access, Keys::email(&email.id), None, false);
    ctx.email_sender = Some(to.clone());
    let system = prompt::system_prompt(&ctx);
    let user = prompt::user_message(&ctx, email, options.max_body_chars);
    // The attempt is part of the key so a retry is not answered from a failed attempt's record.
    let request_id = format!("email:{}:{}", email.id, rec.attempts);
    let mut history = Vec::new();
    let tools = email_tools(access);
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
