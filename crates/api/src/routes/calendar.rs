//! `GET/POST /calendar/events`, `PATCH/DELETE /calendar/events/{id}`: the calendar tools over
//! REST, with the same arguments (local wall times in the configured zone).

use axum::extract::{Path, Query, State};
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde_json::{Map, Value};

use super::tool_call::{context, run};
use crate::auth::ApiKeyAuth;
use crate::idempotency::IdempotencyKey;
use crate::{ApiError, AppState};

/// The calendar router.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/calendar/events", get(list).post(create))
        .route("/calendar/events/{id}", patch(update).delete(remove))
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

async fn list(
    _auth: ApiKeyAuth,
    State(state): State<AppState>,
    key: IdempotencyKey,
    Query(query): Query<Map<String, Value>>,
) -> Result<Json<Value>, ApiError> {
    let ctx = context(&state, &key)?;
    run(&ctx, "list_events", &Value::Object(query), &key).await
}

async fn create(
    _auth: ApiKeyAuth,
    State(state): State<AppState>,
    key: IdempotencyKey,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let ctx = context(&state, &key)?;
    run(&ctx, "create_event", &Value::Object(object(body)?), &key).await
}

async fn update(
    _auth: ApiKeyAuth,
    State(state): State<AppState>,
    key: IdempotencyKey,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let ctx = context(&state, &key)?;
    let mut args = object(body)?;
    args.insert("event_id".into(), Value::String(id));
    run(&ctx, "update_event", &Value::Object(args), &key).await
}

async fn remove(
    _auth: ApiKeyAuth,
    State(state): State<AppState>,
    key: IdempotencyKey,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ctx = context(&state, &key)?;
    let mut args = Map::new();
    args.insert("event_id".into(), Value::String(id));
    run(&ctx, "delete_event", &Value::Object(args), &key).await
}
