//! The session a strict connection holds: the defaults `session.created` reports, the rules a
//! `session.update` must pass (the official SDK's `RealtimeSessionCreateRequest` types, the API
//! reference and refusals seen in public bug threads) and how an accepted update merges.

use serde_json::{Value, json};

use super::refusal::{Fields, Refusal};
use super::values::{
    check_format, check_max_tokens, check_modalities, check_reasoning, check_tool_choice,
    check_tools, check_voice,
};

const SESSION_FIELDS: &[&str] = &[
    "type",
    "audio",
    "include",
    "instructions",
    "max_output_tokens",
    "model",
    "output_modalities",
    "parallel_tool_calls",
    "prompt",
    "reasoning",
    "tool_choice",
    "tools",
    "tracing",
    "truncation",
];

/// The session `session.created` reports: the server's defaults (PCM 24 kHz, server VAD that
/// creates and interrupts responses) and the model of the connection URL.
pub fn default_session(id: &str, model: &str) -> Value {
    json!({
        "type": "realtime",
        "object": "realtime.session",
        "id": id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": "You are a helpful assistant.",
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": null,
                "noise_reduction": null,
                "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
                    "silence_duration_ms": 200, "idle_timeout_ms": null,
                    "create_response": true, "interrupt_response": true},
            },
            "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy", "speed": 1.0},
        },
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": null,
        "truncation": "auto",
        "expires_at": 0,
    })
}

/// Checks a `session.update`'s `session` against the connection's model (fixed by the URL) and,
/// once the assistant has spoken, its voice (locked by the API after the first audio).
pub fn check_update(
    session: &Value,
    url_model: &str,
    locked_voice: Option<&Value>,
) -> Result<(), Refusal> {
    let s = Fields::of("session", session, SESSION_FIELDS)?;
    match s.str("type")? {
        None => return Err(Refusal::missing("session.type")),
        Some("realtime") => {}
        Some(other) => {
            return Err(Refusal::invalid(
                "session.type",
                format!("'{other}': this is a realtime session and its type cannot change."),
            ));
        }
    }
    if let Some(model) = s.str("model")?
        && model != url_model
    {
        return Err(Refusal::invalid(
            "session.model",
            format!(
                "the model cannot be changed by session.update: this session runs '{url_model}' (the model of the connection URL), not '{model}'."
            ),
        ));
    }
    s.str("instructions")?;
    if let Some(modalities) = s.get("output_modalities") {
        check_modalities("session.output_modalities", modalities)?;
    }
    if let Some(max) = s.get("max_output_tokens") {
        check_max_tokens("session.max_output_tokens", max)?;
    }
    if let Some(choice) = s.get("tool_choice") {
        check_tool_choice("session.tool_choice", choice)?;
    }
    if let Some(tools) = s.get("tools") {
        check_tools("session.tools", tools)?;
    }
    if let Some(audio) = s.get("audio") {
        check_audio(audio, locked_voice)?;
    }
    match s.get("tracing") {
        None | Some(Value::Null) => {}
        Some(Value::String(v)) if v == "auto" => {}
        Some(other) => {
            Fields::of(
                "session.tracing",
                other,
                &["workflow_name", "group_id", "metadata"],
            )?;
        }
    }
    match s.get("truncation") {
        None => {}
        Some(Value::String(v)) if v == "auto" || v == "disabled" => {}
        Some(other) => {
            let t = Fields::of(
                "session.truncation",
                other,
                &["type", "retention_ratio", "token_limits"],
            )?;
            t.one_of("type", &["retention_ratio"])?;
            t.number("retention_ratio", 0.0, 1.0)?;
        }
    }
    if let Some(reasoning) = s.get("reasoning") {
        check_reasoning("session.reasoning", reasoning)?;
    }
    s.bool("parallel_tool_calls")?;
    if let Some(include) = s.get("include") {
        let Some(list) = include.as_array() else {
            return Err(Refusal::wrong_type("session.include", "an array", include));
        };
        if let Some(bad) = list
            .iter()
            .find(|v| v.as_str() != Some("item.input_audio_transcription.logprobs"))
        {
            return Err(Refusal::invalid("session.include", format!("{bad}.")));
        }
    }
    if let Some(prompt) = s.get("prompt") {
        Fields::of("session.prompt", prompt, &["id", "variables", "version"])?.required("id")?;
    }
    Ok(())
}

/// Applies an accepted update: a field present replaces the current one, except under `audio`,
/// where `input` and `output` are merged field by field (what the update omits stays).
pub fn merge(current: &mut Value, update: &Value) {
    let Some(update) = update.as_object() else {
        return;
    };
    for (key, value) in update {
        if key == "audio" {
            for side in ["input", "output"] {
                if let Some(fields) = value.get(side).and_then(Value::as_object) {
                    for (k, v) in fields {
                        current["audio"][side][k] = v.clone();
                    }
                }
            }
        } else {
            current[key] = value.clone();
        }
    }
}

/// Bytes of output audio per millisecond in the session's output format (μ-law and A-law: 8;
/// PCM16 at 24 kHz: 48).
pub fn output_bytes_per_ms(session: &Value) -> usize {
    match session["audio"]["output"]["format"]["type"].as_str() {
        Some("audio/pcm") => 48,
        _ => 8,
    }
}

/// Bytes of input audio per millisecond in the session's input format.
pub fn input_bytes_per_ms(session: &Value) -> usize {
    match session["audio"]["input"]["format"]["type"].as_str() {
        Some("audio/pcm") => 48,
        _ => 8,
    }
}

/// Whether turn detection (server or semantic VAD) is on.
pub fn vad_on(session: &Value) -> bool {
    session["audio"]["input"]["turn_detection"].is_object()
}

/// A turn-detection flag (`create_response`, `interrupt_response`); both default to true.
pub fn vad_flag(session: &Value, flag: &str) -> bool {
    session["audio"]["input"]["turn_detection"][flag]
        .as_bool()
        .unwrap_or(true)
}

fn check_audio(audio: &Value, locked_voice: Option<&Value>) -> Result<(), Refusal> {
    let a = Fields::of("session.audio", audio, &["input", "output"])?;
    if let Some(input) = a.get("input") {
        let i = Fields::of(
            "session.audio.input",
            input,
            &[
                "format",
                "noise_reduction",
                "transcription",
                "turn_detection",
            ],
        )?;
        if let Some(format) = i.get("format") {
            check_format(&i.path("format"), format)?;
        }
        match i.get("noise_reduction") {
            None | Some(Value::Null) => {}
            Some(nr) => {
                let n = Fields::of(&i.path("noise_reduction"), nr, &["type", "strength"])?;
                n.one_of("type", &["near_field", "far_field"])?;
                n.number("strength", 0.0, f64::MAX)?;
            }
        }
        match i.get("transcription") {
            None | Some(Value::Null) => {}
            Some(t) => {
                let t = Fields::of(
                    &i.path("transcription"),
                    t,
                    &[
                        "model",
                        "language",
                        "languages",
                        "prompt",
                        "delay",
                        "keywords",
                    ],
                )?;
                t.str("model")?;
                t.str("language")?;
                t.str("prompt")?;
            }
        }
        match i.get("turn_detection") {
            None | Some(Value::Null) => {}
            Some(td) => check_turn_detection(&i.path("turn_detection"), td)?,
        }
    }
    if let Some(output) = a.get("output") {
        let o = Fields::of(
            "session.audio.output",
            output,
            &["format", "voice", "speed"],
        )?;
        if let Some(format) = o.get("format") {
            check_format(&o.path("format"), format)?;
        }
        if let Some(voice) = o.get("voice") {
            check_voice(&o.path("voice"), voice)?;
            if let Some(locked) = locked_voice
                && locked != voice
            {
                return Err(Refusal::new(
                    "cannot_update_voice",
                    "Cannot update a conversation's voice if assistant audio is present.",
                    Some("session.audio.output.voice"),
                ));
            }
        }
        o.number("speed", 0.25, 1.5)?;
    }
    Ok(())
}

fn check_turn_detection(path: &str, value: &Value) -> Result<(), Refusal> {
    let kind = value.get("type").and_then(Value::as_str);
    match kind {
        Some("server_vad") => {
            let t = Fields::of(
                path,
                value,
                &[
                    "type",
                    "threshold",
                    "prefix_padding_ms",
                    "silence_duration_ms",
                    "idle_timeout_ms",
                    "create_response",
                    "interrupt_response",
                ],
            )?;
            t.number("threshold", 0.0, 1.0)?;
            t.integer("prefix_padding_ms", false)?;
            t.integer("silence_duration_ms", false)?;
            t.integer("idle_timeout_ms", true)?;
            t.bool("create_response")?;
            t.bool("interrupt_response")?;
        }
        Some("semantic_vad") => {
            let t = Fields::of(
                path,
                value,
                &["type", "eagerness", "create_response", "interrupt_response"],
            )?;
            t.one_of("eagerness", &["low", "medium", "high", "auto"])?;
            t.bool("create_response")?;
            t.bool("interrupt_response")?;
        }
        Some(other) => {
            return Err(Refusal::invalid(
                &format!("{path}.type"),
                format!("'{other}'. Supported values are: server_vad, semantic_vad."),
            ));
        }
        None => return Err(Refusal::missing(&format!("{path}.type"))),
    }
    Ok(())
}
