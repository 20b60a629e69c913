//! What Chat Completions refuses in a structured-output request (`response_format:
//! {"type": "json_schema", …}`), so [`crate::openai_chat::ChatTestServer`] refuses it too with a
//! 400 and OpenAI's wording. The rules are those of OpenAI's "Structured Outputs" guide for
//! `strict: true`: the root is an object; every object schema sets `additionalProperties: false`
//! and lists every key of `properties` in `required`; the name is 1–64 of `[a-zA-Z0-9_-]`.

use serde_json::Value;

/// `Ok` for a body without `response_format` or with a valid one; otherwise OpenAI's message.
pub fn check_response_format(body: &Value) -> Result<(), String> {
    let Some(format) = body.get("response_format") else {
        return Ok(());
    };
    match format["type"].as_str() {
        Some("text" | "json_object") => return Ok(()),
        Some("json_schema") => {}
        _ => return Err("Invalid value for 'response_format.type'.".into()),
    }
    let spec = &format["json_schema"];
    let name = spec["name"].as_str().unwrap_or_default();
    let name_ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !name_ok {
        return Err(
            "Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.".into(),
        );
    }
    let Some(schema) = spec.get("schema").filter(|s| s.is_object()) else {
        return Err("Missing required parameter: 'response_format.json_schema.schema'.".into());
    };
    if spec["strict"] != Value::Bool(true) {
        // Not strict: OpenAI accepts any schema (and enforces none of it).
        return Ok(());
    }
    if schema["type"] != "object" {
        return Err(format!(
            "Invalid schema for response_format '{name}': schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{}\"'.",
            schema["type"].as_str().unwrap_or("None")
        ));
    }
    check_strict(name, schema, "()")
}

fn check_strict(name: &str, schema: &Value, context: &str) -> Result<(), String> {
    let invalid = |why: String| {
        Err(format!(
            "Invalid schema for response_format '{name}': In context={context}, {why}"
        ))
    };
    let is_object = schema["type"] == "object"
        || schema["type"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "object"));
    if is_object || schema.get("properties").is_some() {
        if schema.get("additionalProperties") != Some(&Value::Bool(false)) {
            return invalid(
                "'additionalProperties' is required to be supplied and to be false.".into(),
            );
        }
        let properties = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for key in properties.keys() {
            if !required.contains(&key.as_str()) {
                return invalid(format!(
                    "'required' is required to be supplied and to be an array including every key in properties. Missing '{key}'."
                ));
            }
        }
        if let Some(extra) = required.iter().find(|r| !properties.contains_key(**r)) {
            return invalid(format!(
                "'required' includes '{extra}', which is not in properties."
            ));
        }
        for (key, sub) in &properties {
            check_strict(name, sub, &format!("{context}, 'properties', '{key}'"))?;
        }
    }
    if let Some(items) = schema.get("items") {
        check_strict(name, items, &format!("{context}, 'items'"))?;
    }
    for keyword in ["anyOf", "allOf"] {
        for (i, sub) in schema[keyword].as_array().into_iter().flatten().enumerate() {
            check_strict(name, sub, &format!("{context}, '{keyword}', {i}"))?;
        }
    }
    for keyword in ["$defs", "definitions"] {
        for (key, sub) in schema[keyword].as_object().into_iter().flatten() {
            check_strict(name, sub, &format!("{context}, '{keyword}', '{key}'"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(schema: Value) -> Value {
        json!({"model": "m", "messages": [], "response_format": {"type": "json_schema",
            "json_schema": {"name": "call_analysis", "strict": true, "schema": schema}}})
    }

    #[test]
    fn strict_schemas_need_closed_objects_with_every_key_required() {
        let good = json!({"type": "object", "additionalProperties": false, "required": ["a", "b"],
            "properties": {"a": {"type": "string"}, "b": {"type": "object",
            "additionalProperties": false, "required": [], "properties": {}}}});
        assert_eq!(check_response_format(&request(good)), Ok(()));
        let open = json!({"type": "object", "required": [], "properties": {}});
        assert!(
            check_response_format(&request(open))
                .unwrap_err()
                .contains("additionalProperties")
        );
        let optional = json!({"type": "object", "additionalProperties": false, "required": [],
            "properties": {"a": {"type": "string"}}});
        assert!(
            check_response_format(&request(optional))
                .unwrap_err()
                .contains("Missing 'a'")
        );
        let nested = json!({"type": "object", "additionalProperties": false, "required": ["n"],
            "properties": {"n": {"type": "object", "properties": {}}}});
        let err = check_response_format(&request(nested)).unwrap_err();
        assert!(err.contains("'properties', 'n'"), "{err}");
        assert!(check_response_format(&request(json!({"type": "array"}))).is_err());
        assert_eq!(check_response_format(&json!({"model": "m"})), Ok(()));
    }
}
