//! `Authorization: Bearer <API_KEY>` on every REST route, as a route layer
//! ([`require_api_key`]): a request without the key never reaches a handler, and handlers do
//! not mention it. The console's read layer shares the check ([`check_api_key`]).

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::{ApiError, AppState};

/// The security scheme's name in the OpenAPI document.
pub const SCHEME: &str = "api_key";

/// Whether `headers` carry the configured API key (constant-time). No key configured means
/// nobody is allowed in: fail closed.
pub fn check_api_key(headers: &HeaderMap, state: &AppState) -> Result<(), ApiError> {
    let Some(expected) = state.config.api_key.as_ref() else {
        tracing::warn!("REST request refused: API_KEY is not configured");
        return Err(ApiError::Unauthorized);
    };
    let presented = headers
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
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// The route layer of every REST router:
/// `.route_layer(axum::middleware::from_fn_with_state(state, auth::require_api_key))`.
/// 401 in the JSON error shape without the key; the request goes on unchanged with it.
pub async fn require_api_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    check_api_key(request.headers(), &state)?;
    Ok(next.run(request).await)
}
