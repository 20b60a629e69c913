//! `GET /auth/google` and `GET /auth/google/callback`: connecting the assistant to a Google
//! account without hand-made scripts.
//!
//! Starting the flow needs the REST API key (`Authorization: Bearer`), because whoever
//! completes it decides whose calendar and mail the assistant uses. The answer is a redirect to
//! Google's consent screen with offline access, forced consent and a signed, expiring `state`;
//! the callback accepts only such a state, and each one once (its nonce is recorded in the store
//! until it expires), exchanges the code and stores the refresh token through a
//! `phone_wiring::token_sink::RefreshTokenSink`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use phone_google::OAuthError;
use serde::Deserialize;

use crate::error::ErrorBody;
use crate::{ApiError, AppState};

pub use phone_wiring::{GoogleAuth, STATE_LIFETIME};

/// The routes' state: the app (for the API key) and the Google flow, or why it is not set up.
#[derive(Clone)]
pub struct AuthState {
    app: AppState,
    google: Result<Arc<GoogleAuth>, String>,
}

impl FromRef<AuthState> for AppState {
    fn from_ref(state: &AuthState) -> AppState {
        state.app.clone()
    }
}

/// The auth router. `google` is the flow, or the configuration error that prevents it (which
/// both routes then report with 503, naming the missing key).
pub fn routes(app: AppState, google: Result<GoogleAuth, String>) -> Router {
    let state = AuthState {
        app: app.clone(),
        google: google.map(Arc::new),
    };
    // Only starting the flow needs the API key; the callback's credential is its signed state.
    Router::new()
        .route("/auth/google", get(start))
        .route_layer(axum::middleware::from_fn_with_state(
            app,
            crate::auth::require_api_key,
        ))
        .route("/auth/google/callback", get(callback))
        .with_state(state)
}

fn flow(state: &AuthState) -> Result<&GoogleAuth, ApiError> {
    state.google.as_deref().map_err(|reason| {
        ApiError::Unavailable(format!("Google authorisation is not configured: {reason}"))
    })
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Starts connecting a Google account: 302 to Google's consent screen.
#[utoipa::path(get, path = "/auth/google", tag = "google",
    responses(
        (status = 302, description = "To Google's consent screen (`Location`)",
            headers(("Location" = String, description = "Google's consent screen"))),
        (status = 503, description = "Google authorisation is not configured (the message names the missing key)", body = ErrorBody),
    ))]
async fn start(State(state): State<AuthState>) -> Result<Response, ApiError> {
    let google = flow(&state)?;
    let url = google
        .consent
        .consent_url(&google.redirect_uri, &google.signer.issue(unix_now()))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    tracing::info!("google consent flow started");
    Ok((StatusCode::FOUND, [(header::LOCATION, url)]).into_response())
}

/// What Google appends to the redirect URI.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct CallbackQuery {
    /// The authorisation code.
    code: Option<String>,
    /// The signed state issued by `GET /auth/google`.
    state: Option<String>,
    /// Why consent was not given.
    error: Option<String>,
}

/// A short page for the person at the browser.
fn page(status: StatusCode, title: &str, detail: &str) -> Response {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let body = format!(
        "<!doctype html><meta charset=utf-8><title>{t}</title><h1>{t}</h1><p>{d}</p>",
        t = escape(title),
        d = escape(detail)
    );
    (status, Html(body)).into_response()
}

/// Google's redirect back (`?code=…&state=…` or `?error=…`): stores the refresh token and
/// answers a short HTML page. The signed, single-use `state` is the credential.
#[utoipa::path(get, path = "/auth/google/callback", tag = "google", security(()),
    params(CallbackQuery),
    responses(
        (status = 200, description = "The refresh token is stored", content_type = "text/html", body = String),
        (status = 400, description = "Consent declined, a missing state, a code Google refuses, or a state already used (an HTML page); a malformed query (JSON)",
            content((String = "text/html"), (ErrorBody = "application/json"))),
        (status = 403, description = "A tampered or expired state", content_type = "text/html", body = String),
        (status = 502, description = "The token endpoint failed or the token could not be stored", body = ErrorBody),
        (status = 503, description = "Google authorisation is not configured", body = ErrorBody),
    ))]
async fn callback(
    State(state): State<AuthState>,
    crate::extract::QueryArgs(query): crate::extract::QueryArgs<CallbackQuery>,
) -> Result<Response, ApiError> {
    let google = flow(&state)?;
    let Some(signed) = query.state.as_deref() else {
        return Ok(page(
            StatusCode::BAD_REQUEST,
            "Missing state",
            "Start again at /auth/google.",
        ));
    };
    let verified = match google.signer.verify(signed, unix_now()) {
        Ok(verified) => verified,
        Err(e) => {
            tracing::warn!(error = %e, "google callback with a bad state refused");
            return Ok(page(
                StatusCode::FORBIDDEN,
                "Authorisation refused",
                &format!("{e}. Start again at /auth/google."),
            ));
        }
    };
    // Single use: the nonce is recorded until the state expires, so a replayed callback URL
    // (from a browser history, a log or a proxy) cannot finish a second flow.
    let key = format!("oauth-state#{}", verified.nonce);
    let expires_at = i64::try_from(verified.expires_at).unwrap_or(i64::MAX);
    if !state.app.store.claim_key_until(&key, expires_at).await? {
        tracing::warn!("google callback with an already used state refused");
        return Ok(page(
            StatusCode::BAD_REQUEST,
            "Link already used",
            "This authorisation was completed or refused already. Start again at /auth/google.",
        ));
    }
    if let Some(error) = query.error.as_deref() {
        tracing::info!(error, "google consent declined");
        let detail = format!(
            "Google answered '{}'. Nothing was changed.",
            error.chars().take(100).collect::<String>()
        );
        return Ok(page(StatusCode::BAD_REQUEST, "Consent not given", &detail));
    }
    let Some(code) = query
        .code
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= 2048)
    else {
        return Ok(page(
            StatusCode::BAD_REQUEST,
            "Missing code",
            "Start again at /auth/google.",
        ));
    };
    let token = match google
        .consent
        .exchange_code(&google.http, code, &google.redirect_uri)
        .await
    {
        Ok(token) => token,
        Err(OAuthError::Revoked) => {
            return Ok(page(
                StatusCode::BAD_REQUEST,
                "Code not accepted",
                "Google refused the code (used already or expired). Start again at /auth/google.",
            ));
        }
        Err(e) => {
            tracing::warn!(error = %e, "google code exchange failed");
            return Err(ApiError::Upstream(e.to_string()));
        }
    };
    google.sink.save(&token).await.map_err(|e| {
        tracing::error!(error = %e, sink = %google.sink.describe(), "refresh token not stored");
        ApiError::Upstream(format!("the refresh token could not be stored: {e}"))
    })?;
    tracing::info!(sink = %google.sink.describe(), "google refresh token stored");
    Ok(page(
        StatusCode::OK,
        "Google account connected",
        &format!(
            "The refresh token is stored in the {}. New processes (the next Lambda cold start, \
             or phone-agent serve once restarted) use Google Calendar and Gmail.",
            google.sink.describe()
        ),
    ))
}

/// The handlers' paths, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(start, callback))]
pub(crate) struct Paths;
