//! `Authorization: Bearer <API_KEY>` on every REST route, as an extractor.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::{ApiError, AppState};

/// Proof that the request carried the configured API key. Handlers take it as an argument;
/// a request without it never reaches them.
#[derive(Debug, Clone, Copy)]
pub struct ApiKeyAuth;

impl<S> FromRequestParts<S> for ApiKeyAuth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        // No key configured means nobody is allowed in: fail closed.
        let Some(expected) = state.config.api_key.as_ref() else {
            tracing::warn!("REST request refused: API_KEY is not configured");
            return Err(ApiError::Unauthorized);
        };
        let presented = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError::Unauthorized)?;
        let matches: bool = presented
            .as_bytes()
            .ct_eq(expected.expose_secret().as_bytes())
            .into();
        if matches {
            Ok(Self)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}
