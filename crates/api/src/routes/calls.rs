//! `GET /calls/{callSid}`: a call's row with stats, transcript, tool calls, cost, per-turn
//! latency, its post-call analysis and the deliveries of its webhooks.
//! `GET /calls?limit=&after=`: recent calls, newest first, with a cursor for the next page.
//!
//! Both accept the API key or the console's session cookie (`console::session::ReadAuth`). The same function
//! serves the routes of [`super::post_call`] (API key only: they write).

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use phone_core::analysis::CallAnalysis;
use phone_core::store::{Keys, PageRequest};
use phone_core::store::{ToolCallRecord, WebhookDelivery};
use phone_core::{CallSession, CallSid, LatencyReport, Turn};
use serde::{Deserialize, Serialize};

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
    /// The post-call analysis, once it has run (`null` before).
    pub analysis: Option<CallAnalysis>,
    /// The webhooks sent about this call and how their delivery went.
    pub webhook_deliveries: Vec<WebhookDelivery>,
}

/// Calls listed per page when `limit` is not given, and the most a page may ask for.
const DEFAULT_LIST: u32 = 25;
const MAX_LIST: u32 = 100;

/// One call in `GET /calls`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Serialize, utoipa::ToSchema)]
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
            .route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                // The API key, or the console's session cookie: these routes only read.
                crate::routes::console::session::require_read_access,
            ))
            .with_state(state.clone()),
    )
    .merge(super::post_call::routes(state))
}

/// Recent calls, newest first, paged; `live` while a call has no end.
#[utoipa::path(get, path = "/calls", tag = "calls",
    params(
        ("limit" = Option<u32>, Query, description = "Calls per page, 1 to 100 (default 25)", minimum = 1, maximum = 100),
        ("after" = Option<String>, Query, description = "The `next` cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of calls", body = CallList),
        (status = 400, description = "Bad limit or cursor", body = ErrorBody),
    ))]
async fn list_calls(
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
    let analysis = state.store.get_analysis(&sid).await?;
    let deliveries = state
        .store
        .list_call_webhook_deliveries(&sid, &PageRequest::first(MAX_ITEMS))
        .await?;
    Ok(Json(CallReport {
        analysis,
        webhook_deliveries: deliveries.items,
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
#[openapi(paths(list_calls, get_call))]
pub(crate) struct Paths;
