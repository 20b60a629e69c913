//! `GET /calls/{callSid}`: a call's row with stats, transcript, tool calls, cost, per-turn
//! latency, its post-call analysis and the deliveries of its webhooks.
//! `GET /calls?limit=&after=`: recent calls, newest first, with a cursor for the next page.
//!
//! `GET /calls/OB…`: an outbound request with every attempt's row.
//! `POST /calls`: the assistant calls someone ([`super::outbound`] for what happens next).
//!
//! The reads accept the API key or the console's session cookie (`console::session::ReadAuth`);
//! `POST /calls` and the routes of [`super::post_call`], served by the same function, write and
//! need the API key.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use phone_core::analysis::CallAnalysis;
use phone_core::outbound::dialer::DialError;
use phone_core::outbound::{NewOutboundCall, OutboundCall, OutboundId};
use phone_core::store::{Keys, PageRequest};
use phone_core::store::{ToolCallRecord, WebhookDelivery};
use phone_core::{CallSession, CallSid, LatencyReport, PhoneNumber, StoreError, Turn};
use serde::{Deserialize, Serialize};

use crate::error::ErrorBody;
use crate::extract::{JsonBody, QueryArgs};
use crate::idempotency::{IdempotencyKey, IdempotencyKeyHeader};
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

/// The response of `POST /calls` and of `GET /calls/{id}` for an outbound request: the
/// request (`status`, `outcome`, `attempts`, `next_attempt_at`) and each attempt's call row.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutboundReport {
    /// The request.
    #[serde(flatten)]
    pub request: OutboundCall,
    /// The attempts' call rows, oldest first (`GET /calls/{callSid}` has their transcripts).
    pub calls: Vec<CallSession>,
}

/// What `GET /calls/{id}` answers: a call's report for a CallSid, an outbound request's for an
/// outbound id. Serialised as the report itself (no tag); the two never match each other's
/// schema, so the document's `oneOf` holds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum CallOrOutbound {
    /// `GET /calls/CA…`.
    Call(Box<CallReport>),
    /// `GET /calls/OB…`.
    Outbound(Box<OutboundReport>),
}

/// The body of `POST /calls`.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": "+14155550123", "purpose": "Confirm Tuesday's 3 pm dentist appointment", "instructions": "Ask whether the appointment still stands; thank them and hang up."}))]
pub struct PlaceCallBody {
    /// The number to call, E.164: `+` then 7 to 15 digits (spaces, dashes, dots and
    /// parentheses are ignored).
    #[schema(example = "+14155550123")]
    pub to: String,
    /// Why the assistant calls, one line (at most 300 characters, not blank).
    #[schema(min_length = 1, max_length = 300)]
    pub purpose: String,
    /// What the assistant should do and say (at most 4000 characters, not blank).
    #[schema(min_length = 1, max_length = 4000)]
    pub instructions: String,
    /// Facts the assistant may use (at most 4000 characters).
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub context: Option<String>,
    /// The callee's IANA time zone for quiet hours (default: `TIME_ZONE`).
    #[serde(default)]
    #[schema(example = "America/New_York")]
    pub time_zone: Option<String>,
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

/// The router serving `GET /calls`, `GET /calls/{callSid}` and `POST /calls`, with the routes of
/// [`super::post_call`].
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/calls", get(list_calls).post(place_call))
        .route("/calls/{call_sid}", get(get_call))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            // The API key; or, for the reads only, the console's session cookie.
            crate::routes::console::session::require_read_access,
        ))
        .with_state(state.clone())
        .merge(super::post_call::routes(state))
}

/// Recent calls, newest first, paged; `live` while a call has no end.
#[utoipa::path(get, path = "/calls", tag = "calls",
    security(("api_key" = []), ("console_session" = [])),
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
    QueryArgs(q): QueryArgs<ListQuery>,
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

/// A call's row with its statistics, usage, cost, transcript and tool calls; or, for an
/// outbound id, the outbound request with its attempts' rows.
#[utoipa::path(get, path = "/calls/{call_sid}", tag = "calls",
    security(("api_key" = []), ("console_session" = [])),
    params(("call_sid" = String, Path,
        description = "Twilio's CallSid (`CA…`: the call's report) or an outbound id (`OB…`: the request and its attempts)",
        pattern = "^(CA[0-9a-fA-F]{32}|OB[0-9a-f]{32})$")),
    responses(
        (status = 200, description = "A `CallReport` for a CallSid, an `OutboundReport` for an outbound id", body = CallOrOutbound),
        (status = 400, description = "Neither a CallSid nor an outbound id", body = ErrorBody),
        (status = 404, description = "No such call or outbound request", body = ErrorBody),
    ))]
async fn get_call(
    State(state): State<AppState>,
    Path(call_sid): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if call_sid.starts_with("OB") {
        let id =
            OutboundId::parse(&call_sid).map_err(|e| ApiError::BadRequest(format!("id: {e}")))?;
        let report = outbound_report(&state, &id).await?;
        return to_json(&CallOrOutbound::Outbound(Box::new(report)));
    }
    let sid = CallSid::parse(&call_sid)
        .map_err(|e| ApiError::BadRequest(format!("callSid: {e} (or an outbound id OB…)")))?;
    let mut call = state.store.get_call(&sid).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound(format!("call {sid}")),
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
    to_json(&CallOrOutbound::Call(Box::new(CallReport {
        analysis,
        webhook_deliveries: deliveries.items,
        cost_usd: call.cost.total_usd(),
        call,
        latency,
        truncated: turns.next.is_some() || tools.next.is_some() || latencies.next.is_some(),
        transcript: turns.items,
        tool_calls: tools.items,
    })))
}

fn to_json<T: Serialize>(value: &T) -> Result<Json<serde_json::Value>, ApiError> {
    serde_json::to_value(value)
        .map(Json)
        .map_err(|e| ApiError::Internal(format!("serialising the report: {e}")))
}

async fn outbound_report(state: &AppState, id: &OutboundId) -> Result<OutboundReport, ApiError> {
    let request = state.store.get_outbound(id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound(format!("outbound call {id}")),
        other => other.into(),
    })?;
    let mut calls = Vec::with_capacity(request.attempts.len());
    for sid in &request.attempts {
        match state.store.get_call(sid).await {
            Ok(call) => calls.push(call),
            // An attempt whose row expired before its request: listed by sid only.
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(OutboundReport { request, calls })
}

/// The assistant calls someone: the call policy admits the request (do-not-call list, quiet
/// hours, daily cap), then Twilio dials it, with answering machine detection and retries.
#[utoipa::path(post, path = "/calls", tag = "calls",
    params(IdempotencyKeyHeader),
    request_body = PlaceCallBody,
    responses(
        (status = 201, description = "Admitted and dialled (or being dialled): the request and its first attempt", body = OutboundReport),
        (status = 200, description = "A replay: the request this Idempotency-Key created before", body = OutboundReport),
        (status = 400, description = "A bad field (number, lengths, time zone), named in the message", body = ErrorBody),
        (status = 409, description = "The same Idempotency-Key is still running", body = ErrorBody),
        (status = 422, description = "Refused by the call policy (the code is the rule: `do_not_call`, `quiet_hours`, `daily_cap`), or the Idempotency-Key was used for another request (`idempotency_key_reused`)", body = ErrorBody),
        (status = 502, description = "Twilio refused or failed to place the call", body = ErrorBody),
        (status = 503, description = "Outbound calls are not configured on this deployment (no PUBLIC_BASE_URL), or the store is unavailable", body = ErrorBody),
    ))]
async fn place_call(
    State(state): State<AppState>,
    key: IdempotencyKey,
    JsonBody(arguments): JsonBody<serde_json::Value>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    // The request is checked before the deployment: a bad one is the client's fault (400)
    // wherever it is sent.
    let body: PlaceCallBody = serde_json::from_value(arguments.clone())
        .map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    let to =
        PhoneNumber::parse(&body.to).map_err(|e| ApiError::BadRequest(format!("`to`: {e}")))?;
    let request = NewOutboundCall {
        to,
        purpose: body.purpose,
        instructions: body.instructions,
        context: body.context,
        time_zone: body.time_zone,
    };
    request.validate().map_err(|e| ApiError::BadRequest(e.0))?;
    let dialer = state.dialer.as_ref().ok_or_else(|| {
        ApiError::Unavailable("outbound calls need PUBLIC_BASE_URL on this deployment".into())
    })?;
    key.bind(&state.store, "place_call", &arguments).await?;
    let id = if key.supplied() {
        OutboundId::for_idempotency_key(key.as_str())
    } else {
        OutboundId::random()
    };
    let started = dialer.start(request, id).await.map_err(|e| match e {
        DialError::Invalid(e) => ApiError::BadRequest(e.0),
        DialError::Refused(refusal) => {
            tracing::info!(rule = refusal.rule(), "outbound call refused by the policy");
            ApiError::PolicyRefused {
                rule: refusal.rule(),
                message: refusal.to_string(),
            }
        }
        DialError::Placement(e) => ApiError::Upstream(e.to_string()),
        DialError::Store(e) => e.into(),
    })?;
    let status = if started.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let report = outbound_report(&state, &started.call.id).await?;
    Ok((status, to_json(&report)?))
}

/// The handlers' paths, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list_calls, get_call, place_call))]
pub(crate) struct Paths;
