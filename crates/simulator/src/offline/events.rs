//! Server events of the Realtime GA protocol (PROTOCOLS.md §2.4), as the stand-in sends them.

use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};

/// An id in OpenAI's style: `prefix_` and 20 random letters and digits.
pub fn new_id(prefix: &str) -> String {
    let tail: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect();
    format!("{prefix}_{tail}")
}

/// Adds `type` and a fresh `event_id` to an event body.
pub fn event(kind: &str, mut body: Value) -> Value {
    if let Value::Object(map) = &mut body {
        map.insert("type".into(), kind.into());
        map.insert("event_id".into(), new_id("event").into());
    }
    body
}

/// The session object as first created, before any `session.update`.
pub fn initial_session(model: &str) -> Value {
    json!({
        "type": "realtime",
        "object": "realtime.session",
        "id": new_id("sess"),
        "model": model,
        "output_modalities": ["audio"],
        "instructions": "",
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": null,
                "noise_reduction": null,
                "turn_detection": {
                    "type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
                    "silence_duration_ms": 500, "idle_timeout_ms": null,
                    "create_response": true, "interrupt_response": true
                }
            },
            "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin", "speed": 1.0}
        },
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": null,
        "truncation": "auto",
        "expires_at": 0
    })
}

/// Merges a `session.update`'s fields into the session, objects recursively (as the API
/// does: fields not sent keep their values), except audio formats, which are replaced.
pub fn merge(into: &mut Value, update: &Value) {
    match (into, update) {
        (Value::Object(target), Value::Object(source)) => {
            for (key, value) in source {
                match target.get_mut(key) {
                    // A format is replaced whole: `{"type":"audio/pcmu"}` has no `rate`.
                    Some(existing)
                        if key != "format" && existing.is_object() && value.is_object() =>
                    {
                        merge(existing, value)
                    }
                    _ => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, source) => *target = source.clone(),
    }
}

/// An `error` event, as the API reports a refused client event.
pub fn error(code: &str, message: &str, client_event_id: Option<&str>) -> Value {
    event(
        "error",
        json!({"error": {"type": "invalid_request_error", "code": code, "message": message,
                          "param": null, "event_id": client_event_id}}),
    )
}

/// The assistant message item of a response.
pub fn assistant_item(item_id: &str, status: &str, transcript: Option<&str>) -> Value {
    let content = match transcript {
        Some(t) => json!([{"type": "output_audio", "transcript": t}]),
        None => json!([]),
    };
    json!({"id": item_id, "object": "realtime.item", "type": "message", "role": "assistant",
           "status": status, "content": content})
}

/// A `function_call` item.
pub fn function_call_item(
    item_id: &str,
    call_id: &str,
    name: &str,
    arguments: &str,
    status: &str,
) -> Value {
    json!({"id": item_id, "object": "realtime.item", "type": "function_call", "status": status,
           "name": name, "call_id": call_id, "arguments": arguments})
}

/// A caller message item, as committed from the input audio buffer.
pub fn user_item(item_id: &str, transcript: Option<&str>) -> Value {
    json!({"id": item_id, "object": "realtime.item", "type": "message", "role": "user",
           "status": "completed",
           "content": [{"type": "input_audio", "transcript": transcript}]})
}

/// The `response` object of `response.created` / `response.done`.
pub fn response(
    response_id: &str,
    status: &str,
    reason: Option<&str>,
    output: Vec<Value>,
    usage: Option<Value>,
) -> Value {
    let status_details = match (status, reason) {
        ("cancelled", Some(r)) => json!({"type": "cancelled", "reason": r}),
        _ => Value::Null,
    };
    json!({"id": response_id, "object": "realtime.response", "status": status,
           "status_details": status_details, "output": output,
           "conversation_id": "conv_offline", "output_modalities": ["audio"],
           "max_output_tokens": "inf", "audio": {"output": {"format": {"type": "audio/pcmu"}}},
           "usage": usage, "metadata": null})
}

/// Token counts of one response (PROTOCOLS.md §2.5): caller audio is 1 token per 100 ms and
/// assistant audio 1 per 50 ms; the whole conversation so far is billed again as input, most
/// of it at the cached rate after the first response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageCounts {
    /// Instructions, tool schemas and text items.
    pub input_text: u64,
    /// All caller and assistant audio in the conversation so far.
    pub input_audio: u64,
    /// Of `input_text`, cached.
    pub cached_text: u64,
    /// Of `input_audio`, cached.
    pub cached_audio: u64,
    /// Transcript and tool arguments written.
    pub output_text: u64,
    /// Reply audio generated.
    pub output_audio: u64,
}

impl UsageCounts {
    /// The `usage` object of `response.done`.
    pub fn to_json(self) -> Value {
        let input = self.input_text + self.input_audio;
        let output = self.output_text + self.output_audio;
        json!({
            "total_tokens": input + output,
            "input_tokens": input,
            "output_tokens": output,
            "input_token_details": {
                "text_tokens": self.input_text,
                "audio_tokens": self.input_audio,
                "image_tokens": 0,
                "cached_tokens": self.cached_text + self.cached_audio,
                "cached_tokens_details": {"text_tokens": self.cached_text,
                                          "audio_tokens": self.cached_audio, "image_tokens": 0}
            },
            "output_token_details": {"text_tokens": self.output_text,
                                     "audio_tokens": self.output_audio}
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_update_merges_nested_fields() {
        let mut session = initial_session("gpt-realtime-2.1");
        merge(
            &mut session,
            &json!({"audio": {"input": {"format": {"type": "audio/pcmu"}}}, "instructions": "x"}),
        );
        assert_eq!(session["audio"]["input"]["format"]["type"], "audio/pcmu");
        assert!(session["audio"]["input"]["format"].get("rate").is_none());
        assert_eq!(session["audio"]["output"]["voice"], "marin");
        assert_eq!(session["instructions"], "x");
    }

    #[test]
    fn usage_totals_add_up() {
        let usage = UsageCounts {
            input_text: 10,
            input_audio: 20,
            cached_text: 5,
            cached_audio: 0,
            output_text: 3,
            output_audio: 40,
        }
        .to_json();
        assert_eq!(usage["total_tokens"], 73);
        assert_eq!(usage["input_token_details"]["cached_tokens"], 5);
    }
}
