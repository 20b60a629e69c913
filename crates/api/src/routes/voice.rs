//! Twilio voice webhooks.
//!
//! - `POST /voice/incoming`: a call rings in. Creates the call row once per CallSid and answers
//!   TwiML that connects the call's audio to the stream host, with a single-use, expiring
//!   stream token (only its hash is stored) and the caller's number as `<Parameter>`s.
//! - `POST /voice/status`: Twilio's status callbacks update the call row.
//!
//! Both are signature-checked by [`SignedForm`] before anything here runs.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use base64::Engine;
use phone_core::store::Created;
use phone_core::token::hash_stream_token;
use phone_core::{CallSession, StoreError};
use phone_twilio::webhook::{StatusCallback, VoiceWebhook};
use rand::RngCore;

use crate::twilio_request::SignedForm;
use crate::{ApiError, AppState};

/// The router serving both voice webhooks.
pub fn routes(state: AppState) -> Router {
    crate::body_limit::limited(
        Router::new()
            .route("/voice/incoming", post(incoming))
            .route("/voice/status", post(status))
            .with_state(state),
    )
}

/// A fresh stream token: 32 random bytes, base64url. Unguessable and single-use.
fn new_stream_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

async fn incoming(
    State(state): State<AppState>,
    SignedForm(form): SignedForm,
) -> Result<impl IntoResponse, ApiError> {
    let webhook =
        VoiceWebhook::from_form(&form).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let stream_url = state
        .config
        .require_stream_url()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let now = state.store.clock().now();
    let token = new_stream_token();
    let token_hash = hash_stream_token(&token);
    let expires = now + state.config.stream_token_ttl;
    let call = CallSession::new(
        webhook.call_sid.clone(),
        webhook.from.clone(),
        webhook.to.clone(),
        now,
    );
    match state.store.create_call(&call, &token_hash, expires).await? {
        Created::New => {
            tracing::info!(call_sid = %call.call_sid, from = ?call.from, "incoming call");
        }
        Created::Existing(_) => {
            // Twilio retried the webhook: the TwiML it will use is this one, so this token
            // must become the valid one. A token already used means the stream is up and the
            // retry is stale.
            match state
                .store
                .rotate_stream_token(&call.call_sid, &token_hash, expires)
                .await
            {
                Ok(()) => {
                    tracing::info!(call_sid = %call.call_sid, "voice webhook retried: token rotated")
                }
                Err(StoreError::Conflict(_)) => {
                    return Err(ApiError::Conflict(format!(
                        "call {} is already streaming",
                        call.call_sid
                    )));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    let mut parameters = vec![("token".to_owned(), token)];
    if let Some(from) = &webhook.from {
        parameters.push(("caller".to_owned(), from.as_str().to_owned()));
    }
    let twiml = phone_twilio::twiml::connect_stream(stream_url, &parameters).map_err(|e| {
        ApiError::Internal(format!("STREAM_PUBLIC_URL cannot be used in TwiML: {e}"))
    })?;
    Ok(([(header::CONTENT_TYPE, "text/xml")], twiml))
}

async fn status(
    State(state): State<AppState>,
    SignedForm(form): SignedForm,
) -> Result<impl IntoResponse, ApiError> {
    let callback =
        StatusCallback::from_form(&form).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    match state
        .store
        .set_call_status(
            &callback.call_sid,
            callback.call_status,
            callback.call_duration,
        )
        .await
    {
        Ok(call) => tracing::info!(call_sid = %call.call_sid, status = ?call.status, "call status"),
        // A callback for a call we never saw (e.g. rejected before the row was written):
        // acknowledge it so Twilio does not retry, and keep a trace.
        Err(StoreError::NotFound) => {
            tracing::warn!(call_sid = %callback.call_sid, "status for unknown call")
        }
        Err(e) => return Err(e.into()),
    }
    Ok(StatusCode::NO_CONTENT)
}
