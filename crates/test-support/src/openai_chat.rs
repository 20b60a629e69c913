//! A Chat Completions server on loopback speaking OpenAI's wire format: it records each request
//! and answers with the next scripted reply (a tool call, a text, or an error).

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
        .push((auth, body));
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
        let shared = Arc::new(Shared {
            script: Mutex::new(script.into()),
            requests: Mutex::default(),
        });
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
