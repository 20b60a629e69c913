//! `GET /calls/{callSid}`: a call's row with stats, transcript, tool calls and cost.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use phone_core::store::ToolCallRecord;
use phone_core::store::{Keys, PageRequest};
use phone_core::{CallSession, CallSid, Turn};
use serde::Serialize;

use crate::auth::ApiKeyAuth;
use crate::{ApiError, AppState};

/// Most turns and tool calls returned; a call long enough to exceed this is cut, and says so.
const MAX_ITEMS: u32 = 1000;

/// The response of `GET /calls/{callSid}`.
#[derive(Debug, Serialize)]
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
    /// True when the transcript or tool list was longer than returned.
    pub truncated: bool,
}

/// The router serving `GET /calls/{callSid}`.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/calls/{call_sid}", get(get_call))
        .with_state(state)
}

async fn get_call(
    _auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(call_sid): Path<String>,
) -> Result<Json<CallReport>, ApiError> {
    let sid =
        CallSid::parse(&call_sid).map_err(|e| ApiError::BadRequest(format!("callSid: {e}")))?;
    let call = state.store.get_call(&sid).await.map_err(|e| match e {
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
    Ok(Json(CallReport {
        cost_usd: call.cost.total_usd(),
        call,
        truncated: turns.next.is_some() || tools.next.is_some(),
        transcript: turns.items,
        tool_calls: tools.items,
    }))
}
