//! Checks shared by `session.update` and `response.create`: modalities, token limits, tools and
//! tool choice, reasoning, audio formats and voices, as the SDK types and the API reference
//! define them.

use serde_json::Value;

use super::refusal::{Fields, Refusal};

/// `output_modalities`: `["audio"]` or `["text"]`, never both (the API reference).
pub(super) fn check_modalities(path: &str, value: &Value) -> Result<(), Refusal> {
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
pub(super) fn check_max_tokens(path: &str, value: &Value) -> Result<(), Refusal> {
    match value {
        Value::String(s) if s == "inf" => Ok(()),
        Value::Number(n) if n.as_u64().is_some_and(|n| (1..=4096).contains(&n)) => Ok(()),
        Value::Number(_) => Err(Refusal::invalid(path, "expected 1..=4096 or \"inf\".")),
        other => Err(Refusal::wrong_type(path, "an integer or \"inf\"", other)),
    }
}

/// `tool_choice`: a mode, or a function or MCP tool to force.
pub(super) fn check_tool_choice(path: &str, value: &Value) -> Result<(), Refusal> {
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
pub(super) fn check_tools(path: &str, value: &Value) -> Result<(), Refusal> {
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
pub(super) fn check_reasoning(path: &str, value: &Value) -> Result<(), Refusal> {
    Fields::of(path, value, &["effort"])?
        .one_of("effort", &["minimal", "low", "medium", "high", "xhigh"])?;
    Ok(())
}

/// An audio format object: `audio/pcmu`, `audio/pcma`, or `audio/pcm` with `rate: 24000` (the
/// API refuses a PCM format without its rate, and a rate on the G.711 formats).
pub(super) fn check_format(path: &str, value: &Value) -> Result<(), Refusal> {
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
pub(super) fn check_voice(path: &str, value: &Value) -> Result<(), Refusal> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Ok(()),
        Value::String(_) => Err(Refusal::invalid(path, "a voice name cannot be empty.")),
        other => {
            non_empty(&Fields::of(path, other, &["id"])?, "id")?;
            Ok(())
        }
    }
}

fn non_empty<'a>(fields: &Fields<'a>, key: &str) -> Result<&'a str, Refusal> {
    match fields.str(key)? {
        None => Err(Refusal::missing(&fields.path(key))),
        Some("") => Err(Refusal::invalid(&fields.path(key), "cannot be empty.")),
        Some(s) => Ok(s),
    }
}
