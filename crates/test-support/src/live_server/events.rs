//! Server events as the SDK's `openai.types.live.ServerEvent` union defines them, and the
//! nested Responses events of a delegation as `ResponseStreamEvent` defines them.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh id with OpenAI's prefix style.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{:020}", NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

/// Adds `type` and a fresh `event_id` to a body.
pub fn event(kind: &str, mut body: Value) -> Value {
    body["type"] = kind.into();
    body["event_id"] = new_id("event").into();
    body
}

/// An `error`, naming the refused client event in both places the SDK defines.
pub fn error(
    code: &str,
    message: &str,
    param: Option<&str>,
    client_event_id: Option<&str>,
) -> Value {
    event(
        "error",
        json!({"client_event_id": client_event_id,
               "error": {"type": "invalid_request_error", "code": code, "message": message,
                         "param": param, "client_event_id": client_event_id}}),
    )
}

/// The `SessionResource` of a started session: the config resolved with server defaults.
pub fn session_resource(id: &str, config: &Value, expires_at: u64) -> Value {
    let mut session = config.clone();
    session["id"] = id.into();
    session["status"] = "active".into();
    session["expires_at"] = expires_at.into();
    if session["audio"]["output"]["voice"].is_null() {
        session["audio"]["output"]["voice"] = "marin".into();
    }
    session
}

/// A backend response snapshot: input, instructions, tools and output cleared, as GPT-Live
/// sends lifecycle snapshots.
pub fn backend_response(id: &str, model: &str, status: &str, usage: Option<Value>) -> Value {
    json!({"id": id, "object": "response", "created_at": 1_790_000_000, "model": model,
           "status": status, "output": [], "tools": [], "tool_choice": "auto",
           "parallel_tool_calls": false, "usage": usage})
}

/// Backend token usage of one response.
pub fn backend_usage(input: u64, cached: u64, output: u64, reasoning: u64) -> Value {
    json!({"input_tokens": input, "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
           "output_tokens": output, "output_tokens_details": {"reasoning_tokens": reasoning},
           "total_tokens": input + output})
}

/// A `response.event` wrapping a nested Responses event.
pub fn response_event(delegation_id: Option<&str>, nested: Value) -> Value {
    event(
        "response.event",
        json!({"delegation_id": delegation_id, "event": nested}),
    )
}

/// A completed `function_call` output item.
pub fn function_call_item(call_id: &str, name: &str, arguments: &str) -> Value {
    json!({"type": "function_call", "id": new_id("fc"), "call_id": call_id, "name": name,
           "arguments": arguments, "status": "completed"})
}

/// `SessionUsage` for a timeline of `ms`, in whole seconds as GPT-Live bills.
pub fn usage(ms: u64) -> Value {
    json!({"seconds": (ms / 1000) as f64})
}
