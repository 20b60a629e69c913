//! `POST /agent`: the text agent, or a tool run directly.
//!
//! - `{"message": "...", "session_id"?: "..."}` runs the agent (the model plus the tools), with
//!   the session's history kept in the store.
//! - `{"action": "list_events" | "create_event" | "update_event" | "delete_event" |
//!   "schedule_reminder" | "list_reminders" | "cancel_reminder", "params": {...}}`
//!   runs that tool without the model.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use phone_core::agent::{AgentToolCall, load_history, run_agent, save_history, system_prompt};
use phone_core::ports::ChatUsage;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::calendar::{EventCreated, EventDeleted, EventList, EventUpdated};
use super::tool_call::{context, run};
use crate::error::ErrorBody;
use crate::extract::JsonBody;
use crate::idempotency::{IdempotencyKey, IdempotencyKeyHeader};
use crate::{ApiError, AppState};

/// The agent router.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/agent", post(agent))
        .route("/memory/{number}", axum::routing::delete(forget))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::require_api_key,
        ))
        .with_state(state)
}

/// The body of `POST /agent`: a message for the text agent, or a tool to run directly.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum AgentRequest {
    /// A message for the model.
    Message(AgentMessage),
    /// A calendar tool run without the model.
    Action(AgentAction),
}

/// A message for the text agent.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"message": "What is on my calendar today?", "session_id": "s1"}))]
pub struct AgentMessage {
    /// What the person says (1 to 8000 bytes, not blank).
    #[schema(min_length = 1, max_length = 8000)]
    message: String,
    /// The conversation whose history to keep; the Idempotency-Key (or a fresh id) when left
    /// out.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,128}$")]
    session_id: Option<String>,
}

/// A calendar tool run directly.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "list_events", "params": {}}))]
pub struct AgentAction {
    /// The tool.
    #[schema(value_type = ToolName)]
    action: String,
    /// The tool's arguments, as for the matching REST route (`list_events`: the query of
    /// `GET /calendar/events`; `create_event`: the body of `POST /calendar/events`;
    /// `update_event` and `delete_event`: those of `PATCH`/`DELETE /calendar/events/{id}`
    /// with `event_id`). Null or absent means none.
    #[serde(default)]
    #[schema(value_type = Object)]
    params: Value,
}

/// The tools `POST /agent` runs directly.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // a schema only: the handler checks the name against `ACTIONS`
pub enum ToolName {
    /// `list_events`.
    ListEvents,
    /// `create_event`.
    CreateEvent,
    /// `update_event`.
    UpdateEvent,
    /// `delete_event`.
    DeleteEvent,
}

/// The text agent's answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentAnswer {
    /// The conversation, to continue it.
    pub session_id: String,
    /// What the agent says.
    pub reply: String,
    /// The tools it ran on the way.
    pub tool_calls: Vec<AgentToolCall>,
    /// Tokens used.
    pub usage: ChatUsage,
}

/// What `POST /agent` answers: the agent's answer for a message, the tool's result for an
/// action.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // a schema only: the handler returns the tool's JSON as it is
pub enum AgentResult {
    /// The message form.
    Answer(AgentAnswer),
    /// `list_events`.
    Listed(EventList),
    /// `create_event`.
    Created(EventCreated),
    /// `update_event`.
    Updated(EventUpdated),
    /// `delete_event`.
    Deleted(EventDeleted),
}

/// `DELETE /memory/{number}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Forgotten {
    /// The number, masked.
    pub forgotten: String,
    /// How many stored items were erased.
    pub items_erased: u64,
}

const ACTIONS: [&str; 7] = [
    "list_events",
    "create_event",
    "update_event",
    "delete_event",
    "schedule_reminder",
    "list_reminders",
    "cancel_reminder",
];

/// Runs the text agent on a message, or a calendar tool directly.
///
/// The whole request runs under `AGENT_DEADLINE_SECS`: past it the client gets a 504 that says
/// so, before the Lambda timeout cuts the connection without a word.
#[utoipa::path(post, path = "/agent", tag = "agent",
    params(IdempotencyKeyHeader),
    request_body = AgentRequest,
    responses(
        (status = 200, description = "The agent's answer, or the tool's result", body = AgentResult),
        (status = 400, description = "A bad body or tool argument, named in the message", body = ErrorBody),
        (status = 404, description = "No such event (update_event, delete_event)", body = ErrorBody),
        (status = 409, description = "The same Idempotency-Key is still running", body = ErrorBody),
        (status = 422, description = "The Idempotency-Key was used for another request", body = ErrorBody),
        (status = 502, description = "The model or the calendar failed", body = ErrorBody),
        (status = 503, description = "The message form without a text model (no OPENAI_API_KEY), or the store is unavailable", body = ErrorBody),
        (status = 504, description = "Not finished within AGENT_DEADLINE_SECS", body = ErrorBody),
    ))]
async fn agent(
    State(state): State<AppState>,
    key: IdempotencyKey,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let deadline = state.config.agent_deadline;
    match tokio::time::timeout(deadline, answer(&state, key, body)).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                deadline_secs = deadline.as_secs(),
                "POST /agent stopped at its deadline"
            );
            Err(ApiError::Timeout(format!(
                "the agent did not finish within {} s (AGENT_DEADLINE_SECS); nothing was added \
                 to the session's history, but a tool it had started may have run: check \
                 before retrying, with the same Idempotency-Key",
                deadline.as_secs()
            )))
        }
    }
}

async fn answer(
    state: &AppState,
    key: IdempotencyKey,
    body: Value,
) -> Result<Json<Value>, ApiError> {
    let request: AgentRequest = serde_json::from_value(body).map_err(|_| {
        ApiError::BadRequest("expected {\"message\": string, \"session_id\"?: string} or {\"action\": string, \"params\": object}".into())
    })?;
    let mut ctx = context(state, &key)?;
    match request {
        AgentRequest::Action(AgentAction { action, params }) => {
            if !ACTIONS.contains(&action.as_str()) {
                return Err(ApiError::BadRequest(format!(
                    "`action` must be one of {}",
                    ACTIONS.join(", ")
                )));
            }
            let params = if params.is_null() { json!({}) } else { params };
            run(&ctx, &action, &params, &key).await
        }
        AgentRequest::Message(AgentMessage {
            message,
            session_id,
        }) => {
            if message.trim().is_empty() || message.len() > 8000 {
                return Err(ApiError::BadRequest(
                    "`message` must be 1 to 8000 bytes".into(),
                ));
            }
            key.bind(
                &state.store,
                "agent_message",
                &json!({"message": message, "session_id": session_id}),
            )
            .await?;
            let session = session_id.unwrap_or_else(|| key.as_str().to_owned());
            if session.is_empty()
                || session.len() > 128
                || !session
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                return Err(ApiError::BadRequest(
                    "`session_id` must be up to 128 letters, digits, '-', '_' or '.'".into(),
                ));
            }
            let model = state.chat.clone().ok_or_else(|| {
                ApiError::Unavailable(
                    "the text agent needs OPENAI_API_KEY; the action form works without it".into(),
                )
            })?;
            let pk = format!("AGENT#{session}");
            ctx.owner_pk = pk.clone();
            let mut history = load_history(&ctx, &pk).await?;
            let system = system_prompt(&ctx, "the REST API", "");
            let reply = run_agent(
                &ctx,
                model.as_ref(),
                &system,
                &mut history,
                &message,
                key.as_str(),
            )
            .await
            .map_err(|e| ApiError::Upstream(e.to_string()))?;
            // Nothing half-written: history is saved only after a complete answer.
            save_history(&ctx, &pk, &history).await?;
            let answer = AgentAnswer {
                session_id: session,
                reply: reply.text,
                tool_calls: reply.tool_calls,
                usage: reply.usage,
            };
            serde_json::to_value(answer)
                .map(Json)
                .map_err(|e| ApiError::Internal(format!("the agent's answer: {e}")))
        }
    }
}

/// Erases what is stored about a phone number (memory, notes, SMS history, call transcripts);
/// the SMS opt-out record is kept.
#[utoipa::path(delete, path = "/memory/{number}", tag = "agent",
    params(("number" = String, Path, description = "An E.164 number (URL-encode the `+`)")),
    responses(
        (status = 200, description = "Forgotten (forgetting twice erases 0)", body = Forgotten),
        (status = 400, description = "Not a phone number", body = ErrorBody),
    ))]
async fn forget(
    State(state): State<AppState>,
    axum::extract::Path(number): axum::extract::Path<String>,
) -> Result<Json<Forgotten>, ApiError> {
    let number = phone_core::PhoneNumber::parse(&number)
        .map_err(|e| ApiError::BadRequest(format!("`number`: {e}")))?;
    let erased = state.store.forget_caller(&number).await?;
    tracing::info!(number = %number, erased, "caller forgotten through the API");
    Ok(Json(Forgotten {
        forgotten: number.masked(),
        items_erased: erased,
    }))
}

/// The handlers' paths, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(agent, forget))]
pub(crate) struct Paths;
