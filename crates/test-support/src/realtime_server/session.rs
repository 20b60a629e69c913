//! The session a strict connection holds: the defaults `session.created` reports, the rules a
//! `session.update` must pass (the official SDK's `RealtimeSessionCreateRequest` types, the API
//! reference and refusals seen in public bug threads) and how an accepted update merges.

use serde_json::{Value, json};

use super::refusal::{Fields, Refusal};

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

/// `output_modalities`: `["audio"]` or `["text"]`, never both (the API reference).
pub fn check_modalities(path: &str, value: &Value) -> Result<(), Refusal> {
    let Some(list) = value.as_array() else {
        return Err(Refusal::wrong_type(path, "an array", value));
    };
    if list.len() != 1 || !matches!(list[0].as_str(), Some("audio" | "text")) {
        return Err(Refusal::invalid(
            path,
            "expected [\"audio\"] or [\"text\"]; both at once are not supported.",
        ));
    }
    Ok(())
}

/// `max_output_tokens`: an integer 1..=4096 or `"inf"`.
pub fn check_max_tokens(path: &str, value: &Value) -> Result<(), Refusal> {
    match value {
        Value::String(s) if s == "inf" => Ok(()),
        Value::Number(n) if n.as_u64().is_some_and(|n| (1..=4096).contains(&n)) => Ok(()),
        Value::Number(_) => Err(Refusal::invalid(path, "expected 1..=4096 or \"inf\".")),
        other => Err(Refusal::wrong_type(path, "an integer or \"inf\"", other)),
    }
}

/// `tool_choice`: a mode, or a function or MCP tool to force.
pub fn check_tool_choice(path: &str, value: &Value) -> Result<(), Refusal> {
    match value {
        Value::String(s) if matches!(s.as_str(), "auto" | "none" | "required") => Ok(()),
        Value::String(s) => Err(Refusal::invalid(
            path,
            format!("'{s}'. Supported values are: auto, none, required."),
        )),
        other => {
            let c = Fields::of(path, other, &["type", "name", "server_label"])?;
            match c.one_of("type", &["function", "mcp"])? {
                None => Err(Refusal::missing(&c.path("type"))),
                Some("function") => non_empty(&c, "name").map(drop),
                _ => non_empty(&c, "server_label").map(drop),
            }
        }
    }
}

/// `tools`: functions (`name` matching `^[a-zA-Z0-9_-]{1,64}$`, `parameters` a JSON Schema
/// object) and MCP servers (`server_label`).
pub fn check_tools(path: &str, value: &Value) -> Result<(), Refusal> {
    let Some(tools) = value.as_array() else {
        return Err(Refusal::wrong_type(path, "an array", value));
    };
    for (i, tool) in tools.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let kind = tool.get("type").and_then(Value::as_str);
        if kind == Some("mcp") {
            // MCP tools carry many optional settings; only the label is required.
            let label = tool.get("server_label");
            if label.and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(Refusal::missing(&format!("{at}.server_label")));
            }
            continue;
        }
        let t = Fields::of(&at, tool, &["type", "name", "description", "parameters"])?;
        t.one_of("type", &["function", "mcp"])?;
        let name = non_empty(&t, "name")?;
        let valid_name = name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid_name {
            return Err(Refusal::invalid(
                &t.path("name"),
                format!("'{name}' does not match '^[a-zA-Z0-9_-]{{1,64}}$'."),
            ));
        }
        t.str("description")?;
        if let Some(params) = t.get("parameters")
            && !params.is_object()
        {
            return Err(Refusal::wrong_type(
                &t.path("parameters"),
                "an object",
                params,
            ));
        }
    }
    Ok(())
}

/// `reasoning`: `{effort}` with the SDK's effort levels.
pub fn check_reasoning(path: &str, value: &Value) -> Result<(), Refusal> {
    Fields::of(path, value, &["effort"])?
        .one_of("effort", &["minimal", "low", "medium", "high", "xhigh"])?;
    Ok(())
}

/// An audio format object: `audio/pcmu`, `audio/pcma`, or `audio/pcm` with `rate: 24000` (the
/// API refuses a PCM format without its rate, and a rate on the G.711 formats).
pub fn check_format(path: &str, value: &Value) -> Result<(), Refusal> {
    let f = Fields::of(path, value, &["type", "rate"])?;
    match f.one_of("type", &["audio/pcm", "audio/pcmu", "audio/pcma"])? {
        None => Err(Refusal::missing(&f.path("type"))),
        Some("audio/pcm") => match f.required("rate")? {
            Value::Number(n) if n.as_u64() == Some(24000) => Ok(()),
            other => Err(Refusal::invalid(
                &f.path("rate"),
                format!("{other}; only 24000 is supported."),
            )),
        },
        Some(_) => match f.get("rate") {
            Some(_) => Err(Refusal::unknown(&f.path("rate"))),
            None => Ok(()),
        },
    }
}

/// A voice: a non-empty name or `{id}` of a custom voice.
pub fn check_voice(path: &str, value: &Value) -> Result<(), Refusal> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Ok(()),
        Value::String(_) => Err(Refusal::invalid(path, "a voice name cannot be empty.")),
        other => {
            non_empty(&Fields::of(path, other, &["id"])?, "id")?;
            Ok(())
        }
    }
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

fn non_empty<'a>(fields: &Fields<'a>, key: &str) -> Result<&'a str, Refusal> {
    match fields.str(key)? {
        None => Err(Refusal::missing(&fields.path(key))),
        Some("") => Err(Refusal::invalid(&fields.path(key), "cannot be empty.")),
        Some(s) => Ok(s),
    }
}
