//! `POST /sms/incoming`: Twilio's messaging webhook. Signature-checked; answered once per
//! MessageSid (a re-delivery gets the first answer again); carrier keywords first (STOP, START,
//! HELP), then "forget me", then the text agent over the sender's SMS history, answered with
//! TwiML `<Message>`.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use phone_core::agent::{load_history, run_agent, save_history, system_prompt};
use phone_core::sms::{Keyword, classify};
use phone_core::store::{Keys, PutMode, StoreError};
use phone_twilio::twiml::{Response, Verb};
use phone_twilio::webhook::SmsWebhook;
use serde::{Deserialize, Serialize};

use crate::twilio_request::SignedForm;
use crate::{ApiError, AppState};

/// The router.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/sms/incoming", post(incoming))
        .with_state(state)
}

/// Twilio waits 15 s for a webhook; answer well before.
const AGENT_BUDGET: std::time::Duration = std::time::Duration::from_secs(12);

const HELP: &str = "This is an AI assistant: text it to manage your calendar. Reply STOP to opt out, FORGET ME to erase what it remembers.";

#[derive(Serialize, Deserialize)]
struct StoredReply {
    text: Option<String>,
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
    let reply = answer(&state, &sms).await?;
    let keep = store.retention().idempotency;
    let stored = StoredReply {
        text: reply.clone(),
    };
    if let Err(e) = store
        .put_value(&reply_key, "REPLY", &stored, keep, PutMode::Overwrite)
        .await
    {
        tracing::warn!(error = %e, "could not keep the SMS reply for re-deliveries");
    }
    twiml(reply.as_deref())
}

async fn answer(state: &AppState, sms: &SmsWebhook) -> Result<Option<String>, ApiError> {
    let store = &state.store;
    match classify(&sms.body) {
        Some(Keyword::Stop) => {
            // Twilio confirms the opt-out itself; we record it and stay silent.
            store.set_sms_opt_out(&sms.from, true).await?;
            tracing::info!(from = %sms.from, "SMS opt-out recorded");
            return Ok(None);
        }
        Some(Keyword::Start) => {
            store.set_sms_opt_out(&sms.from, false).await?;
            return Ok(None);
        }
        Some(Keyword::Help) => return Ok(Some(HELP.into())),
        Some(Keyword::Forget) => {
            let erased = store.forget_caller(&sms.from).await?;
            tracing::info!(from = %sms.from, erased, "caller forgotten on request");
            return Ok(Some(
                "Done: I have erased what I remembered about you.".into(),
            ));
        }
        None => {}
    }
    if store.is_sms_opted_out(&sms.from).await? {
        return Ok(None);
    }
    let Some(model) = state.chat.clone() else {
        tracing::warn!("SMS received but no chat model is configured (OPENAI_API_KEY)");
        return Ok(Some(
            "Sorry, this assistant cannot answer texts right now.".into(),
        ));
    };
    let ports = state
        .tools
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("tools are not configured".into()))?;
    let pk = Keys::sms(&sms.from);
    let ctx = ports.context(store, pk.clone(), Some(sms.from.clone()), false);
    let mut history = load_history(&ctx, &pk).await?;
    let memory = memory_text(state, &sms.from).await;
    let system = system_prompt(&ctx, "SMS (keep answers under 300 characters)", &memory);
    let run = run_agent(
        &ctx,
        model.as_ref(),
        &system,
        &mut history,
        &sms.body,
        &sms.message_sid,
    );
    match tokio::time::timeout(AGENT_BUDGET, run).await {
        Ok(Ok(reply)) => {
            save_history(&ctx, &pk, &history).await?;
            Ok(Some(reply.text))
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "SMS agent failed");
            Ok(Some(
                "Sorry, something went wrong on my side. Please try again in a minute.".into(),
            ))
        }
        Err(_) => Ok(Some(
            "Sorry, that is taking too long. Please try again in a minute.".into(),
        )),
    }
}

async fn memory_text(state: &AppState, from: &phone_core::PhoneNumber) -> String {
    let store = &state.store;
    let mut text = String::new();
    if let Ok(memory) = store.get_memory(from).await
        && !memory.summary.is_empty()
    {
        text.push_str(&format!("- {}\n", memory.summary));
    }
    match store
        .list_notes(from, &phone_core::store::PageRequest::newest(5))
        .await
    {
        Ok(notes) => {
            for note in notes.items {
                text.push_str(&format!("- {} ({})\n", note.text, note.data));
            }
        }
        Err(StoreError::NotFound) => {}
        Err(e) => tracing::warn!(error = %e, "caller notes unavailable"),
    }
    text
}
