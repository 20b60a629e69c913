//! `SignedForm`: a Twilio webhook form whose `X-Twilio-Signature` has been verified.
//!
//! The URL Twilio signed is rebuilt from `PUBLIC_BASE_URL` and the request path, never from the
//! `Host` header: behind API Gateway or a proxy the Host is not what Twilio called, and an
//! attacker controls it. Unsigned or tampered requests are refused with 403 before any handler
//! runs, so nothing is written for them. A signed body that is not a form
//! (`application/x-www-form-urlencoded`, as Twilio always sends) or does not decode is a 400.
//!
//! The secret is the auth token (HMAC-SHA1), or, for a request carrying
//! `X-Twilio-Webhooks-Signature-Settings` (a Webhooks Rule matched), the SharedKey secret
//! `TWILIO_WEBHOOK_SHARED_KEY_SECRET` with the header's algorithm; such a request is refused
//! when that secret is not configured (see `phone_twilio::signature`).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use phone_config::keys;
use phone_twilio::signature::{
    Refusal, RequestValidator, SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER, SignatureHeaders,
};
use secrecy::ExposeSecret;

use crate::{ApiError, AppState};

/// Largest webhook body accepted. Twilio's forms are a few kB; anything bigger is not Twilio.
pub const MAX_WEBHOOK_BYTES: usize = phone_http::layers::MAX_BODY_BYTES;

/// The only content type Twilio posts webhooks in.
const FORM_TYPE: &str = "application/x-www-form-urlencoded";

/// The decoded form fields of a verified Twilio webhook, in the order they arrived.
#[derive(Debug, Clone)]
pub struct SignedForm(pub Vec<(String, String)>);

impl FromRequest<AppState> for SignedForm {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let config = &state.config;
        let token = config
            .require_twilio_auth_token()
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let base = config
            .require_public_base_url()
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .to_owned();
        let url = format!("{}{}", base.trim_end_matches('/'), path);
        let headers = req.headers();
        let signature = headers.get(SIGNATURE_HEADER).map(|v| v.as_bytes().to_vec());
        let settings = headers
            .get(SIGNATURE_SETTINGS_HEADER)
            .map(|v| v.as_bytes().to_vec());
        let is_form = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(FORM_TYPE));
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(MAX_WEBHOOK_BYTES)
            } else {
                ApiError::BadRequest(format!("reading body: {e}"))
            }
        })?;
        if body.len() > MAX_WEBHOOK_BYTES {
            return Err(ApiError::PayloadTooLarge(MAX_WEBHOOK_BYTES));
        }
        if signature.is_none() {
            tracing::warn!(%path, "Twilio webhook without X-Twilio-Signature refused");
            return Err(ApiError::Forbidden);
        }
        // Twilio always posts a form; a body in another type is not Twilio's, however it parses.
        if !is_form {
            tracing::warn!(%path, "Twilio webhook without a form content type refused");
            return Err(ApiError::BadRequest(format!(
                "Twilio webhooks are {FORM_TYPE}"
            )));
        }
        let params: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|e| ApiError::BadRequest(format!("form body: {e}")))?;
        let mut validator = RequestValidator::new(token.expose_secret());
        if let Some(shared) = &config.twilio.webhook_shared_key {
            validator = validator.with_shared_key(shared.expose_secret());
        }
        let headers = SignatureHeaders {
            signature: signature.as_deref(),
            settings: settings.as_deref(),
        };
        if let Err(refusal) = validator.validate_form(&url, &params, &headers) {
            log_refusal(&path, &refusal);
            return Err(ApiError::Forbidden);
        }
        Ok(Self(params))
    }
}

/// One log line per refused webhook; a missing SharedKey secret is a configuration error.
fn log_refusal(path: &str, refusal: &Refusal) {
    if let Refusal::NoSharedKey { .. } = refusal {
        tracing::error!(
            %path,
            reason = %refusal,
            setting = keys::TWILIO_WEBHOOK_SHARED_KEY_SECRET,
            "Twilio webhook signed with a SharedKey refused: set the SharedKey's secret"
        );
    } else {
        tracing::warn!(%path, reason = %refusal, "Twilio webhook with an invalid signature refused");
    }
}
