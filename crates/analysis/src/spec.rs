//! The operator's fields schema (`ANALYSIS_SCHEMA`) and goal (`ANALYSIS_GOAL`), and the schema
//! of the model's whole answer: `{summary, fields, success, reason}` with `fields` the
//! operator's schema.

use jsonschema::Validator;
use phone_core::ports::JsonSchemaFormat;
use serde_json::{Value, json};

/// The name of the answer's schema in the request (`response_format.json_schema.name`).
pub const SCHEMA_NAME: &str = "call_analysis";

/// The goal used when `ANALYSIS_GOAL` is not set.
pub const DEFAULT_GOAL: &str = "The caller's request was handled: what they asked for was done, booked or passed on to the owner, or they were told clearly why not.";

/// Why the operator's schema cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Not a JSON Schema the validator can compile.
    #[error("ANALYSIS_SCHEMA is not a usable JSON Schema: {0}")]
    Invalid(String),
    /// Outside OpenAI's strict structured-output subset.
    #[error("ANALYSIS_SCHEMA is outside the strict structured-output subset at {at}: {why}")]
    NotStrict {
        /// Where, as a JSON pointer into the schema.
        at: String,
        /// What is wrong.
        why: String,
    },
}

/// The default fields: whether an appointment was booked, and a number to call back.
pub fn default_fields_schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["appointment_booked", "callback_number"],
        "properties": {
            "appointment_booked": {"type": "boolean", "description": "An appointment or event was booked during the call."},
            "callback_number": {"type": ["string", "null"], "description": "The number the caller asked to be called back on, in E.164, or null."}
        }
    })
}

/// A checked specification: the goal, the operator's schema and the compiled answer schema.
#[derive(Debug)]
pub struct AnalysisSpec {
    goal: String,
    fields: Value,
    answer: Value,
    validator: Validator,
}

impl AnalysisSpec {
    /// Checks the operator's fields schema (default: [`default_fields_schema`]) and goal
    /// (default: [`DEFAULT_GOAL`]): the schema must compile and be in the strict subset
    /// (every object closed with `additionalProperties: false`, every property required).
    pub fn new(fields: Option<Value>, goal: Option<String>) -> Result<Self, SpecError> {
        let fields = fields.unwrap_or_else(default_fields_schema);
        if fields["type"] != "object" {
            return Err(SpecError::NotStrict {
                at: String::new(),
                why: "the root must be {\"type\": \"object\"}".into(),
            });
        }
        check_strict(&fields, "")?;
        let answer = json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["summary", "fields", "success", "reason"],
            "properties": {
                "summary": {"type": "string", "description": "Two or three sentences: what the call was about and how it ended."},
                "fields": fields,
                "success": {"type": "boolean", "description": "Whether the call met the goal."},
                "reason": {"type": "string", "description": "One sentence: why the verdict is what it is."}
            }
        });
        let validator =
            jsonschema::validator_for(&answer).map_err(|e| SpecError::Invalid(e.to_string()))?;
        Ok(Self {
            goal: goal.unwrap_or_else(|| DEFAULT_GOAL.into()),
            fields,
            answer,
            validator,
        })
    }

    /// The goal the verdict is judged against.
    pub fn goal(&self) -> &str {
        &self.goal
    }

    /// The operator's fields schema.
    pub fn fields_schema(&self) -> &Value {
        &self.fields
    }

    /// The structured-output format of the request.
    pub fn format(&self) -> JsonSchemaFormat {
        JsonSchemaFormat {
            name: SCHEMA_NAME.into(),
            schema: self.answer.clone(),
        }
    }

    /// `Ok` when `answer` is valid against the answer schema; else every violation, one per
    /// line, with where it is (at most 10).
    pub fn validate(&self, answer: &Value) -> Result<(), String> {
        let errors: Vec<String> = self
            .validator
            .iter_errors(answer)
            .take(10)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() {
                    e.to_string()
                } else {
                    format!("{at}: {e}")
                }
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n"))
        }
    }
}

/// OpenAI's strict rules, checked here so the operator learns at start-up, not on the first
/// call's 400.
fn check_strict(schema: &Value, at: &str) -> Result<(), SpecError> {
    let fail = |why: &str| SpecError::NotStrict {
        at: if at.is_empty() { "/".into() } else { at.into() },
        why: why.into(),
    };
    let is_object = schema["type"] == "object"
        || schema["type"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "object"));
    if is_object || schema.get("properties").is_some() {
        if schema.get("additionalProperties") != Some(&Value::Bool(false)) {
            return Err(fail("objects must set \"additionalProperties\": false"));
        }
        let empty = serde_json::Map::new();
        let properties = schema["properties"].as_object().unwrap_or(&empty);
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(missing) = properties.keys().find(|k| !required.contains(&k.as_str())) {
            return Err(fail(&format!(
                "every property must be in \"required\" (missing \"{missing}\"; type an optional one [\"…\", \"null\"])"
            )));
        }
        for (key, sub) in properties {
            check_strict(sub, &format!("{at}/properties/{key}"))?;
        }
    }
    if let Some(items) = schema.get("items") {
        check_strict(items, &format!("{at}/items"))?;
    }
    for keyword in ["anyOf", "allOf"] {
        for (i, sub) in schema[keyword].as_array().into_iter().flatten().enumerate() {
            check_strict(sub, &format!("{at}/{keyword}/{i}"))?;
        }
    }
    for keyword in ["$defs", "definitions"] {
        for (key, sub) in schema[keyword].as_object().into_iter().flatten() {
            check_strict(sub, &format!("{at}/{keyword}/{key}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schema_is_strict_and_validates_answers() {
        let spec = AnalysisSpec::new(None, None).unwrap();
        let good = json!({"summary": "s", "success": true, "reason": "r",
            "fields": {"appointment_booked": false, "callback_number": null}});
        assert_eq!(spec.validate(&good), Ok(()));
        let bad = json!({"summary": "s", "success": "yes", "reason": "r",
            "fields": {"appointment_booked": false}});
        let why = spec.validate(&bad).unwrap_err();
        assert!(why.contains("/success"), "{why}");
        assert!(why.contains("callback_number"), "{why}");
    }

    #[test]
    fn non_strict_or_broken_schemas_are_refused_with_where() {
        let open =
            json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]});
        assert!(matches!(
            AnalysisSpec::new(Some(open), None),
            Err(SpecError::NotStrict { .. })
        ));
        let optional = json!({"type": "object", "additionalProperties": false, "required": [],
            "properties": {"a": {"type": "string"}}});
        let err = AnalysisSpec::new(Some(optional), None).unwrap_err();
        assert!(err.to_string().contains("missing \"a\""), "{err}");
        let nested = json!({"type": "object", "additionalProperties": false, "required": ["n"],
            "properties": {"n": {"type": "object", "properties": {}}}});
        let err = AnalysisSpec::new(Some(nested), None).unwrap_err();
        assert!(err.to_string().contains("/properties/n"), "{err}");
        let broken = json!({"type": "object", "additionalProperties": false, "required": ["a"],
            "properties": {"a": {"type": "no-such-type"}}});
        assert!(matches!(
            AnalysisSpec::new(Some(broken), None),
            Err(SpecError::Invalid(_))
        ));
    }
}
