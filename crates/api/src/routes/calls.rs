//! `GET /calls/{callSid}`: a call's row with stats, transcript, tool calls and cost.
//! `GET /calls?limit=&after=`: recent calls, newest first, with a cursor for the next page.
//!
//! Both accept the API key or the console's session cookie ([`ReadAuth`]).

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use phone_core::store::ToolCallRecord;
use phone_core::store::{Keys, PageRequest};
use phone_core::{CallSession, CallSid, Turn};
use serde::{Deserialize, Serialize};

use crate::routes::console::session::ReadAuth;
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

/// Calls listed per page when `limit` is not given, and the most a page may ask for.
const DEFAULT_LIST: u32 = 25;
const MAX_LIST: u32 = 100;

/// One call in `GET /calls`.
#[derive(Debug, Serialize)]
pub struct CallSummary {
    /// The call row.
    #[serde(flatten)]
    pub call: CallSession,
    /// Total cost in US dollars, for people.
    pub cost_usd: f64,
    /// True while the call has no end (`ended_at` unset).
    pub live: bool,
}

/// The response of `GET /calls`.
#[derive(Debug, Serialize)]
pub struct CallList {
    /// Calls, newest first.
    pub calls: Vec<CallSummary>,
    /// Cursor for the next page (`after=`), `null` on the last page.
    pub next: Option<String>,
}

/// The query of `GET /calls`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Calls per page, 1..=100 (default 25).
    pub limit: Option<u32>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
}

/// The router serving `GET /calls` and `GET /calls/{callSid}`.
pub fn routes(state: AppState) -> Router {
    crate::body_limit::limited(
        Router::new()
            .route("/calls", get(list_calls))
            .route("/calls/{call_sid}", get(get_call))
            .with_state(state),
    )
}

async fn list_calls(
    _auth: ReadAuth,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<CallList>, ApiError> {
    let limit = q.limit.unwrap_or(DEFAULT_LIST);
    if !(1..=MAX_LIST).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit: expected 1 to {MAX_LIST}"
        )));
    }
    if let Some(after) = &q.after
        && !Keys::is_call_index(after)
    {
        return Err(ApiError::BadRequest(
            "after: not a cursor from a previous page".into(),
        ));
    }
    let page = state
        .store
        .list_recent_calls(&PageRequest {
            limit,
            after: q.after,
            newest_first: true,
        })
        .await?;
    Ok(Json(CallList {
        calls: page
            .items
            .into_iter()
            .map(|call| CallSummary {
                cost_usd: call.cost.total_usd(),
                live: call.ended_at.is_none(),
                call,
            })
            .collect(),
        next: page.next,
    }))
}

async fn get_call(
    _auth: ReadAuth,
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
