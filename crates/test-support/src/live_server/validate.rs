//! What the double refuses in a `session.start`, as GPT-Live does: the config is strict
//! (unknown fields are refused), the model is required, and this double serves a Twilio bridge,
//! so `audio.format` must be `audio/pcmu` at 8000 Hz.

use serde_json::{Map, Value};

/// A refusal: `error.code`, `error.message`, `error.param`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Machine code.
    pub code: &'static str,
    /// Human message.
    pub message: String,
    /// The offending parameter.
    pub param: Option<String>,
}

fn refuse(code: &'static str, param: &str, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
        param: Some(param.to_owned()),
    }
}

/// The models a session may use.
pub const MODELS: [&str; 2] = ["gpt-live-1", "gpt-live-1.1"];

const SESSION_KEYS: [&str; 9] = [
    "model",
    "audio",
    "client",
    "delegation",
    "input",
    "instructions",
    "safety_identifier",
    "store",
    "triggers",
];
const RESPONSES_KEYS: [&str; 9] = [
    "model",
    "instructions",
    "max_output_tokens",
    "parallel_tool_calls",
    "reasoning",
    "service_tier",
    "text",
    "tool_choice",
    "tools",
];
const EFFORTS: [&str; 6] = ["none", "minimal", "low", "medium", "high", "xhigh"];

/// Refuses any key of `object` not in `allowed`.
fn only(object: &Map<String, Value>, allowed: &[&str], path: &str) -> Result<(), Refusal> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(refuse(
            "unknown_parameter",
            &format!("{path}.{key}"),
            format!("Unknown parameter: '{path}.{key}'."),
        )),
        None => Ok(()),
    }
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, Refusal> {
    value
        .as_object()
        .ok_or_else(|| refuse("invalid_type", path, format!("'{path}' must be an object.")))
}

fn string<'a>(value: &'a Value, path: &str) -> Result<&'a str, Refusal> {
    value
        .as_str()
        .ok_or_else(|| refuse("invalid_type", path, format!("'{path}' must be a string.")))
}

/// Checks a `session.start`'s `session`.
pub fn session_config(session: &Value) -> Result<(), Refusal> {
    let s = object(session, "session")?;
    only(s, &SESSION_KEYS, "session")?;
    let Some(model) = s.get("model") else {
        return Err(refuse(
            "missing_required_parameter",
            "session.model",
            "Missing required parameter: 'session.model'.",
        ));
    };
    let model = string(model, "session.model")?;
    if !MODELS.contains(&model) {
        return Err(refuse(
            "model_not_found",
            "session.model",
            format!("The model '{model}' does not exist or is not a Live model."),
        ));
    }
    for (key, kind) in [
        ("instructions", "string"),
        ("safety_identifier", "string"),
        ("store", "bool"),
    ] {
        if let Some(v) = s.get(key) {
            let ok = if kind == "bool" {
                v.is_boolean()
            } else {
                v.is_string()
            };
            if !ok {
                let path = format!("session.{key}");
                return Err(refuse(
                    "invalid_type",
                    &path,
                    format!("'{path}' must be a {kind}."),
                ));
            }
        }
    }
    audio(s.get("audio"))?;
    if let Some(delegation) = s.get("delegation").filter(|d| !d.is_null()) {
        delegation_config(delegation)?;
    }
    if let Some(input) = s.get("input") {
        history(input)?;
    }
    Ok(())
}

fn audio(audio: Option<&Value>) -> Result<(), Refusal> {
    let needed = || {
        refuse(
            "unsupported_audio_format",
            "session.audio.format",
            "This double serves a Twilio bridge: session.audio.format must be \
             {\"type\":\"audio/pcmu\",\"rate\":8000}.",
        )
    };
    let a = object(audio.ok_or_else(needed)?, "session.audio")?;
    only(a, &["format", "output"], "session.audio")?;
    let f = object(a.get("format").ok_or_else(needed)?, "session.audio.format")?;
    only(f, &["type", "rate"], "session.audio.format")?;
    let kind = string(
        f.get("type").unwrap_or(&Value::Null),
        "session.audio.format.type",
    )?;
    if !["audio/pcm", "audio/pcmu", "audio/pcma"].contains(&kind) {
        return Err(refuse(
            "invalid_value",
            "session.audio.format.type",
            format!("Invalid audio format '{kind}'."),
        ));
    }
    let Some(rate) = f.get("rate").and_then(Value::as_u64) else {
        return Err(refuse(
            "missing_required_parameter",
            "session.audio.format.rate",
            "Missing required parameter: 'session.audio.format.rate'.",
        ));
    };
    if kind != "audio/pcmu" || rate != 8000 {
        return Err(needed());
    }
    if let Some(output) = a.get("output") {
        let o = object(output, "session.audio.output")?;
        only(o, &["voice"], "session.audio.output")?;
        match o.get("voice") {
            None | Some(Value::String(_)) => {}
            Some(Value::Object(v)) if v.get("id").is_some_and(Value::is_string) => {}
            Some(_) => {
                return Err(refuse(
                    "invalid_value",
                    "session.audio.output.voice",
                    "A voice is a built-in name or {\"id\":\"voice_…\"}.",
                ));
            }
        }
    }
    Ok(())
}

fn delegation_config(delegation: &Value) -> Result<(), Refusal> {
    let d = object(delegation, "session.delegation")?;
    match d.get("type").and_then(Value::as_str) {
        Some("client") => only(
            d,
            &["type", "acknowledgement_delay_ms"],
            "session.delegation",
        ),
        Some("decisions") => only(
            d,
            &["type", "decisions", "acknowledgement_delay_ms"],
            "session.delegation",
        ),
        Some("responses") => {
            only(
                d,
                &["type", "responses", "acknowledgement_delay_ms"],
                "session.delegation",
            )?;
            let path = "session.delegation.responses";
            let r = object(d.get("responses").unwrap_or(&Value::Null), path)?;
            only(r, &RESPONSES_KEYS, path)?;
            string(
                r.get("model").unwrap_or(&Value::Null),
                &format!("{path}.model"),
            )?;
            if let Some(effort) = r.get("reasoning").map(|r| &r["effort"])
                && !effort.is_null()
                && !effort.as_str().is_some_and(|e| EFFORTS.contains(&e))
            {
                let p = format!("{path}.reasoning.effort");
                return Err(refuse("invalid_value", &p, format!("Invalid '{p}'.")));
            }
            for (i, tool) in r
                .get("tools")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let p = format!("{path}.tools[{i}]");
                let t = object(tool, &p)?;
                if t.get("type").and_then(Value::as_str) == Some("function") {
                    only(
                        t,
                        &["type", "name", "description", "parameters", "strict"],
                        &p,
                    )?;
                    string(t.get("name").unwrap_or(&Value::Null), &format!("{p}.name"))?;
                }
            }
            Ok(())
        }
        _ => Err(refuse(
            "invalid_value",
            "session.delegation.type",
            "session.delegation.type must be client, responses or decisions.",
        )),
    }
}

fn history(input: &Value) -> Result<(), Refusal> {
    let items = input.as_array().ok_or_else(|| {
        refuse(
            "invalid_type",
            "session.input",
            "'session.input' must be an array.",
        )
    })?;
    if items.len() > 128 {
        return Err(refuse(
            "too_many_items",
            "session.input",
            "At most 128 startup messages.",
        ));
    }
    for (i, item) in items.iter().enumerate() {
        let p = format!("session.input[{i}]");
        let m = object(item, &p)?;
        only(m, &["type", "role", "content", "id", "status"], &p)?;
        let parts: &[&str] = match m.get("role").and_then(Value::as_str) {
            Some("developer" | "user") => &["input_text"],
            Some("assistant") => &["output_text", "text"],
            _ => {
                return Err(refuse(
                    "invalid_value",
                    &format!("{p}.role"),
                    "Invalid role.",
                ));
            }
        };
        let content = m.get("content").and_then(Value::as_array);
        let [part] = content.map(Vec::as_slice).unwrap_or_default() else {
            let message = "Supply exactly one text part.";
            return Err(refuse("invalid_value", &format!("{p}.content"), message));
        };
        let kind = part["type"].as_str().unwrap_or("");
        if !parts.contains(&kind) || !part["text"].is_string() {
            let message = format!("Invalid text part of type '{kind}'.");
            return Err(refuse("invalid_value", &format!("{p}.content[0]"), message));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn good() -> Value {
        json!({"model": "gpt-live-1.1", "instructions": "Hi",
               "audio": {"format": {"type": "audio/pcmu", "rate": 8000}, "output": {"voice": "marin"}},
               "delegation": {"type": "responses", "responses": {"model": "gpt-5.6-terra",
                   "tools": [{"type": "function", "name": "create_event"}],
                   "tool_choice": "auto", "parallel_tool_calls": false,
                   "reasoning": {"effort": "low"}}}})
    }

    #[test]
    fn a_bridge_config_passes_and_each_fault_is_named() {
        assert_eq!(session_config(&good()), Ok(()));
        let cases = [
            ("/voice", json!("marin"), "session.voice"),
            ("/model", Value::Null, "session.model"),
            ("/model", json!("gpt-realtime"), "session.model"),
            (
                "/audio/format",
                json!({"type": "audio/pcmu"}),
                "session.audio.format.rate",
            ),
            (
                "/audio/format",
                json!({"type": "audio/pcm", "rate": 24000}),
                "session.audio.format",
            ),
            (
                "/delegation/responses/temperature",
                json!(1),
                "session.delegation.responses.temperature",
            ),
            (
                "/input",
                json!([{"role": "user", "content": []}]),
                "session.input[0].content",
            ),
        ];
        for (pointer, value, param) in cases {
            let mut session = good();
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            let target = if parent.is_empty() {
                &mut session
            } else {
                session.pointer_mut(parent).unwrap()
            };
            if value.is_null() {
                target.as_object_mut().unwrap().remove(key);
            } else {
                target[key] = value;
            }
            let refusal = session_config(&session).unwrap_err();
            assert_eq!(
                refusal.param.as_deref(),
                Some(param),
                "{pointer}: {refusal:?}"
            );
        }
    }
}
