//! Running a catalog tool for a REST request, and turning its outcome into a response.

use axum::Json;
use axum::http::HeaderMap;
use phone_core::tools::{ErrorKind, ToolContext, ToolOutcome, run_tool};
use rand::RngCore;
use serde_json::Value;

use crate::{ApiError, AppState};

/// The tool context of one REST request. `Idempotency-Key` (if sent) makes retries of a write
/// safe: the same key never runs the tool twice.
pub fn context(state: &AppState, headers: &HeaderMap) -> Result<(ToolContext, String), ApiError> {
    let ports = state.tools.as_ref().ok_or_else(|| {
        ApiError::Unavailable("tools are not configured on this deployment".into())
    })?;
    let key = match headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
        Some(k) if !k.is_empty() && k.len() <= 128 && k.bytes().all(|b| b.is_ascii_graphic()) => {
            k.to_owned()
        }
        Some(_) => {
            return Err(ApiError::BadRequest(
                "Idempotency-Key must be 1 to 128 visible ASCII characters".into(),
            ));
        }
        None => {
            let mut bytes = [0u8; 12];
            rand::rng().fill_bytes(&mut bytes);
            hex::encode(bytes)
        }
    };
    let ctx = ports.context(&state.store, format!("REST#{key}"), None, false);
    Ok((ctx, key))
}

/// Runs `tool` with `arguments` and maps failures: bad arguments 400, unknown ids 404, upstream
/// failures 502 (with the upstream's reason), a retry of a running request 409.
pub async fn run(
    ctx: &ToolContext,
    tool: &str,
    arguments: &Value,
    request_id: &str,
) -> Result<Json<Value>, ApiError> {
    let outcome: ToolOutcome = run_tool(ctx, tool, &arguments.to_string(), request_id).await;
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
    }
}
