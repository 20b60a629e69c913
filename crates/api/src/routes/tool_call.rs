//! Running a catalog tool for a REST request, and turning its outcome into a response.

use axum::Json;
use phone_core::AccessLevel;
use phone_core::tools::{ErrorKind, ToolContext, ToolOutcome, run_tool};
use serde_json::Value;

use crate::idempotency::IdempotencyKey;
use crate::{ApiError, AppState};

/// The tool context of one REST request. Its tool calls are recorded under `REST#<key>`, so a
/// retry with the same `Idempotency-Key` never runs a write twice.
pub fn context(state: &AppState, key: &IdempotencyKey) -> Result<ToolContext, ApiError> {
    let ports = state.tools.as_ref().ok_or_else(|| {
        ApiError::Unavailable("tools are not configured on this deployment".into())
    })?;
    // The REST API key is the owner's: every tool.
    Ok(ports.context_as(
        &state.store,
        AccessLevel::Owner,
        format!("REST#{}", key.as_str()),
        None,
        false,
    ))
}

/// Runs `tool` with `arguments` and maps failures: a key reused for another request 422, bad
/// arguments 400, unknown ids 404, upstream failures 502 (with the upstream's reason), a retry
/// of a running request 409.
pub async fn run(
    ctx: &ToolContext,
    tool: &str,
    arguments: &Value,
    key: &IdempotencyKey,
) -> Result<Json<Value>, ApiError> {
    key.bind(&ctx.store, tool, arguments).await?;
    let outcome: ToolOutcome = run_tool(ctx, tool, &arguments.to_string(), key.as_str()).await;
    let message = || {
        outcome.result["error"]
            .as_str()
            .unwrap_or("failed")
            .to_owned()
    };
    match outcome.error_kind() {
        None => Ok(Json(outcome.result)),
        Some(ErrorKind::InvalidArguments) => Err(ApiError::BadRequest(message())),
        Some(ErrorKind::NotFound) => Err(ApiError::NotFound(message())),
        Some(ErrorKind::Upstream) => Err(ApiError::Upstream(message())),
        Some(ErrorKind::InProgress) => Err(ApiError::Conflict(message())),
        // The REST key is the owner, who may run every tool; kept total for safety.
        Some(ErrorKind::NotAllowed | ErrorKind::LimitReached) => Err(ApiError::Forbidden),
    }
}
