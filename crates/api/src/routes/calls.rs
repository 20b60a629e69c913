//! `GET /calls/{callSid}`: a call's row with stats, transcript, tool calls and cost.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use phone_core::store::ToolCallRecord;
use phone_core::store::{Keys, PageRequest};
use phone_core::{CallSession, CallSid, LatencyReport, Turn};
use serde::Serialize;

use crate::error::ErrorBody;
use crate::{ApiError, AppState};

/// Most turns and tool calls returned; a call long enough to exceed this is cut, and says so.
const MAX_ITEMS: u32 = 1000;

/// The response of `GET /calls/{callSid}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallReport {
    /// The call row (status, times, stats, usage, cost in nano-dollars).
    #[serde(flatten)]
    pub call: CallSession,
    /// Total cost in US dollars, for people.
    pub cost_usd: f64,
    /// The transcript, in order.
    pub transcript: Vec<Turn>,
    /// Tools the assistant ran.
    pub tool_calls: Vec<ToolCallRecord>,
    /// Per-turn latency and the call's percentiles (docs/observability.md, "Latency").
    pub latency: LatencyReport,
    /// True when the transcript or tool list was longer than returned.
    pub truncated: bool,
}

/// The router serving `GET /calls/{callSid}`.
pub fn routes(state: AppState) -> Router {
    crate::body_limit::limited(
        Router::new()
            .route("/calls/{call_sid}", get(get_call))
            .route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                crate::auth::require_api_key,
            ))
            .with_state(state),
    )
}

/// A call's row with its statistics, usage, cost, transcript and tool calls.
#[utoipa::path(get, path = "/calls/{call_sid}", tag = "calls",
    params(("call_sid" = String, Path, description = "Twilio's CallSid", pattern = "^CA[0-9a-fA-F]{32}$")),
    responses(
        (status = 200, description = "The call", body = CallReport),
        (status = 400, description = "Not a CallSid", body = ErrorBody),
        (status = 404, description = "No such call", body = ErrorBody),
    ))]
async fn get_call(
    State(state): State<AppState>,
    Path(call_sid): Path<String>,
) -> Result<Json<CallReport>, ApiError> {
    let sid =
        CallSid::parse(&call_sid).map_err(|e| ApiError::BadRequest(format!("callSid: {e}")))?;
    let mut call = state.store.get_call(&sid).await.map_err(|e| match e {
        phone_core::StoreError::NotFound => ApiError::NotFound(format!("call {sid}")),
        other => other.into(),
    })?;
    let turns = state
        .store
        .list_turns(&sid, &PageRequest::first(MAX_ITEMS))
        .await?;
    let tools = state
        .store
        .list_tool_calls(&Keys::call(&sid), &PageRequest::first(MAX_ITEMS))
        .await?;
    let latencies = state
        .store
        .list_turn_latencies(&sid, &PageRequest::first(MAX_ITEMS))
        .await?;
    // The row's percentiles are reported inside `latency`, not beside it.
    let latency = LatencyReport::new(latencies.items, call.latency.take());
    Ok(Json(CallReport {
        cost_usd: call.cost.total_usd(),
        call,
        latency,
        truncated: turns.next.is_some() || tools.next.is_some() || latencies.next.is_some(),
        transcript: turns.items,
        tool_calls: tools.items,
    }))
}

/// The handler's path, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(get_call))]
pub(crate) struct Paths;
