//! Twilio's webhooks for outbound calls, each signature-checked by [`SignedForm`] over its full
//! URL (the `?outbound=OB…` query included, so the id cannot be swapped):
//!
//! - `POST /voice/outbound?outbound=OB…`: the callee answered. Answers TwiML that connects the
//!   call to the stream host, like an inbound call's (single-use stream token, `<Connect
//!   action>` = `/voice/stream-ended`). The stream host reads the call's direction, purpose and
//!   instructions from the store, never from the stream.
//! - `POST /voice/outbound/status?outbound=OB…`: status callbacks; a final one settles the
//!   attempt's outcome and the request's, and may schedule a retry ([`Dialer::on_status`]).
//! - `POST /voice/outbound/amd?outbound=OB…`: the asynchronous answering machine detection
//!   result, recorded on the call row, where the stream host holding the call reads it
//!   (docs/outbound.md, "Voicemail").
//!
//! A callback that outruns `POST /calls` (Twilio called before the attempt's row was written)
//! writes the row itself ([`Dialer::ensure_attempt`]).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use phone_core::StoreError;
use phone_core::outbound::OutboundId;
use phone_core::outbound::dialer::{AMD_PATH, Dialer, STATUS_PATH, VOICE_PATH};
use phone_core::token::hash_stream_token;
use phone_twilio::webhook::{AmdCallback, StatusCallback, VoiceWebhook};
use serde::Deserialize;

use super::stream_ended;
use crate::twilio_request::SignedForm;
use crate::{ApiError, AppState};

/// The router serving the outbound call webhooks.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route(VOICE_PATH, post(answered))
        .route(STATUS_PATH, post(status))
        .route(AMD_PATH, post(amd))
        .with_state(state)
}

/// `?outbound=OB…`, which the dialer put in every URL it gave Twilio.
#[derive(Debug, Deserialize)]
struct Which {
    outbound: String,
}

fn parse(which: &Which) -> Result<OutboundId, ApiError> {
    OutboundId::parse(&which.outbound).map_err(|e| ApiError::BadRequest(format!("outbound: {e}")))
}

fn dialer(state: &AppState) -> Result<&Dialer, ApiError> {
    state
        .dialer
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("outbound calls are not configured".into()))
}

fn store_error(e: StoreError, id: &OutboundId) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::NotFound(format!("outbound call {id}")),
        other => other.into(),
    }
}

async fn answered(
    State(state): State<AppState>,
    Query(which): Query<Which>,
    SignedForm(form): SignedForm,
) -> Result<axum::response::Response, ApiError> {
    let id = parse(&which)?;
    let webhook =
        VoiceWebhook::from_form(&form).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let stream_url = state
        .config
        .require_stream_url()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let base = state
        .config
        .require_public_base_url()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (_, row) = dialer(&state)?
        .ensure_attempt(&id, &webhook.call_sid)
        .await
        .map_err(|e| store_error(e, &id))?;
    let token = super::voice::new_stream_token();
    let expires = state.store.clock().now() + state.config.stream_token_ttl;
    match state
        .store
        .rotate_stream_token(&row.call_sid, &hash_stream_token(&token), expires)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::Conflict(format!(
                "call {} is already streaming",
                row.call_sid
            )));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(call_sid = %row.call_sid, outbound = %id, "outbound call answered; connecting the stream");
    let twiml = phone_twilio::twiml::connect_stream(
        stream_url,
        &[("token".to_owned(), token)],
        Some(&stream_ended::action_url(base)),
    )
    .map_err(|e| ApiError::Internal(format!("STREAM_PUBLIC_URL cannot be used in TwiML: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "text/xml")], twiml).into_response())
}

async fn status(
    State(state): State<AppState>,
    Query(which): Query<Which>,
    SignedForm(form): SignedForm,
) -> Result<StatusCode, ApiError> {
    let id = parse(&which)?;
    let callback =
        StatusCallback::from_form(&form).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    match dialer(&state)?
        .on_status(
            &id,
            &callback.call_sid,
            callback.call_status,
            callback.call_duration,
        )
        .await
    {
        Ok(row) => {
            tracing::info!(call_sid = %row.call_sid, status = ?row.status, outcome = ?row.outcome, "outbound call status")
        }
        // A request that expired or was refused: acknowledge so Twilio does not retry.
        Err(StoreError::NotFound) => {
            tracing::warn!(outbound = %id, "status for an unknown outbound call")
        }
        Err(e) => return Err(store_error(e, &id)),
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn amd(
    State(state): State<AppState>,
    Query(which): Query<Which>,
    SignedForm(form): SignedForm,
) -> Result<StatusCode, ApiError> {
    let id = parse(&which)?;
    let callback =
        AmdCallback::from_form(&form).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    match dialer(&state)?
        .on_answered_by(&id, &callback.call_sid, callback.answered_by)
        .await
    {
        Ok(_) => tracing::info!(
            call_sid = %callback.call_sid,
            answered_by = ?callback.answered_by,
            detection_ms = ?callback.detection_ms,
            "answering machine detection"
        ),
        Err(StoreError::NotFound) => {
            tracing::warn!(outbound = %id, "AMD result for an unknown outbound call")
        }
        Err(e) => return Err(store_error(e, &id)),
    }
    Ok(StatusCode::NO_CONTENT)
}
