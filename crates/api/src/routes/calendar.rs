//! `GET/POST /calendar/events`, `PATCH/DELETE /calendar/events/{id}`: the calendar tools over
//! REST, with the same arguments (local wall times in the configured zone).

use axum::extract::{Path, State};
use axum::routing::{get, patch};
use axum::{Json, Router};
use phone_core::tools::calendar::{CreateArgs, ListArgs};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::tool_call::{context, run};
use crate::extract::{JsonBody, QueryArgs};
use crate::idempotency::IdempotencyKey;
use crate::{ApiError, AppState};

/// An event as the calendar tools show it (times are local wall times with the zone).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventView {
    /// The calendar's id for it.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Start, like `2026-11-26T10:00 (Europe/Paris)`.
    pub start: String,
    /// End, in the same form.
    pub end: String,
    /// Where.
    pub location: Option<String>,
    /// Invited addresses.
    pub attendees: Vec<String>,
    /// Popup reminders, minutes before the start; null when the calendar's defaults apply.
    pub reminders_minutes: Option<Vec<u32>>,
}

/// `GET /calendar/events`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventList {
    /// The zone of every time shown.
    pub time_zone: String,
    /// The range's start.
    pub from: String,
    /// The range's end.
    pub to: String,
    /// The events in it.
    pub events: Vec<EventView>,
}

/// `POST /calendar/events`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventCreated {
    /// The new event.
    pub created: EventView,
}

/// `PATCH /calendar/events/{id}`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventUpdated {
    /// The event as it is now.
    pub updated: EventView,
}

/// `DELETE /calendar/events/{id}`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventDeleted {
    /// The id of the deleted event.
    pub deleted: String,
}

/// `update_event`'s arguments without `event_id`: the body of `PATCH /calendar/events/{id}`.
/// (The handler adds the id and the tool parses the whole as [`UpdateArgs`].)
/// (`phone_core::tools::calendar::UpdateArgs`.)
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // a schema only: the tool parses the body (with the id) as `UpdateArgs`
pub struct EventChange {
    /// A new title.
    #[schema(min_length = 1, max_length = 200)]
    title: Option<String>,
    /// A new start (local wall time); the length is kept unless `end` or `duration_minutes`
    /// is given.
    start: Option<String>,
    /// A new end (local wall time), with `start`.
    end: Option<String>,
    /// A new length, with `start`.
    #[schema(minimum = 5, maximum = 1440)]
    duration_minutes: Option<i64>,
    /// A new location.
    #[schema(min_length = 1, max_length = 2000)]
    location: Option<String>,
    /// A new description.
    #[schema(min_length = 1, max_length = 2000)]
    description: Option<String>,
    /// New popup reminders, minutes before the start (at most 5, each at most 40320).
    #[schema(schema_with = phone_core::tools::calendar::reminders_schema)]
    reminders_minutes: Option<Vec<u32>>,
}

/// The calendar router.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/calendar/events", get(list).post(create))
        .route("/calendar/events/{id}", patch(update).delete(remove))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::require_api_key,
        ))
        .with_state(state)
}

fn object(body: Value) -> Result<Map<String, Value>, ApiError> {
    match body {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::BadRequest(
            "the body must be a JSON object".into(),
        )),
    }
}

/// Lists the events of a day (`day`), of a range (`start` and `end`), or of today.
#[utoipa::path(get, path = "/calendar/events", tag = "calendar",
    params(ListArgs, crate::idempotency::IdempotencyKeyHeader),
    responses(
        (status = 200, description = "The events", body = EventList),
        (status = 400, description = "A bad argument, named in the message", body = crate::error::ErrorBody),
        (status = 409, description = "The same Idempotency-Key is still running", body = crate::error::ErrorBody),
        (status = 422, description = "The Idempotency-Key was used for another request", body = crate::error::ErrorBody),
        (status = 502, description = "The calendar failed", body = crate::error::ErrorBody),
    ))]
async fn list(
    State(state): State<AppState>,
    key: IdempotencyKey,
    QueryArgs(query): QueryArgs<Map<String, Value>>,
) -> Result<Json<Value>, ApiError> {
    let ctx = context(&state, &key)?;
    run(&ctx, "list_events", &Value::Object(query), &key).await
}

/// Creates an event (`create_event`).
#[utoipa::path(post, path = "/calendar/events", tag = "calendar",
    params(crate::idempotency::IdempotencyKeyHeader),
    request_body = CreateArgs,
    responses(
        (status = 200, description = "The event was created", body = EventCreated),
        (status = 400, description = "A bad argument, named in the message", body = crate::error::ErrorBody),
        (status = 409, description = "The same Idempotency-Key is still running", body = crate::error::ErrorBody),
        (status = 422, description = "The Idempotency-Key was used for another request", body = crate::error::ErrorBody),
        (status = 502, description = "The calendar failed", body = crate::error::ErrorBody),
    ))]
async fn create(
    State(state): State<AppState>,
    key: IdempotencyKey,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let ctx = context(&state, &key)?;
    run(&ctx, "create_event", &Value::Object(object(body)?), &key).await
}

/// Changes an event (`update_event`): any of its fields.
#[utoipa::path(patch, path = "/calendar/events/{id}", tag = "calendar",
    params(
        ("id" = String, Path, description = "The event's id (from GET /calendar/events)", min_length = 1, max_length = 1024),
        crate::idempotency::IdempotencyKeyHeader,
    ),
    request_body = EventChange,
    responses(
        (status = 200, description = "The event was changed", body = EventUpdated),
        (status = 400, description = "A bad argument, named in the message", body = crate::error::ErrorBody),
        (status = 404, description = "No such event", body = crate::error::ErrorBody),
        (status = 409, description = "The same Idempotency-Key is still running", body = crate::error::ErrorBody),
        (status = 422, description = "The Idempotency-Key was used for another request", body = crate::error::ErrorBody),
        (status = 502, description = "The calendar failed", body = crate::error::ErrorBody),
    ))]
async fn update(
    State(state): State<AppState>,
    key: IdempotencyKey,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let ctx = context(&state, &key)?;
    let mut args = object(body)?;
    if args.contains_key("event_id") {
        return Err(ApiError::BadRequest(
            "the event id is in the path; the body must not carry `event_id`".into(),
        ));
    }
    args.insert("event_id".into(), Value::String(id));
    run(&ctx, "update_event", &Value::Object(args), &key).await
}

/// Deletes an event (`delete_event`).
#[utoipa::path(delete, path = "/calendar/events/{id}", tag = "calendar",
    params(
        ("id" = String, Path, description = "The event's id (from GET /calendar/events)", min_length = 1, max_length = 1024),
        crate::idempotency::IdempotencyKeyHeader,
    ),
    responses(
        (status = 200, description = "The event was deleted", body = EventDeleted),
        (status = 400, description = "A bad id", body = crate::error::ErrorBody),
        (status = 404, description = "No such event", body = crate::error::ErrorBody),
        (status = 409, description = "The same Idempotency-Key is still running", body = crate::error::ErrorBody),
        (status = 422, description = "The Idempotency-Key was used for another request", body = crate::error::ErrorBody),
        (status = 502, description = "The calendar failed", body = crate::error::ErrorBody),
    ))]
async fn remove(
    State(state): State<AppState>,
    key: IdempotencyKey,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ctx = context(&state, &key)?;
    let mut args = Map::new();
    args.insert("event_id".into(), Value::String(id));
    run(&ctx, "delete_event", &Value::Object(args), &key).await
}

/// The handlers' paths, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, update, remove))]
pub(crate) struct Paths;
