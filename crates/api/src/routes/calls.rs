//! `GET /calls/{callSid}`: a call's row with stats, transcript, tool calls and cost; or, for an
//! outbound request's id (`OB…`), the request with every attempt's row.
//! `POST /calls`: the assistant calls someone ([`super::outbound`] for what happens next).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use phone_core::outbound::dialer::DialError;
use phone_core::outbound::{NewOutboundCall, OutboundCall, OutboundId};
use phone_core::store::ToolCallRecord;
use phone_core::store::{Keys, PageRequest};
use phone_core::{CallSession, CallSid, PhoneNumber, StoreError, Turn};
use serde::{Deserialize, Serialize};

use crate::auth::ApiKeyAuth;
use crate::idempotency::IdempotencyKey;
use crate::{ApiError, AppState};

/// Most turns and tool calls returned; a call long enough to exceed this is cut, and says so.
const MAX_ITEMS: u32 = 1000;

/// The response of `GET /calls/{callSid}`.
#[derive(Debug, Serialize)]
pub struct CallReport {
    /// The call row (status, times, stats, usage, cost in nano-dollars; `direction`, and for
    /// an outbound call its `outcome`, `answered_by` and `outbound_id`).
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

/// The response of `POST /calls` and of `GET /calls/{id}` for an outbound request: the
/// request (`status`, `outcome`, `attempts`, `next_attempt_at`) and each attempt's call row.
#[derive(Debug, Serialize)]
pub struct OutboundReport {
    /// The request.
    #[serde(flatten)]
    pub request: OutboundCall,
    /// The attempts' call rows, oldest first (`GET /calls/{callSid}` has their transcripts).
    pub calls: Vec<CallSession>,
}

/// The body of `POST /calls`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceCallBody {
    /// The number to call, E.164.
    pub to: String,
    /// Why the assistant calls, one line (at most 300 characters).
    pub purpose: String,
    /// What the assistant should do and say (at most 4000 characters).
    pub instructions: String,
    /// Facts the assistant may use (at most 4000 characters).
    #[serde(default)]
    pub context: Option<String>,
    /// The callee's IANA time zone for quiet hours (default: `TIME_ZONE`).
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// The router serving `POST /calls` and `GET /calls/{callSid}`.
pub fn routes(state: AppState) -> Router {
    crate::body_limit::limited(
        Router::new()
            .route("/calls", post(place_call))
            .route("/calls/{call_sid}", get(get_call))
            .with_state(state),
    )
}

async fn get_call(
    _auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(call_sid): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if call_sid.starts_with("OB") {
        let id =
            OutboundId::parse(&call_sid).map_err(|e| ApiError::BadRequest(format!("id: {e}")))?;
        let report = outbound_report(&state, &id).await?;
        return to_json(&report);
    }
    let sid = CallSid::parse(&call_sid)
        .map_err(|e| ApiError::BadRequest(format!("callSid: {e} (or an outbound id OB…)")))?;
    let call = state.store.get_call(&sid).await.map_err(|e| match e {
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
    to_json(&CallReport {
        cost_usd: call.cost.total_usd(),
        call,
        truncated: turns.next.is_some() || tools.next.is_some(),
        transcript: turns.items,
        tool_calls: tools.items,
    })
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

async fn place_call(
    _auth: ApiKeyAuth,
    State(state): State<AppState>,
    key: IdempotencyKey,
    Json(arguments): Json<serde_json::Value>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let dialer = state.dialer.as_ref().ok_or_else(|| {
        ApiError::Unavailable("outbound calls need PUBLIC_BASE_URL on this deployment".into())
    })?;
    let body: PlaceCallBody = serde_json::from_value(arguments.clone())
        .map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    key.bind(&state.store, "place_call", &arguments).await?;
    let to =
        PhoneNumber::parse(&body.to).map_err(|e| ApiError::BadRequest(format!("`to`: {e}")))?;
    let request = NewOutboundCall {
        to,
        purpose: body.purpose,
        instructions: body.instructions,
        context: body.context,
        time_zone: body.time_zone,
    };
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
