//! The `error` events the strict double answers with, in the real API's shape: an
//! `invalid_request_error` with a code, a message, the parameter at fault and the `event_id` of
//! the client event that caused it (the only way a client can tell which request failed).

use serde_json::{Value, json};

/// Why a client event was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `error.code`, e.g. `conversation_already_has_active_response`.
    pub code: &'static str,
    /// `error.message`.
    pub message: String,
    /// `error.param`, e.g. `session.model`.
    pub param: Option<String>,
}

impl Refusal {
    /// A refusal with a parameter at fault.
    pub fn new(code: &'static str, message: impl Into<String>, param: Option<&str>) -> Self {
        Self {
            code,
            message: message.into(),
            param: param.map(str::to_owned),
        }
    }

    /// `Unknown parameter: 'path'.` (the real wording for fields the API does not know).
    pub fn unknown(path: &str) -> Self {
        Self::new(
            "unknown_parameter",
            format!("Unknown parameter: '{path}'."),
            Some(path),
        )
    }

    /// `Missing required parameter: 'path'.`
    pub fn missing(path: &str) -> Self {
        Self::new(
            "missing_required_parameter",
            format!("Missing required parameter: '{path}'."),
            Some(path),
        )
    }

    /// `Invalid value: …` for a value of the right type the API does not accept.
    pub fn invalid(path: &str, why: impl std::fmt::Display) -> Self {
        Self::new(
            "invalid_value",
            format!("Invalid value for '{path}': {why}"),
            Some(path),
        )
    }

    /// `Invalid type for 'path': expected …, but got … instead.`
    pub fn wrong_type(path: &str, expected: &str, got: &Value) -> Self {
        Self::new(
            "invalid_type",
            format!(
                "Invalid type for '{path}': expected {expected}, but got {} instead.",
                kind_of(got)
            ),
            Some(path),
        )
    }

    /// The `error` event (without its server `event_id`, which the connection assigns).
    pub fn to_event(&self, client_event_id: Option<&str>) -> Value {
        json!({"type": "error", "error": {
            "type": "invalid_request_error",
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "event_id": client_event_id,
        }})
    }
}

/// How the real API names a JSON value's type in `invalid_type` messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a decimal",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Typed access to an event's fields, refusing the wrong type with `invalid_type`.
pub struct Fields<'a> {
    path: String,
    map: &'a serde_json::Map<String, Value>,
}

impl<'a> Fields<'a> {
    /// `value` must be an object with only the `allowed` keys.
    pub fn of(path: &str, value: &'a Value, allowed: &[&str]) -> Result<Self, Refusal> {
        let map = value
            .as_object()
            .ok_or_else(|| Refusal::wrong_type(path, "an object", value))?;
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(Refusal::unknown(&join(path, unknown)));
        }
        Ok(Self {
            path: path.to_owned(),
            map,
        })
    }

    /// The dotted path of a field.
    pub fn path(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// A field, absent or present (a JSON `null` counts as present).
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// A field that must be there.
    pub fn required(&self, key: &str) -> Result<&'a Value, Refusal> {
        self.get(key)
            .ok_or_else(|| Refusal::missing(&self.path(key)))
    }

    /// An optional string field.
    pub fn str(&self, key: &str) -> Result<Option<&'a str>, Refusal> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(Refusal::wrong_type(&self.path(key), "a string", other)),
        }
    }

    /// An optional boolean field (`null` is refused, as the real API does for `create_response`).
    pub fn bool(&self, key: &str) -> Result<Option<bool>, Refusal> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(Refusal::wrong_type(&self.path(key), "a boolean", other)),
        }
    }

    /// An optional number field, within `min..=max`.
    pub fn number(&self, key: &str, min: f64, max: f64) -> Result<Option<f64>, Refusal> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                let n = n.as_f64().unwrap_or(f64::NAN);
                if (min..=max).contains(&n) {
                    Ok(Some(n))
                } else {
                    Err(Refusal::invalid(
                        &self.path(key),
                        format!("{n} is outside {min}..={max}."),
                    ))
                }
            }
            Some(other) => Err(Refusal::wrong_type(&self.path(key), "a number", other)),
        }
    }

    /// An optional non-negative integer field; `null` allowed when `nullable`.
    pub fn integer(&self, key: &str, nullable: bool) -> Result<Option<u64>, Refusal> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Null) if nullable => Ok(None),
            Some(Value::Number(n)) if n.is_u64() => Ok(n.as_u64()),
            Some(other) => Err(Refusal::wrong_type(&self.path(key), "an integer", other)),
        }
    }

    /// An optional string field that must be one of `allowed`.
    pub fn one_of(&self, key: &str, allowed: &[&str]) -> Result<Option<&'a str>, Refusal> {
        let value = self.str(key)?;
        match value {
            Some(v) if !allowed.contains(&v) => Err(Refusal::invalid(
                &self.path(key),
                format!("'{v}'. Supported values are: {}.", allowed.join(", ")),
            )),
            _ => Ok(value),
        }
    }
}

/// `parent.key`, or `key` at the top of an event.
fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}
