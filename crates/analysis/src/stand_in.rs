//! The offline stand-in: an analysis derived mechanically from the transcript, the tool calls
//! and the schema's types, so the demo and the tests run without an OpenAI key. It is
//! deterministic (the same call gives the same analysis) and says in its summary and its
//! `source` that no model read the call.

use phone_core::store::ToolCallRecord;
use phone_core::{Role, Turn};
use serde_json::{Map, Value, json};

/// The stand-in's `model` name in the stored record.
pub const STAND_IN_MODEL: &str = "stand-in";

/// Most characters of the caller's first words quoted in the summary.
const QUOTE_CHARS: usize = 120;

/// What the stand-in makes of a call: `{summary, fields, success, reason}`, the same shape the
/// model answers with (it is validated the same way).
pub fn analyze(fields_schema: &Value, turns: &[Turn], tools: &[ToolCallRecord]) -> Value {
    let text = turns
        .iter()
        .map(|t| t.text.to_lowercase())
        .collect::<Vec<_>>()
        .join(" \n");
    let said_by = |role| turns.iter().filter(|t| t.role == role).count();
    let (caller, assistant) = (said_by(Role::Caller), said_by(Role::Assistant));
    let ran: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    let failed = tools.iter().filter(|t| t.is_error).count();
    let first_words = turns
        .iter()
        .find(|t| t.role == Role::Caller)
        .map(|t| t.text.chars().take(QUOTE_CHARS).collect::<String>());
    let mut summary = format!(
        "Stand-in analysis (no OpenAI key; no model read this call): {} turns, {caller} from the caller.",
        turns.len()
    );
    if let Some(words) = &first_words {
        summary.push_str(&format!(" The caller first said: \"{words}\"."));
    }
    if !ran.is_empty() {
        summary.push_str(&format!(" Tools run: {}.", ran.join(", ")));
    }
    let success = caller > 0 && assistant > 0 && failed == 0;
    let reason = format!(
        "Stand-in rule: success when both sides spoke and no tool failed ({caller} caller turns, {assistant} assistant turns, {failed} failed tools)."
    );
    let context = Context {
        text: &text,
        tools,
        caller_turns: caller as u64,
    };
    let fields = match value_for(fields_schema, "", &context) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    json!({"summary": summary, "fields": fields, "success": success, "reason": reason})
}

struct Context<'a> {
    /// The transcript, lower-case.
    text: &'a str,
    tools: &'a [ToolCallRecord],
    caller_turns: u64,
}

/// A value of `schema`'s type for the field `name`.
fn value_for(schema: &Value, name: &str, ctx: &Context<'_>) -> Value {
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    if let Some(first) = schema["anyOf"].as_array().and_then(|a| a.first()) {
        return value_for(first, name, ctx);
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let nullable = types.contains(&"null");
    match types.iter().copied().find(|t| *t != "null") {
        Some("object") => {
            let mut out = Map::new();
            for (key, sub) in schema["properties"].as_object().into_iter().flatten() {
                out.insert(key.clone(), value_for(sub, key, ctx));
            }
            Value::Object(out)
        }
        Some("boolean") => Value::Bool(mentioned(name, ctx)),
        Some("integer" | "number") => {
            let low = schema["minimum"].as_u64().unwrap_or(0);
            let high = schema["maximum"].as_u64().unwrap_or(u64::MAX);
            json!(ctx.caller_turns.clamp(low, high.max(low)))
        }
        Some("array") => json!([]),
        Some("string") => {
            let wants_number = ["number", "phone"].iter().any(|w| name.contains(w));
            match wants_number.then(|| first_phone_number(ctx.text)).flatten() {
                Some(number) => Value::String(number),
                None if nullable => Value::Null,
                None => Value::String("(stand-in: not determined)".into()),
            }
        }
        _ => Value::Null,
    }
}

/// Whether the words of a field's name (their first four letters, so `booked` matches
/// "booking") all occur in the transcript, or one of them names a tool that ran without error.
fn mentioned(name: &str, ctx: &Context<'_>) -> bool {
    let stems: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() > 2)
        .map(|w| w.to_lowercase().chars().take(4).collect())
        .collect();
    if stems.is_empty() {
        return false;
    }
    let in_text = stems.iter().all(|s| ctx.text.contains(s.as_str()));
    let by_tool = ctx
        .tools
        .iter()
        .filter(|t| !t.is_error)
        .any(|t| stems.iter().any(|s| t.name.contains(s.as_str())));
    in_text || by_tool
}

/// The first `+` followed by 8 to 15 digits (spaces and dashes between them allowed).
fn first_phone_number(text: &str) -> Option<String> {
    for (start, _) in text.match_indices('+') {
        let mut digits = String::from("+");
        for c in text[start + 1..].chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' if digits.len() > 1 => {}
                _ => break,
            }
        }
        if (9..=16).contains(&digits.len()) {
            return Some(digits);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::spec::default_fields_schema;

    fn turn(seq: u32, role: Role, text: &str) -> Turn {
        Turn::new(seq, role, text, OffsetDateTime::UNIX_EPOCH)
    }

    #[test]
    fn fields_follow_the_transcript_and_the_types() {
        let turns = [
            turn(
                0,
                Role::Caller,
                "I'd like to book an appointment, call me on +1 415 555 0123",
            ),
            turn(1, Role::Assistant, "Your appointment is booked."),
        ];
        let out = analyze(&default_fields_schema(), &turns, &[]);
        assert_eq!(out["fields"]["appointment_booked"], true);
        assert_eq!(out["fields"]["callback_number"], "+14155550123");
        assert_eq!(out["success"], true);
        assert!(
            out["summary"]
                .as_str()
                .unwrap()
                .starts_with("Stand-in analysis")
        );
        assert_eq!(
            out,
            analyze(&default_fields_schema(), &turns, &[]),
            "deterministic"
        );

        let silent = analyze(&default_fields_schema(), &[], &[]);
        assert_eq!(silent["fields"]["appointment_booked"], false);
        assert_eq!(silent["fields"]["callback_number"], Value::Null);
        assert_eq!(silent["success"], false);
    }
}
