//! `POST /sms/send`, `GET /sms/list`, `GET /sms/details/{sid}`, `POST /email/send`,
//! `GET /email/inbox`.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use phone_core::PhoneNumber;
use phone_core::ports::{PortError, SmsQuery};
use serde::Deserialize;
use serde_json::{Value, json};

use super::tool_call::{context, run};
use crate::auth::ApiKeyAuth;
use crate::idempotency::IdempotencyKey;
use crate::{ApiError, AppState};

/// The SMS router (`sms` Lambda), with the incoming-message webhook.
pub fn sms_routes(state: AppState) -> Router {
    Router::new()
        .route("/sms/send", post(send_sms))
        .route("/sms/list", get(list_sms))
        .route("/sms/details/{sid}", get(sms_details))
        .with_state(state.clone())
        .merge(super::sms_incoming::routes(state))
}

/// The email router (`email` Lambda).
pub fn email_routes(state: AppState) -> Router {
    Router::new()
        .route("/email/send", post(send_email))
        .route("/email/inbox", get(inbox))
        .with_state(state)
}

fn port_error(e: PortError) -> ApiError {
    match e {
        PortError::NotFound(what) => ApiError::NotFound(what),
        PortError::Invalid(why) => ApiError::BadRequest(why),
        other => ApiError::Upstream(other.to_string()),
    }
}

fn ports(state: &AppState) -> Result<&phone_core::tools::ToolPorts, ApiError> {
    state
        .tools
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("tools are not configured on this deployment".into()))
}

async fn send_sms(
    _auth: ApiKeyAuth,
    State(state): State<AppState>,
    key: IdempotencyKey,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let ctx = context(&state, &key)?;
    run(&ctx, "send_sms", &body, &key).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    to: Option<String>,
    from: Option<String>,
    limit: Option<u32>,
}

fn number(field: &str, raw: Option<String>) -> Result<Option<PhoneNumber>, ApiError> {
    raw.map(|r| PhoneNumber::parse(&r).map_err(|e| ApiError::BadRequest(format!("`{field}`: {e}"))))
        .transpose()
}

async fn list_sms(
    _auth: ApiKeyAuth,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let query = SmsQuery {
        to: number("to", q.to)?,
        from: number("from", q.from)?,
        limit: q.limit.unwrap_or(20).clamp(1, 100),
    };
    let messages = ports(&state)?
        .messaging
        .list_sms(&query)
        .await
        .map_err(port_error)?;
    Ok(Json(json!({ "messages": messages })))
}

async fn sms_details(
    _auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(sid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if sid.len() > 64 || !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ApiError::BadRequest(
            "`sid` must be a message sid like SM…".into(),
        ));
    }
    let message = ports(&state)?
        .messaging
        .get_sms(&sid)
        .await
        .map_err(port_error)?;
    Ok(Json(json!({ "message": message })))
}

async fn send_email(
    _auth: ApiKeyAuth,
    State(state): State<AppState>,
    key: IdempotencyKey,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let ctx = context(&state, &key)?;
    run(&ctx, "send_email", &body, &key).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InboxQuery {
    q: Option<String>,
    max: Option<u32>,
}

async fn inbox(
    _auth: ApiKeyAuth,
    State(state): State<AppState>,
    Query(q): Query<InboxQuery>,
) -> Result<Json<Value>, ApiError> {
    let query = q.q.unwrap_or_else(|| "newer_than:7d".into());
    if query.len() > 500 {
        return Err(ApiError::BadRequest(
            "`q` is longer than 500 characters".into(),
        ));
    }
    let messages = ports(&state)?
        .mail
        .list_recent(&query, q.max.unwrap_or(10).clamp(1, 50))
        .await
        .map_err(port_error)?;
    Ok(Json(json!({ "messages": messages })))
}
