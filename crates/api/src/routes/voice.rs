//! Twilio voice webhooks.
//!
//! - `POST /voice/incoming`: a call rings in. Decides the call's access level (owner or guest,
//!   [`Owners::decide_call`]), creates the call row once per CallSid with it, and answers TwiML
//!   that connects the call's audio to the stream host with a single-use, expiring stream token
//!   (only its hash is stored) and the caller's number as `<Parameter>`s. A call from an owner
//!   number without full STIR/SHAKEN attestation is first asked for the owner PIN, when one is
//!   configured (`<Gather input="dtmf">`). The `<Connect action>` is
//!   `POST /voice/stream-ended` ([`super::stream_ended`]), which decides what the caller hears
//!   once the stream has ended.
//! - `POST /voice/pin`: the PIN prompt's callback. A right PIN makes the call an owner call on
//!   its row; a wrong one asks again, up to [`MAX_PIN_ATTEMPTS`] in all, then the call goes on
//!   as a guest; no digits go on as a guest at once.
//! - `POST /voice/status`: Twilio's status callbacks update the call row; a guest's finished
//!   call adds its duration to the caller's minutes of the day.
//! - `POST /voice/recording`: with `RECORDING=dual` the TwiML starts a dual-channel recording
//!   before the stream ([`super::recording`]); its status callbacks store the recording's link
//!   on the call row.
//!
//! A guest's call is subject to the daily limits ([`guest_limits`]): past them it is answered
//! with a short `<Say>` and `<Hangup/>` (no stream token, no model); otherwise the call row's
//! `max_call_secs` holds the minutes left when they are fewer than `MAX_CALL_SECS`.
//!
//! The webhooks of outbound calls (`/voice/outbound…`) are served by the same router
//! ([`super::outbound`]).
//!
//! All are signature-checked by [`SignedForm`] before anything here runs. The access level
//! lives on the call row only: the stream host reads it from there when it consumes the token.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use base64::Engine;
use phone_core::access::{AccessLevel, Attestation, CallDecision, MAX_PIN_ATTEMPTS, pin_matches};
use phone_core::store::{Created, PinAttempt};
use phone_core::token::hash_stream_token;
use phone_core::{CallSession, CallSid, PhoneNumber, StoreError};
use phone_twilio::twiml::{Response, Verb};
use phone_twilio::webhook::{PinDigits, StatusCallback, VoiceWebhook};
use rand::RngCore;
use secrecy::ExposeSecret;

use super::stream_ended;

use crate::twilio_request::SignedForm;
use crate::{ApiError, AppState, guest_limits};

/// The router serving the voice webhooks.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/voice/incoming", post(incoming))
        .route("/voice/pin", post(pin))
        .route(stream_ended::PATH, post(stream_ended::stream_ended))
        .route("/voice/status", post(status))
        .route(
            super::recording::PATH,
            post(super::recording::recording_status),
        )
        .with_state(state.clone())
        .merge(super::outbound::routes(state))
}

/// Seconds the PIN prompt waits after the last key.
const PIN_TIMEOUT_SECS: u32 = 6;
const PIN_PROMPT: &str =
    "Hello. If you are the owner, enter your PIN, then press pound. Otherwise, please hold.";
const PIN_RETRY: &str = "That PIN is not right. Try again, then press pound.";

/// A fresh stream token: 32 random bytes, base64url. Unguessable and single-use.
pub(super) fn new_stream_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn xml(twiml: String) -> axum::response::Response {
    ([(header::CONTENT_TYPE, "text/xml")], twiml).into_response()
}

async fn incoming(
    State(state): State<AppState>,
    SignedForm(form): SignedForm,
) -> Result<axum::response::Response, ApiError> {
    let webhook =
        VoiceWebhook::from_form(&form).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let stream_url = state
        .config
        .require_stream_url()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let attestation = Attestation::from_stir_verstat(webhook.stir_verstat.as_deref());
    let decision = state.config.owners().decide_call(
        webhook.from.as_ref(),
        attestation,
        state.config.owner_pin.is_some(),
    );
    let access = match decision {
        CallDecision::Owner => AccessLevel::Owner,
        CallDecision::AskPin | CallDecision::Guest => AccessLevel::Guest,
    };
    let now = state.store.clock().now();
    let token = new_stream_token();
    let token_hash = hash_stream_token(&token);
    let expires = now + state.config.stream_token_ttl;
    // A guest's daily limits: `Some(0)` refuses the call, a shorter limit goes on the row.
    let max_call_secs = match decision {
        CallDecision::Guest => {
            guest_limits::admit_call(&state, &webhook.call_sid, webhook.from.as_ref()).await?
        }
        CallDecision::Owner | CallDecision::AskPin => None,
    };
    let call = CallSession::new(
        webhook.call_sid.clone(),
        webhook.from.clone(),
        webhook.to.clone(),
        now,
    )
    .with_access(access)
    .with_max_call_secs(max_call_secs)
    .with_verified_caller(attestation == Attestation::FullyVerified);
    let created = if decision == CallDecision::AskPin {
        state
            .store
            .create_call_awaiting_pin(&call, &token_hash, expires)
            .await?
    } else {
        state.store.create_call(&call, &token_hash, expires).await?
    };
    tracing::info!(
        call_sid = %call.call_sid,
        from = ?call.from,
        access = access.as_str(),
        attestation = ?webhook.stir_verstat,
        pin = decision == CallDecision::AskPin,
        retried = matches!(created, Created::Existing(_)),
        max_call_secs,
        "incoming call"
    );
    if max_call_secs == Some(0) {
        tracing::warn!(call_sid = %call.call_sid, "guest call refused: daily limit reached");
        return Ok(xml(guest_limits::refused_call_twiml()?));
    }
    if decision == CallDecision::AskPin {
        // The stream token is issued only once the PIN step is over (`/voice/pin`).
        return gather_pin(&state, PIN_PROMPT);
    }
    if let Created::Existing(_) = created {
        // Twilio retried the webhook: the TwiML it will use is this one, so this token must
        // become the valid one. A token already used means the stream is up and the retry is
        // stale.
        rotate(&state, &call.call_sid, &token_hash, expires).await?;
    }
    connect(&state, stream_url, token, webhook.from.as_ref())
}

/// Makes `token_hash` the call's valid stream token, unless its stream already started.
async fn rotate(
    state: &AppState,
    sid: &CallSid,
    token_hash: &str,
    expires: time::OffsetDateTime,
) -> Result<(), ApiError> {
    match state
        .store
        .rotate_stream_token(sid, token_hash, expires)
        .await
    {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict(_)) => Err(ApiError::Conflict(format!(
            "call {sid} is already streaming"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// `<Connect><Stream>` with the token and the caller's number.
fn connect(
    state: &AppState,
    stream_url: &str,
    token: String,
    from: Option<&PhoneNumber>,
) -> Result<axum::response::Response, ApiError> {
    let mut parameters = vec![("token".to_owned(), token)];
    if let Some(from) = from {
        parameters.push(("caller".to_owned(), from.as_str().to_owned()));
    }
    let action = stream_ended::action_url(
        state
            .config
            .require_public_base_url()
            .map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    let base = state
        .config
        .require_public_base_url()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let twiml = super::recording::start_if_enabled(&state.config, base, Response::new())
        .and_then(|twiml| {
            twiml.push(Verb::ConnectStream {
                url: stream_url.to_owned(),
                parameters,
                action: Some(action),
            })
        })
        .map_err(|e| {
            ApiError::Internal(format!(
                "STREAM_PUBLIC_URL or PUBLIC_BASE_URL cannot be used in TwiML: {e}"
            ))
        })?;
    Ok(xml(twiml.render()))
}

/// The PIN prompt, calling back `/voice/pin`.
fn gather_pin(state: &AppState, prompt: &str) -> Result<axum::response::Response, ApiError> {
    let base = state
        .config
        .require_public_base_url()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let twiml = Response::new()
        .push(Verb::GatherDigits {
            action: format!("{}/voice/pin", base.trim_end_matches('/')),
            prompt: prompt.into(),
            timeout_secs: PIN_TIMEOUT_SECS,
        })
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .render();
    Ok(xml(twiml))
}

async fn pin(
    State(state): State<AppState>,
    SignedForm(form): SignedForm,
) -> Result<axum::response::Response, ApiError> {
    let gathered = PinDigits::from_form(&form).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let stream_url = state
        .config
        .require_stream_url()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let sid = &gathered.call_sid;
    let call = match state.store.get_call(sid).await {
        Ok(call) => call,
        Err(StoreError::NotFound) => {
            return Err(ApiError::NotFound(format!("no call {sid}")));
        }
        Err(e) => return Err(e.into()),
    };
    let digits = gathered.digits.trim_end_matches('#');
    let attempt = match (&state.config.owner_pin, digits.is_empty()) {
        (None, _) => PinAttempt::NotAsked,
        // No digits: the caller is not trying; go on as a guest without using an attempt.
        (_, true) => PinAttempt::Exhausted,
        (Some(expected), false) => {
            let right = pin_matches(expected.expose_secret(), digits);
            state.store.settle_pin_attempt(sid, right).await?
        }
    };
    match &attempt {
        PinAttempt::Accepted(_) => {
            tracing::info!(call_sid = %sid, "owner PIN accepted: owner call")
        }
        PinAttempt::Rejected { attempts } => {
            tracing::warn!(call_sid = %sid, attempts, max = MAX_PIN_ATTEMPTS, "owner PIN wrong");
            return gather_pin(&state, PIN_RETRY);
        }
        PinAttempt::Exhausted if !digits.is_empty() => {
            tracing::warn!(call_sid = %sid, "owner PIN wrong too many times: guest call")
        }
        PinAttempt::Exhausted => tracing::info!(call_sid = %sid, "no PIN entered: guest call"),
        PinAttempt::NotAsked => {
            tracing::warn!(call_sid = %sid, "PIN callback for a call not awaiting one")
        }
    }
    if call.access == AccessLevel::Guest && !matches!(attempt, PinAttempt::Accepted(_)) {
        // Going on as a guest: the guest's daily limits apply from here.
        if let Some(secs) = guest_limits::admit_call(&state, sid, call.from.as_ref()).await? {
            state.store.set_call_max_secs(sid, secs).await?;
            if secs == 0 {
                tracing::warn!(call_sid = %sid, "guest call refused: daily limit reached");
                return Ok(xml(guest_limits::refused_call_twiml()?));
            }
        }
    }
    let now = state.store.clock().now();
    let token = new_stream_token();
    let expires = now + state.config.stream_token_ttl;
    rotate(&state, sid, &hash_stream_token(&token), expires).await?;
    connect(&state, stream_url, token, call.from.as_ref())
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
        Ok(call) => {
            tracing::info!(call_sid = %call.call_sid, status = ?call.status, "call status");
            guest_limits::count_call_seconds(&state, &call, callback.call_duration).await;
        }
        // A callback for a call we never saw (e.g. rejected before the row was written):
        // acknowledge it so Twilio does not retry, and keep a trace.
        Err(StoreError::NotFound) => {
            tracing::warn!(call_sid = %callback.call_sid, "status for unknown call")
        }
        Err(e) => return Err(e.into()),
    }
    Ok(StatusCode::NO_CONTENT)
}
