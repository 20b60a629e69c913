//! The `session.start` a call opens with (PROTOCOLS-LIVE.md §A.2): μ-law 8 kHz both ways so
//! Twilio audio passes through untouched, and Responses delegation so a backend model runs our
//! function tools. Everything in it is immutable for the life of the session.

use serde_json::{Value, json};

/// The audio format of a Twilio bridge: G.711 μ-law at 8 kHz, one setting for both directions.
/// `rate` is required by GPT-Live (Realtime's `audio/pcmu` has none).
pub fn pcmu_8k() -> Value {
    json!({"type": "audio/pcmu", "rate": 8000})
}

/// At most this many startup history messages (SDK `SessionConfig.input`).
pub const MAX_HISTORY_MESSAGES: usize = 128;

/// Rough cap on the startup history's text: the SDK's 8,192 rendered tokens at about four
/// characters a token. An estimate, so the oldest messages go first when it is exceeded.
pub const MAX_HISTORY_CHARS: usize = 8192 * 4;

/// Who said a startup history message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryRole {
    /// Application context (caller ID, local time).
    Developer,
    /// The caller.
    User,
    /// The assistant.
    Assistant,
}

/// One text message of the history a session starts with, e.g. the transcript of a session
/// that dropped, so its replacement knows the conversation so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryMessage {
    /// Who said it.
    pub role: HistoryRole,
    /// What was said.
    pub text: String,
}

impl HistoryMessage {
    /// The `InitialItem`: a message with exactly one text part (`output_text` for the
    /// assistant, `input_text` otherwise).
    fn to_item(&self) -> Value {
        let (role, part) = match self.role {
            HistoryRole::Developer => ("developer", "input_text"),
            HistoryRole::User => ("user", "input_text"),
            HistoryRole::Assistant => ("assistant", "output_text"),
        };
        json!({"type": "message", "role": role,
               "content": [{"type": part, "text": self.text}]})
    }
}

/// The Responses model that runs delegated work, and what it may call.
#[derive(Debug, Clone, PartialEq)]
pub struct Backend {
    /// `gpt-5.6-terra`, `gpt-5.6-luna`, …
    pub model: String,
    /// The backend prompt: business rules and tool workflows.
    pub instructions: String,
    /// Our function tools as `{type:"function", name, description, parameters}`.
    pub tools: Vec<Value>,
    /// `none`, `minimal`, `low`, `medium`, `high`, `xhigh`; `None` leaves the model default.
    pub reasoning_effort: Option<String>,
}

/// Everything that configures a call's Live session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// `gpt-live-1`, `gpt-live-1.1`.
    pub model: String,
    /// Frontend instructions (voice, interruptions, when to delegate).
    pub instructions: String,
    /// `marin`, `cedar`, …
    pub voice: String,
    /// The delegation backend.
    pub backend: Backend,
    /// Startup history; empty for a new call, the transcript so far for a replacement session.
    pub history: Vec<HistoryMessage>,
}

impl SessionConfig {
    /// The `session.start` event, tagged with `event_id` (echoed by `session.started` as
    /// `client_event_id`, or by a refusal).
    pub fn to_event(&self, event_id: &str) -> String {
        let mut responses = json!({
            "model": self.backend.model,
            "instructions": self.backend.instructions,
            "tools": self.backend.tools,
            "tool_choice": "auto",
            // One call at a time: one output, one `response.create`, as the bridge answers.
            "parallel_tool_calls": false,
        });
        if let Some(effort) = &self.backend.reasoning_effort {
            responses["reasoning"] = json!({"effort": effort});
        }
        let mut session = json!({
            "model": self.model,
            "instructions": self.instructions,
            "audio": {"format": pcmu_8k(), "output": {"voice": self.voice}},
            "delegation": {"type": "responses", "responses": responses},
        });
        let history = capped_history(&self.history);
        if !history.is_empty() {
            session["input"] = Value::Array(history.iter().map(|m| m.to_item()).collect());
        }
        json!({"type": "session.start", "event_id": event_id, "session": session}).to_string()
    }
}

/// The most recent messages that fit the startup limits, in order; empty texts are left out
/// (each message needs its one text part to say something).
fn capped_history(history: &[HistoryMessage]) -> Vec<&HistoryMessage> {
    let mut kept = Vec::new();
    let mut chars = 0;
    for message in history.iter().rev().filter(|m| !m.text.trim().is_empty()) {
        chars += message.text.len();
        if kept.len() == MAX_HISTORY_MESSAGES || chars > MAX_HISTORY_CHARS {
            break;
        }
        kept.push(message);
    }
    kept.reverse();
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(history: Vec<HistoryMessage>) -> SessionConfig {
        SessionConfig {
            model: "gpt-live-1.1".into(),
            instructions: "You answer the phone.".into(),
            voice: "marin".into(),
            backend: Backend {
                model: "gpt-5.6-terra".into(),
                instructions: "Book only in business hours.".into(),
                tools: vec![json!({"type": "function", "name": "create_event"})],
                reasoning_effort: Some("low".into()),
            },
            history,
        }
    }

    fn said(role: HistoryRole, text: &str) -> HistoryMessage {
        HistoryMessage {
            role,
            text: text.into(),
        }
    }

    #[test]
    fn session_start_is_pcmu_8k_with_responses_delegation() {
        let v: Value = serde_json::from_str(&config(vec![]).to_event("start-1")).unwrap();
        assert_eq!(v["type"], "session.start");
        assert_eq!(v["event_id"], "start-1");
        let s = &v["session"];
        assert_eq!(s["model"], "gpt-live-1.1");
        assert_eq!(
            s["audio"]["format"],
            json!({"type": "audio/pcmu", "rate": 8000})
        );
        assert_eq!(s["audio"]["output"]["voice"], "marin");
        let d = &s["delegation"];
        assert_eq!(d["type"], "responses");
        assert_eq!(d["responses"]["model"], "gpt-5.6-terra");
        assert_eq!(d["responses"]["tool_choice"], "auto");
        assert_eq!(d["responses"]["parallel_tool_calls"], false);
        assert_eq!(d["responses"]["reasoning"]["effort"], "low");
        assert_eq!(d["responses"]["tools"][0]["name"], "create_event");
        // No history on a new call, and nothing the WebSocket refuses or Realtime-only.
        assert!(s.get("input").is_none());
        assert!(s.get("type").is_none());
        assert!(s.get("turn_detection").is_none());
    }

    #[test]
    fn history_is_one_text_part_per_message_with_the_role_s_part_type() {
        let history = vec![
            said(HistoryRole::Developer, "Caller ID +15550001111."),
            said(HistoryRole::User, "Book the dentist."),
            said(HistoryRole::Assistant, "For when?"),
            said(HistoryRole::User, "  "),
        ];
        let v: Value = serde_json::from_str(&config(history).to_event("s")).unwrap();
        let input = v["session"]["input"].as_array().unwrap();
        assert_eq!(input.len(), 3, "the blank message is left out");
        assert_eq!(input[0]["role"], "developer");
        assert_eq!(input[0]["content"][0]["type"], "input_text");
        assert_eq!(input[2]["role"], "assistant");
        assert_eq!(input[2]["content"][0]["type"], "output_text");
        assert_eq!(input[2]["content"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn history_keeps_the_most_recent_128_messages() {
        let history: Vec<_> = (0..200)
            .map(|i| said(HistoryRole::User, &format!("message {i}")))
            .collect();
        let v: Value = serde_json::from_str(&config(history).to_event("s")).unwrap();
        let input = v["session"]["input"].as_array().unwrap();
        assert_eq!(input.len(), MAX_HISTORY_MESSAGES);
        assert_eq!(input[0]["content"][0]["text"], "message 72");
        assert_eq!(input[127]["content"][0]["text"], "message 199");
    }

    #[test]
    fn history_keeps_within_the_rendered_token_budget() {
        let long = "x".repeat(MAX_HISTORY_CHARS / 3 + 1);
        let history = vec![
            said(HistoryRole::User, &long),
            said(HistoryRole::Assistant, &long),
            said(HistoryRole::User, &long),
            said(HistoryRole::Assistant, "last"),
        ];
        let v: Value = serde_json::from_str(&config(history).to_event("s")).unwrap();
        let input = v["session"]["input"].as_array().unwrap();
        assert_eq!(input.len(), 3);
        assert_eq!(input[2]["content"][0]["text"], "last");
    }
}
