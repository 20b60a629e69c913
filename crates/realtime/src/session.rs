//! The `session.update` a call starts with (GA shape, PROTOCOLS.md §2.2): μ-law both ways so
//! Twilio audio passes through untouched.
//!
//! It never names the model: the socket's model is the `?model=` of the URL it was opened with,
//! and the API reference says `session.update` may change anything "except for `voice` and
//! `model`".

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

/// Whether `model` takes `reasoning` (the `gpt-realtime-2` family: `gpt-realtime-2`,
/// `gpt-realtime-2.1`, `gpt-realtime-2.1-mini` and their snapshots). `gpt-realtime`,
/// `gpt-realtime-mini`, `gpt-realtime-1.5` and dated `gpt-realtime-2025-…` snapshots do not.
pub fn takes_reasoning(model: &str) -> bool {
    let Some(rest) = model.strip_prefix("gpt-realtime-") else {
        return false;
    };
    let version = rest.split('-').next().unwrap_or("");
    let major = version.split('.').next().unwrap_or("");
    // `2025` (of `gpt-realtime-2025-08-28`) is a date, not a version.
    matches!(major.parse::<u32>(), Ok(2..=99))
}

/// Everything that configures a call's session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
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
    /// `reasoning.effort` (`minimal` … `xhigh`); `None` leaves `reasoning` out, as models
    /// outside the `gpt-realtime-2` family need (see [`takes_reasoning`]).
    pub reasoning_effort: Option<String>,
}

impl SessionConfig {
    /// The `session.update` event, tagged with `event_id` so a refusal (`error.event_id`) can be
    /// traced back to it.
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
        let mut session = json!({
            "type": "realtime",
            "output_modalities": ["audio"],
            "instructions": self.instructions,
            "audio": {"input": input, "output": {"format": {"type": "audio/pcmu"}, "voice": self.voice}},
            "tools": self.tools,
            "tool_choice": "auto",
        });
        if let Some(effort) = &self.reasoning_effort {
            session["reasoning"] = json!({"effort": effort});
        }
        json!({"type": "session.update", "event_id": event_id, "session": session}).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(reasoning_effort: Option<&str>) -> SessionConfig {
        SessionConfig {
            voice: "marin".into(),
            instructions: "Be brief.".into(),
            turn_detection: TurnDetection::default(),
            transcription_model: Some("gpt-transcribe".into()),
            tools: vec![],
            reasoning_effort: reasoning_effort.map(str::to_owned),
        }
    }

    #[test]
    fn session_update_is_ga_pcmu_both_ways() {
        let v: Value = serde_json::from_str(&config(None).to_event("session-1")).unwrap();
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
            "gpt-transcribe"
        );
        // Beta-only fields must not appear.
        assert!(v["session"].get("input_audio_format").is_none());
        assert!(v["session"].get("modalities").is_none());
    }

    #[test]
    fn session_update_carries_its_event_id_and_no_model() {
        let v: Value = serde_json::from_str(&config(None).to_event("session-7")).unwrap();
        assert_eq!(v["event_id"], "session-7");
        assert!(v["session"].get("model").is_none(), "{v}");
        assert!(v.get("model").is_none(), "{v}");
        assert!(v["session"].get("reasoning").is_none(), "{v}");
    }

    #[test]
    fn reasoning_effort_is_sent_when_given() {
        let v: Value = serde_json::from_str(&config(Some("low")).to_event("s")).unwrap();
        assert_eq!(v["session"]["reasoning"], json!({"effort": "low"}));
    }

    #[test]
    fn only_the_gpt_realtime_2_family_takes_reasoning() {
        for model in [
            "gpt-realtime-2",
            "gpt-realtime-2.1",
            "gpt-realtime-2.1-mini",
            "gpt-realtime-2-2026-05-07",
        ] {
            assert!(takes_reasoning(model), "{model}");
        }
        for model in [
            "gpt-realtime",
            "gpt-realtime-mini",
            "gpt-realtime-mini-2025-12-15",
            "gpt-realtime-1.5",
            "gpt-realtime-2025-08-28",
            "gpt-4o-realtime-preview",
            "gpt-live-1",
        ] {
            assert!(!takes_reasoning(model), "{model}");
        }
    }
}
