//! The `session.update` a call starts with (GA shape, PROTOCOLS.md §2.2): μ-law both ways so
//! Twilio audio passes through untouched.

use serde_json::{Value, json};

/// How the server decides the caller has finished a turn.
#[derive(Debug, Clone, PartialEq)]
pub enum TurnDetection {
    /// Voice activity detection on energy.
    ServerVad {
        /// 0..1; higher needs louder speech (phone lines are noisy).
        threshold: f32,
        /// Audio kept before speech starts.
        prefix_padding_ms: u32,
        /// Silence that ends a turn.
        silence_duration_ms: u32,
        /// Silence after which `input_audio_buffer.timeout_triggered` fires.
        idle_timeout_ms: Option<u32>,
    },
    /// A model that judges whether the caller is done.
    SemanticVad {
        /// `low`, `medium`, `high` or `auto`.
        eagerness: String,
    },
}

impl Default for TurnDetection {
    fn default() -> Self {
        Self::ServerVad {
            threshold: 0.5,
            prefix_padding_ms: 300,
            silence_duration_ms: 500,
            idle_timeout_ms: None,
        }
    }
}

/// Everything that configures a call's session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// `gpt-realtime`, …
    pub model: String,
    /// `marin`, `cedar`, …
    pub voice: String,
    /// System instructions (persona, time, caller memory).
    pub instructions: String,
    /// Turn detection.
    pub turn_detection: TurnDetection,
    /// Input transcription model; `None` turns transcripts of the caller off.
    pub transcription_model: Option<String>,
    /// Tools as `{type:"function", name, description, parameters}`.
    pub tools: Vec<Value>,
}

impl SessionConfig {
    /// The `session.update` event, tagged with `event_id` (echoed by a refusal).
    pub fn to_event(&self, event_id: &str) -> String {
        let turn_detection = match &self.turn_detection {
            TurnDetection::ServerVad {
                threshold,
                prefix_padding_ms,
                silence_duration_ms,
                idle_timeout_ms,
            } => json!({
                "type": "server_vad", "threshold": threshold, "prefix_padding_ms": prefix_padding_ms,
                "silence_duration_ms": silence_duration_ms, "idle_timeout_ms": idle_timeout_ms,
                "create_response": true, "interrupt_response": true
            }),
            TurnDetection::SemanticVad { eagerness } => json!({
                "type": "semantic_vad", "eagerness": eagerness, "create_response": true, "interrupt_response": true
            }),
        };
        let mut input = json!({
            "format": {"type": "audio/pcmu"},
            "noise_reduction": {"type": "near_field"},
            "turn_detection": turn_detection,
        });
        if let Some(model) = &self.transcription_model {
            input["transcription"] = json!({"model": model});
        }
        json!({"type": "session.update", "event_id": event_id, "session": {
            "type": "realtime",
            "model": self.model,
            "output_modalities": ["audio"],
            "instructions": self.instructions,
            "audio": {"input": input, "output": {"format": {"type": "audio/pcmu"}, "voice": self.voice}},
            "tools": self.tools,
            "tool_choice": "auto",
        }})
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_update_is_ga_pcmu_both_ways() {
        let config = SessionConfig {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
            instructions: "Be brief.".into(),
            turn_detection: TurnDetection::default(),
            transcription_model: Some("gpt-4o-transcribe".into()),
            tools: vec![],
        };
        let v: Value = serde_json::from_str(&config.to_event("session-1")).unwrap();
        assert_eq!(v["event_id"], "session-1");
        assert_eq!(v["session"]["type"], "realtime");
        assert_eq!(
            v["session"]["audio"]["input"]["format"]["type"],
            "audio/pcmu"
        );
        assert_eq!(
            v["session"]["audio"]["output"]["format"]["type"],
            "audio/pcmu"
        );
        assert_eq!(
            v["session"]["audio"]["input"]["turn_detection"]["type"],
            "server_vad"
        );
        assert_eq!(
            v["session"]["audio"]["input"]["transcription"]["model"],
            "gpt-4o-transcribe"
        );
        // Beta-only fields must not appear.
        assert!(v["session"].get("input_audio_format").is_none());
        assert!(v["session"].get("modalities").is_none());
    }
}
