//! `SignedForm`: a Twilio webhook form whose `X-Twilio-Signature` has been verified.
//!
//! The URL Twilio signed is rebuilt from `PUBLIC_BASE_URL` and the request path, never from the
//! `Host` header: behind API Gateway or a proxy the Host is not what Twilio called, and an
//! attacker controls it. Unsigned or tampered requests are refused with 403 before any handler
//! runs, so nothing is written for them.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use phone_twilio::signature::RequestValidator;
use secrecy::ExposeSecret;

use crate::{ApiError, AppState};

/// Largest webhook body accepted. Twilio's forms are a few kB; anything bigger is not Twilio.
pub const MAX_WEBHOOK_BYTES: usize = crate::body_limit::MAX_BODY_BYTES;

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
        let signature = req
            .headers()
            .get("x-twilio-signature")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
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
        let Some(signature) = signature else {
            tracing::warn!(%path, "Twilio webhook without X-Twilio-Signature refused");
            return Err(ApiError::Forbidden);
        };
        let params: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|e| ApiError::BadRequest(format!("form body: {e}")))?;
        let validator = RequestValidator::new(token.expose_secret());
        if !validator.validate_form(&url, &params, &signature) {
            tracing::warn!(%path, "Twilio webhook with an invalid signature refused");
            return Err(ApiError::Forbidden);
        }
        Ok(Self(params))
    }
}
