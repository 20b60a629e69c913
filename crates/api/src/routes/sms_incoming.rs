//! `POST /sms/incoming`: Twilio's messaging webhook. Signature-checked; answered once per
//! MessageSid (a re-delivery gets the first answer again, or nothing); carrier keywords first
//! (STOP, HELP, and START or YES from a number that has opted out), then "forget me", then the
//! owner's answer to a booking request (`YES <code>` / `NO <code>`), then the text agent over
//! the sender's SMS history. A guest's texts past `GUEST_SMS_PER_DAY` get one "limit reached"
//! reply per day, then silence.
//!
//! The texter is the owner when the number is in `OWNER_NUMBERS`, a guest otherwise. SMS
//! carries no attestation, so this trusts the sender number as Twilio received it
//! (docs/security.md says what that risks).
//!
//! Twilio waits 15 s for the webhook. The agent's answer is TwiML `<Message>` when it is ready
//! within `SMS_REPLY_DEADLINE_SECS` (default 10); otherwise the webhook answers an empty
//! `<Response/>` at once and the answer is texted through the Messaging port (Twilio REST) when
//! it is ready. Exactly one of the two happens: the agent runs once per MessageSid (the
//! idempotency claim), and its answer is handed over through a one-shot channel that the
//! webhook closes when it gives up, so the answer goes to whichever side still takes it.
//!
//! A failure after the claim does not drop the message: STOP is recorded before the claim (so
//! nothing after it can lose an opt-out); a store failure releases the claim and answers 5xx,
//! and a failed agent releases it and answers an apology, so a re-delivery is processed again.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use phone_core::AccessLevel;
use phone_core::agent::{load_history, run_agent, save_history, system_prompt};
use phone_core::booking::{self, SettleError, parse_owner_answer};
use phone_core::sms::{Keyword, classify};
use phone_core::store::{Keys, PutMode, StoreError};
use phone_twilio::twiml::{Response, Verb};
use phone_twilio::webhook::SmsWebhook;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::twilio_request::SignedForm;
use crate::{ApiError, AppState};

/// The router.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/sms/incoming", post(incoming))
        .with_state(state)
}

/// Longest the agent may work on one message, texted late or not: the sms Lambda's 29 s
/// timeout must cover it and the REST call that texts the answer.
const AGENT_LIMIT: Duration = Duration::from_secs(25);

const SORRY: &str = "Sorry, something went wrong on my side. Please try again in a minute.";

const HELP: &str = "This is an AI assistant: text it to manage your calendar. Reply STOP to opt out, FORGET ME to erase what it remembers.";

/// What the webhook answered, kept for re-deliveries (`IDEM#<MessageSid>` / `REPLY`).
#[derive(Serialize, Deserialize)]
struct StoredReply {
    /// The `<Message>` text, if any.
    text: Option<String>,
    /// The answer is (or was) texted through the REST API instead.
    #[serde(default)]
    later: bool,
}

/// How the webhook answers.
enum Answer {
    /// In the TwiML, or nothing.
    Now(Option<String>),
    /// Empty TwiML now; the answer is texted when ready.
    Later,
    /// An apology in the TwiML: the agent failed, so the claim is released and a re-delivery
    /// of the same message runs it again.
    Failed(String),
}

fn twiml(text: Option<&str>) -> Result<axum::response::Response, ApiError> {
    let mut response = Response::new();
    if let Some(text) = text {
        response = response
            .push(Verb::Message(text.to_owned()))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    Ok(([(header::CONTENT_TYPE, "text/xml")], response.render()).into_response())
}

async fn incoming(
    State(state): State<AppState>,
    SignedForm(form): SignedForm,
) -> Result<axum::response::Response, ApiError> {
    let sms = SmsWebhook::from_form(&form).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let store = &state.store;
    let keyword = classify(&sms.body);
    if keyword == Some(Keyword::Stop) {
        // A compliance record: written before the claim and everything else that can fail, so
        // no later failure loses it. Writing it again on a re-delivery changes nothing.
        store.set_sms_opt_out(&sms.from, true).await?;
        tracing::info!(from = %sms.from, "SMS opt-out recorded");
    }
    let reply_key = Keys::idempotency(&sms.message_sid);
    if !store.claim_idempotency_key(&sms.message_sid).await? {
        tracing::info!(message_sid = %sms.message_sid, "re-delivered SMS webhook: answering with the first reply");
        let previous = store
            .get_value::<StoredReply>(&reply_key, "REPLY")
            .await
            .ok()
            .and_then(|r| r.text);
        return twiml(previous.as_deref());
    }
    let (reply, later) = match answer(&state, &sms, keyword).await {
        Ok(Answer::Now(text)) => (text, false),
        Ok(Answer::Later) => (None, true),
        Ok(Answer::Failed(apology)) => {
            release(&state, &sms).await;
            return twiml(Some(&apology));
        }
        Err(e) => {
            // Nothing was answered: give the claim back so that Twilio's retry is processed
            // rather than ignored as a duplicate.
            release(&state, &sms).await;
            return Err(e);
        }
    };
    let keep = store.retention().idempotency;
    let stored = StoredReply {
        text: reply.clone(),
        later,
    };
    if let Err(e) = store
        .put_value(&reply_key, "REPLY", &stored, keep, PutMode::Overwrite)
        .await
    {
        tracing::warn!(error = %e, "could not keep the SMS reply for re-deliveries");
    }
    twiml(reply.as_deref())
}

/// Gives up the claim on a message whose processing failed, so a re-delivery is processed.
async fn release(state: &AppState, sms: &SmsWebhook) {
    match state.store.release_idempotency_key(&sms.message_sid).await {
        Ok(()) => {
            tracing::warn!(message_sid = %sms.message_sid, "SMS processing failed: claim released for a retry")
        }
        Err(e) => {
            tracing::error!(message_sid = %sms.message_sid, error = %e, "SMS processing failed and its claim could not be released: a retry will be ignored")
        }
    }
}

async fn answer(
    state: &AppState,
    sms: &SmsWebhook,
    keyword: Option<Keyword>,
) -> Result<Answer, ApiError> {
    let store = &state.store;
    match keyword {
        // Recorded before the claim; Twilio confirms the opt-out itself, so we stay silent.
        Some(Keyword::Stop) => return Ok(Answer::Now(None)),
        // START/YES opt back in only a number that has opted out; from anyone else "Yes" is an
        // answer for the assistant (confirming a booking by text), not a carrier keyword.
        Some(Keyword::Start) if store.is_sms_opted_out(&sms.from).await? => {
            store.set_sms_opt_out(&sms.from, false).await?;
            tracing::info!(from = %sms.from, "SMS opt-in recorded");
            return Ok(Answer::Now(None));
        }
        Some(Keyword::Start) => {}
        Some(Keyword::Help) => return Ok(Answer::Now(Some(HELP.into()))),
        Some(Keyword::Forget) => {
            let erased = store.forget_caller(&sms.from).await?;
            tracing::info!(from = %sms.from, erased, "caller forgotten on request");
            return Ok(Answer::Now(Some(
                "Done: I have erased what I remembered about you.".into(),
            )));
        }
        None => {}
    }
    if store.is_sms_opted_out(&sms.from).await? {
        return Ok(Answer::Now(None));
    }
    let access = state.config.owners().sms_access(&sms.from);
    if access == AccessLevel::Guest
        && let Some(limited) = crate::guest_limits::gate_sms(state, &sms.from).await?
    {
        return Ok(Answer::Now(limited));
    }
    if access == AccessLevel::Owner
        && let Some(answer) = parse_owner_answer(&sms.body)
    {
        let ports = state
            .tools
            .as_ref()
            .ok_or_else(|| ApiError::Unavailable("tools are not configured".into()))?;
        let ctx = ports.context_as(
            store,
            access,
            Keys::sms(&sms.from),
            Some(sms.from.clone()),
            false,
        );
        let text = match booking::settle(&ctx, &answer).await {
            Ok(settled) => settled.owner_text,
            Err(SettleError::Store(e)) => return Err(e.into()),
            Err(e) => format!("{e}."),
        };
        return Ok(Answer::Now(Some(text)));
    }
    if state.chat.is_none() {
        tracing::warn!("SMS received but no chat model is configured (OPENAI_API_KEY)");
        return Ok(Answer::Now(Some(
            "Sorry, this assistant cannot answer texts right now.".into(),
        )));
    }
    if state.tools.is_none() {
        return Err(ApiError::Unavailable("tools are not configured".into()));
    }
    Ok(race_the_deadline(state, sms).await)
}

/// Starts the agent as a background task and waits for it until the deadline. If it is late,
/// the channel is closed: an answer already sent is still taken, and any later one is refused
/// and the task texts it instead. So exactly one side delivers it.
async fn race_the_deadline(state: &AppState, sms: &SmsWebhook) -> Answer {
    let (tx, mut rx) = oneshot::channel::<AgentReply>();
    let (task_state, task_sms) = (state.clone(), sms.clone());
    state.background.spawn(async move {
        let reply = agent_text(&task_state, &task_sms).await;
        if let Err(reply) = tx.send(reply) {
            text_later(&task_state, &task_sms, reply.text()).await;
        }
    });
    match tokio::time::timeout(state.config.sms_reply_deadline, &mut rx).await {
        Ok(Ok(reply)) => reply.into_answer(),
        // The task ended without an answer: it panicked, and the log has why.
        Ok(Err(_)) => Answer::Failed(SORRY.into()),
        Err(_) => {
            rx.close();
            match rx.try_recv() {
                Ok(reply) => reply.into_answer(),
                Err(_) => {
                    tracing::info!(message_sid = %sms.message_sid, "SMS answer is late: it will be texted");
                    Answer::Later
                }
            }
        }
    }
}

/// What the agent task hands over: its answer, or an apology when it failed.
enum AgentReply {
    Answer(String),
    Apology(String),
}

impl AgentReply {
    fn text(&self) -> &str {
        match self {
            Self::Answer(text) | Self::Apology(text) => text,
        }
    }

    fn into_answer(self) -> Answer {
        match self {
            Self::Answer(text) => Answer::Now(Some(text)),
            Self::Apology(text) => Answer::Failed(text),
        }
    }
}

/// The agent's answer to one message, or an apology; the history is saved on success.
async fn agent_text(state: &AppState, sms: &SmsWebhook) -> AgentReply {
    let (Some(model), Some(ports)) = (state.chat.clone(), state.tools.as_ref()) else {
        return AgentReply::Apology(SORRY.into());
    };
    let store = &state.store;
    let pk = Keys::sms(&sms.from);
    let access = state.config.owners().sms_access(&sms.from);
    let ctx = ports.context_as(store, access, pk.clone(), Some(sms.from.clone()), false);
    let mut history = match load_history(&ctx, &pk).await {
        Ok(history) => history,
        Err(e) => {
            tracing::error!(error = %e, "SMS history unavailable");
            return AgentReply::Apology(SORRY.into());
        }
    };
    let memory = match ctx.remembered_caller() {
        Some(number) => memory_text(state, number).await,
        None => String::new(),
    };
    let system = system_prompt(&ctx, "SMS (keep answers under 300 characters)", &memory);
    let run = run_agent(
        &ctx,
        model.as_ref(),
        &system,
        &mut history,
        &sms.body,
        &sms.message_sid,
    );
    match tokio::time::timeout(AGENT_LIMIT, run).await {
        Ok(Ok(reply)) => {
            if let Err(e) = save_history(&ctx, &pk, &history).await {
                tracing::warn!(error = %e, "SMS history not saved");
            }
            AgentReply::Answer(reply.text)
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "SMS agent failed");
            AgentReply::Apology(SORRY.into())
        }
        Err(_) => AgentReply::Apology(
            "Sorry, that is taking too long. Please try again in a minute.".into(),
        ),
    }
}

/// Texts an answer the webhook could not wait for, unless the sender has opted out meanwhile.
async fn text_later(state: &AppState, sms: &SmsWebhook, text: &str) {
    match state.store.is_sms_opted_out(&sms.from).await {
        Ok(false) => {}
        Ok(true) => {
            tracing::info!(message_sid = %sms.message_sid, "sender opted out before the late answer");
            return;
        }
        Err(e) => {
            // Without the opt-out record, texting could break a STOP: do not.
            tracing::error!(error = %e, "late SMS answer not sent: opt-out unknown");
            return;
        }
    }
    let Some(ports) = state.tools.as_ref() else {
        return;
    };
    match ports.messaging.send_sms(&sms.from, text).await {
        Ok(sent) => {
            tracing::info!(message_sid = %sms.message_sid, answer_sid = %sent.sid, "late SMS answer texted")
        }
        Err(e) => {
            tracing::error!(message_sid = %sms.message_sid, error = %e, "late SMS answer could not be sent")
        }
    }
}

/// What is remembered about `from`, quoted as data for the model (empty if nothing).
async fn memory_text(state: &AppState, from: &phone_core::PhoneNumber) -> String {
    let store = &state.store;
    let memory = store.get_memory(from).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "caller memory unavailable");
        Default::default()
    });
    let notes = match store
        .list_notes(from, &phone_core::store::PageRequest::newest(5))
        .await
    {
        Ok(notes) => notes.items,
        Err(StoreError::NotFound) => Vec::new(),
        Err(e) => {
            tracing::warn!(error = %e, "caller notes unavailable");
            Vec::new()
        }
    };
    phone_core::memory::quote_for_model(&memory, &notes).unwrap_or_default()
}
