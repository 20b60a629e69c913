//! A loopback server speaking Google's wire formats: the OAuth token endpoint (refresh and
//! authorisation-code grants) and Calendar v3 (events list/get/insert/patch/delete, freeBusy),
//! with Google's error envelopes. Tests can expire the access token, revoke the refresh token,
//! inject one failure or hang, and read what was stored.

mod calendar;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::loopback::LoopbackServer;

/// The OAuth client the server accepts.
pub const CLIENT_ID: &str = "test-client.apps.googleusercontent.com";
/// Its secret.
pub const CLIENT_SECRET: &str = "test-client-secret";
/// The refresh token the server accepts until revoked.
pub const REFRESH_TOKEN: &str = "1//test-refresh-token";
/// The authorisation code the server exchanges (once) for [`CODE_REFRESH_TOKEN`].
pub const AUTH_CODE: &str = "4/test-auth-code";
/// The refresh token that [`AUTH_CODE`] grants.
pub const CODE_REFRESH_TOKEN: &str = "1//granted-by-code";
/// The calendar id that exists.
pub const CALENDAR_ID: &str = "primary";

/// One injected fault for the next Calendar request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status and message in Google's error envelope.
    Error(u16, String),
    /// Never answer (until the client gives up).
    Hang,
}

#[derive(Default)]
struct Inner {
    /// Events by id, including cancelled ones (Google keeps their ids).
    events: BTreeMap<String, Value>,
    /// The access token currently valid, if any.
    access_token: Option<String>,
    refresh_revoked: bool,
    code_used: bool,
    refreshes: u32,
    next_id: u64,
    fault: Option<Fault>,
    /// `METHOD path?query` of each Calendar request.
    log: Vec<String>,
    /// Form bodies received by the token endpoint.
    token_requests: Vec<BTreeMap<String, String>>,
}

type Shared = Arc<Mutex<Inner>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Inner> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// Google's error envelope.
fn google_error(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reason = match status {
        401 => "authError",
        404 => "notFound",
        409 => "duplicate",
        410 => "deleted",
        _ => "backendError",
    };
    let body = json!({"error": {"code": status, "message": message,
        "errors": [{"domain": "global", "reason": reason, "message": message}]}});
    (code, Json(body)).into_response()
}

/// `POST /token` as `oauth2.googleapis.com` answers it.
async fn token(
    State(shared): State<Shared>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let mut inner = lock(&shared);
    inner.token_requests.push(form.clone());
    let oauth_error = |error: &str, description: &str| {
        let body = json!({"error": error, "error_description": description});
        (StatusCode::BAD_REQUEST, Json(body)).into_response()
    };
    if form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || form.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        let body = json!({"error": "invalid_client", "error_description": "Unauthorized"});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    inner.next_id += 1;
    let access = format!("ya29.test-{}", inner.next_id);
    match form.get("grant_type").map(String::as_str) {
        Some("refresh_token") => {
            if inner.refresh_revoked
                || form.get("refresh_token").map(String::as_str) != Some(REFRESH_TOKEN)
            {
                return oauth_error("invalid_grant", "Token has been expired or revoked.");
            }
            inner.refreshes += 1;
            inner.access_token = Some(access.clone());
            Json(
                json!({"access_token": access, "expires_in": 3599, "token_type": "Bearer",
                "scope": "https://www.googleapis.com/auth/calendar.events"}),
            )
            .into_response()
        }
        Some("authorization_code") => {
            if inner.code_used || form.get("code").map(String::as_str) != Some(AUTH_CODE) {
                return oauth_error("invalid_grant", "Malformed auth code.");
            }
            if form.get("redirect_uri").is_none_or(|u| u.is_empty()) {
                return oauth_error("invalid_request", "Missing parameter: redirect_uri");
            }
            inner.code_used = true;
            Json(json!({"access_token": access, "expires_in": 3599, "token_type": "Bearer",
                "refresh_token": CODE_REFRESH_TOKEN, "scope": "https://www.googleapis.com/auth/calendar.events"}))
            .into_response()
        }
        _ => oauth_error("unsupported_grant_type", "Invalid grant_type"),
    }
}

/// The running server; stops when dropped.
pub struct GoogleTestServer {
    server: LoopbackServer,
    shared: Shared,
}

impl GoogleTestServer {
    /// Starts on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let shared: Shared = Arc::default();
        let app = Router::new()
            .route("/token", post(token))
            .route("/calendar/v3/freeBusy", post(calendar::free_busy))
            .route(
                "/calendar/v3/calendars/{calendar}/events",
                get(calendar::list).post(calendar::insert),
            )
            .route(
                "/calendar/v3/calendars/{calendar}/events/{id}",
                get(calendar::get_one)
                    .patch(calendar::patch)
                    .delete(calendar::delete),
            )
            .with_state(shared.clone());
        Ok(Self {
            server: LoopbackServer::serve(app).await?,
            shared,
        })
    }

    /// The token endpoint (`GOOGLE_TOKEN_URL`).
    pub fn token_url(&self) -> String {
        format!("{}/token", self.server.base_url())
    }

    /// The Calendar API root (`GOOGLE_CALENDAR_BASE_URL`).
    pub fn calendar_base_url(&self) -> String {
        format!("{}/calendar/v3", self.server.base_url())
    }

    /// Makes the current access token invalid, as Google does when it expires early.
    pub fn expire_access_token(&self) {
        lock(&self.shared).access_token = None;
    }

    /// Revokes the refresh token: further refreshes get `invalid_grant`.
    pub fn revoke_refresh_token(&self) {
        let mut inner = lock(&self.shared);
        inner.refresh_revoked = true;
        inner.access_token = None;
    }

    /// Makes the next Calendar request fail this way.
    pub fn inject(&self, fault: Fault) {
        lock(&self.shared).fault = Some(fault);
    }

    /// How many refresh-token grants succeeded.
    pub fn refreshes(&self) -> u32 {
        lock(&self.shared).refreshes
    }

    /// Form bodies the token endpoint received.
    pub fn token_requests(&self) -> Vec<BTreeMap<String, String>> {
        lock(&self.shared).token_requests.clone()
    }

    /// Events not cancelled, as Google stores them.
    pub fn live_events(&self) -> Vec<Value> {
        let inner = lock(&self.shared);
        inner
            .events
            .values()
            .filter(|e| e["status"] != "cancelled")
            .cloned()
            .collect()
    }

    /// Stores an event directly (e.g. an all-day one), as if made in Google's own UI.
    pub fn seed_event(&self, event: Value) {
        let mut inner = lock(&self.shared);
        if let Some(id) = event["id"].as_str() {
            inner.events.insert(id.to_owned(), event);
        }
    }

    /// `METHOD path?query` of each Calendar request so far.
    pub fn calendar_requests(&self) -> Vec<String> {
        lock(&self.shared).log.clone()
    }
}
