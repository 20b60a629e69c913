//! `POST /agent`: the text agent, or a tool run directly.
//!
//! - `{"message": "...", "session_id"?: "..."}` runs the agent (the model plus the tools), with
//!   the session's history kept in the store.
//! - `{"action": "list_events" | "create_event" | "update_event" | "delete_event", "params": {...}}`
//!   runs that tool without the model.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use phone_core::agent::{load_history, run_agent, save_history, system_prompt};
use serde::Deserialize;
use serde_json::{Value, json};

use super::tool_call::{context, run};
use crate::auth::ApiKeyAuth;
use crate::idempotency::IdempotencyKey;
use crate::{ApiError, AppState};

/// The agent router.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/agent", post(agent))
        .route("/memory/{number}", axum::routing::delete(forget))
        .with_state(state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, untagged)]
enum AgentRequest {
    Message {
        message: String,
        session_id: Option<String>,
    },
    Action {
        action: String,
        #[serde(default)]
        params: Value,
    },
}

const ACTIONS: [&str; 4] = [
    "list_events",
    "create_event",
    "update_event",
    "delete_event",
];

/// The whole request under `AGENT_DEADLINE_SECS`: past it the client gets a 504 that says so,
/// before the Lambda timeout cuts the connection without a word.
async fn agent(
    _auth: ApiKeyAuth,
    State(state): State<AppState>,
    key: IdempotencyKey,
    Json(body): Json<Value>,
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
        AgentRequest::Action { action, params } => {
            if !ACTIONS.contains(&action.as_str()) {
                return Err(ApiError::BadRequest(format!(
                    "`action` must be one of {}",
                    ACTIONS.join(", ")
                )));
            }
            let params = if params.is_null() { json!({}) } else { params };
            run(&ctx, &action, &params, &key).await
        }
        AgentRequest::Message {
            message,
            session_id,
        } => {
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
            if session.len() > 128
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
            Ok(Json(
                json!({"session_id": session, "reply": reply.text, "tool_calls": reply.tool_calls, "usage": reply.usage}),
            ))
        }
    }
}

/// `DELETE /memory/{number}`: erases what is stored about a phone number (memory, notes, SMS
/// history); the SMS opt-out record is kept.
async fn forget(
    _auth: ApiKeyAuth,
    State(state): State<AppState>,
    axum::extract::Path(number): axum::extract::Path<String>,
) -> Result<Json<Value>, ApiError> {
    let number = phone_core::PhoneNumber::parse(&number)
        .map_err(|e| ApiError::BadRequest(format!("`number`: {e}")))?;
    let erased = state.store.forget_caller(&number).await?;
    tracing::info!(number = %number, erased, "caller forgotten through the API");
    Ok(Json(
        json!({"forgotten": number.masked(), "items_erased": erased}),
    ))
}
