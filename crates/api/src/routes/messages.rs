//! `POST /sms/send`, `GET /sms/list`, `GET /sms/details/{sid}`, `POST /email/send`,
//! `GET /email/inbox`.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use phone_core::PhoneNumber;
use phone_core::ports::{EmailMessage, PortError, SmsMessage, SmsQuery};
use phone_core::tools::messages::{EmailArgs, SmsArgs};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::tool_call::{context, run};
use crate::error::ErrorBody;
use crate::extract::{JsonBody, QueryArgs};
use crate::idempotency::{IdempotencyKey, IdempotencyKeyHeader};
use crate::{ApiError, AppState};

/// The SMS router (`sms` Lambda), with the incoming-message webhook.
pub fn sms_routes(state: AppState) -> Router {
    Router::new()
        .route("/sms/send", post(send_sms))
        .route("/sms/list", get(list_sms))
        .route("/sms/details/{sid}", get(sms_details))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::require_api_key,
        ))
        .with_state(state.clone())
        .merge(super::sms_incoming::routes(state))
}

/// The email router (`email` Lambda).
pub fn email_routes(state: AppState) -> Router {
    Router::new()
        .route("/email/send", post(send_email))
        .route("/email/inbox", get(inbox))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::require_api_key,
        ))
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

/// What `send_sms` answers.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsSent {
    /// The message handed to Twilio.
    pub sent: SentSms,
}

/// A message handed to Twilio.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SentSms {
    /// Twilio's `SM…` id.
    pub sid: String,
    /// The recipient, masked.
    pub to: String,
    /// Twilio's status (`queued`, …).
    pub status: String,
}

/// What `send_email` answers.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailSent {
    /// The message sent.
    pub sent: SentEmail,
}

/// An email sent.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SentEmail {
    /// The mail service's id for it.
    pub id: String,
    /// The bare addresses it went to.
    pub to: Vec<String>,
}

/// `GET /sms/list`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SmsList {
    /// Newest first.
    pub messages: Vec<SmsMessage>,
}

/// `GET /sms/details/{sid}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SmsDetails {
    /// The message.
    pub message: SmsMessage,
}

/// `GET /email/inbox`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Inbox {
    /// Newest first.
    pub messages: Vec<EmailMessage>,
}

/// Sends a text (`send_sms`) through Twilio; a number that texted STOP is refused.
#[utoipa::path(post, path = "/sms/send", tag = "messages",
    params(IdempotencyKeyHeader),
    request_body = SmsArgs,
    responses(
        (status = 200, description = "Handed to Twilio", body = SmsSent),
        (status = 400, description = "A bad argument (or an opted-out number), named in the message", body = ErrorBody),
        (status = 409, description = "The same Idempotency-Key is still running", body = ErrorBody),
        (status = 422, description = "The Idempotency-Key was used for another request", body = ErrorBody),
        (status = 502, description = "Twilio failed", body = ErrorBody),
    ))]
async fn send_sms(
    State(state): State<AppState>,
    key: IdempotencyKey,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let ctx = context(&state, &key)?;
    run(&ctx, "send_sms", &body, &key).await
}

/// The query of `GET /sms/list`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only messages to this E.164 number (URL-encode the `+`).
    to: Option<String>,
    /// Only messages from this E.164 number.
    from: Option<String>,
    /// How many (default 20; clamped to 1..=100).
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4294967295_i64)]
    limit: Option<u32>,
}

fn number(field: &str, raw: Option<String>) -> Result<Option<PhoneNumber>, ApiError> {
    raw.map(|r| PhoneNumber::parse(&r).map_err(|e| ApiError::BadRequest(format!("`{field}`: {e}"))))
        .transpose()
}

/// Lists recent texts from Twilio.
#[utoipa::path(get, path = "/sms/list", tag = "messages",
    params(ListQuery),
    responses(
        (status = 200, description = "The messages", body = SmsList),
        (status = 400, description = "A bad argument, named in the message", body = ErrorBody),
        (status = 502, description = "Twilio failed", body = ErrorBody),
    ))]
async fn list_sms(
    State(state): State<AppState>,
    QueryArgs(q): QueryArgs<ListQuery>,
) -> Result<Json<SmsList>, ApiError> {
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
    Ok(Json(SmsList { messages }))
}

/// One text, by its sid.
#[utoipa::path(get, path = "/sms/details/{sid}", tag = "messages",
    params(("sid" = String, Path, description = "The message's sid (SM…)", pattern = "^[A-Za-z0-9]{1,64}$")),
    responses(
        (status = 200, description = "The message", body = SmsDetails),
        (status = 400, description = "Not a message sid", body = ErrorBody),
        (status = 404, description = "No such message", body = ErrorBody),
        (status = 502, description = "Twilio failed", body = ErrorBody),
    ))]
async fn sms_details(
    State(state): State<AppState>,
    Path(sid): Path<String>,
) -> Result<Json<SmsDetails>, ApiError> {
    if sid.is_empty() || sid.len() > 64 || !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ApiError::BadRequest(
            "`sid` must be a message sid like SM…".into(),
        ));
    }
    let message = ports(&state)?
        .messaging
        .get_sms(&sid)
        .await
        .map_err(port_error)?;
    Ok(Json(SmsDetails { message }))
}

/// Sends an email (`send_email`) through Gmail.
#[utoipa::path(post, path = "/email/send", tag = "messages",
    params(IdempotencyKeyHeader),
    request_body = EmailArgs,
    responses(
        (status = 200, description = "Sent", body = EmailSent),
        (status = 400, description = "A bad argument, named in the message", body = ErrorBody),
        (status = 409, description = "The same Idempotency-Key is still running", body = ErrorBody),
        (status = 422, description = "The Idempotency-Key was used for another request", body = ErrorBody),
        (status = 502, description = "Gmail failed", body = ErrorBody),
    ))]
async fn send_email(
    State(state): State<AppState>,
    key: IdempotencyKey,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let ctx = context(&state, &key)?;
    run(&ctx, "send_email", &body, &key).await
}

/// The query of `GET /email/inbox`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct InboxQuery {
    /// A Gmail search (default `newer_than:7d`).
    #[param(max_length = 500)]
    q: Option<String>,
    /// How many (default 10; clamped to 1..=50).
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4294967295_i64)]
    max: Option<u32>,
}

/// Recent received mail.
#[utoipa::path(get, path = "/email/inbox", tag = "messages",
    params(InboxQuery),
    responses(
        (status = 200, description = "The messages", body = Inbox),
        (status = 400, description = "A bad argument, named in the message", body = ErrorBody),
        (status = 502, description = "Gmail failed", body = ErrorBody),
    ))]
async fn inbox(
    State(state): State<AppState>,
    QueryArgs(q): QueryArgs<InboxQuery>,
) -> Result<Json<Inbox>, ApiError> {
    let query = q.q.unwrap_or_else(|| "newer_than:7d".into());
    if query.chars().count() > 500 {
        return Err(ApiError::BadRequest(
            "`q` is longer than 500 characters".into(),
        ));
    }
    let messages = ports(&state)?
        .mail
        .list_recent(&query, q.max.unwrap_or(10).clamp(1, 50))
        .await
        .map_err(port_error)?;
    Ok(Json(Inbox { messages }))
}

/// The handlers' paths, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(send_sms, list_sms, sms_details, send_email, inbox))]
pub(crate) struct Paths;
