//! `Idempotency-Key` on REST writes, bound to what it was first used for.
//!
//! A retry with the same key must not do the work twice: the tool records its result under the
//! key and answers a repeat from that record. But a key is only safe to replay for the same
//! request: reused for another endpoint or other arguments (a client bug, a key generator that
//! repeats) it would silently answer with the first request's result and never do the second.
//! So the first use stores a binding (`IDEM#rest#<key>`: the endpoint and a SHA-256 of the
//! tool and its canonical JSON arguments) with a conditional put, and a later use that does not
//! match gets 422.
//!
//! A request without the header gets a fresh random key: it binds nothing and is never replayed.

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use phone_core::Store;
use phone_core::store::{Keys, PutMode, StoreError};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::ApiError;

/// The `Idempotency-Key` header in the OpenAPI document (the extractor below reads it).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // a parameter description only
pub struct IdempotencyKeyHeader {
    /// Makes a retry safe: the same key with the same request replays the first result; with
    /// another request it is refused (422). 1 to 128 visible ASCII characters.
    #[param(
        rename = "Idempotency-Key",
        required = false,
        pattern = "^[!-~]{1,128}$"
    )]
    idempotency_key: String,
}

/// The request's idempotency key, and the endpoint it arrived on.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    key: String,
    /// Whether the client sent it (only then is it bound and replayed).
    supplied: bool,
    /// `METHOD /route/{template}`.
    endpoint: String,
}

/// What a supplied key was first used for.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Binding {
    endpoint: String,
    arguments_sha256: String,
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let route = parts
            .extensions
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| parts.uri.path().to_owned());
        let endpoint = format!("{} {route}", parts.method);
        let (key, supplied) = match parts.headers.get("idempotency-key") {
            Some(value) => match value.to_str() {
                Ok(k)
                    if !k.is_empty()
                        && k.len() <= 128
                        && k.bytes().all(|b| b.is_ascii_graphic()) =>
                {
                    (k.to_owned(), true)
                }
                _ => {
                    return Err(ApiError::BadRequest(
                        "Idempotency-Key must be 1 to 128 visible ASCII characters".into(),
                    ));
                }
            },
            None => {
                let mut bytes = [0u8; 12];
                rand::rng().fill_bytes(&mut bytes);
                (hex::encode(bytes), false)
            }
        };
        Ok(Self {
            key,
            supplied,
            endpoint,
        })
    }
}

impl IdempotencyKey {
    /// The key (the client's, or a fresh one).
    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// Whether the client sent the key (a fresh one was made up otherwise).
    pub fn supplied(&self) -> bool {
        self.supplied
    }

    /// Binds a supplied key to this endpoint and `what` (the tool) with `arguments`, or checks
    /// that it was bound to exactly these: 422 otherwise. The binding is kept as long as the
    /// tool records that a replay answers from (the calls retention).
    pub async fn bind(&self, store: &Store, what: &str, arguments: &Value) -> Result<(), ApiError> {
        if !self.supplied {
            return Ok(());
        }
        let binding = Binding {
            endpoint: self.endpoint.clone(),
            arguments_sha256: digest(what, arguments),
        };
        let pk = Keys::idempotency(&format!("rest#{}", self.key));
        let keep = store.retention().calls;
        match store
            .put_value(&pk, Keys::IDEMPOTENCY, &binding, keep, PutMode::IfAbsent)
            .await
        {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let first: Binding = store.get_value(&pk, Keys::IDEMPOTENCY).await?;
        if first == binding {
            return Ok(());
        }
        tracing::warn!(endpoint = %self.endpoint, first = %first.endpoint, "Idempotency-Key reused for a different request refused");
        let why = if first.endpoint == binding.endpoint {
            "with other arguments".to_owned()
        } else {
            format!("for {}", first.endpoint)
        };
        Err(ApiError::Unprocessable(format!(
            "Idempotency-Key '{}' was already used {why}; use a new key for a different request",
            self.key
        )))
    }
}

/// SHA-256 (hex) of `what` and the canonical JSON of `arguments` (object keys sorted), so the
/// same arguments in another key order are the same request.
fn digest(what: &str, arguments: &Value) -> String {
    let mut hasher = Sha256::new();
    hasher.update(what.as_bytes());
    hasher.update([0u8]);
    hasher.update(canonical(arguments).as_bytes());
    hex::encode(hasher.finalize())
}

fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let fields: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), canonical(v)))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_digest_ignores_key_order_but_not_values_or_the_tool() {
        let a = json!({"to": "+1", "body": "hi", "x": {"b": 1, "a": [1, 2]}});
        let b: Value =
            serde_json::from_str(r#"{"x": {"a": [1, 2], "b": 1}, "body": "hi", "to": "+1"}"#)
                .unwrap();
        assert_eq!(digest("send_sms", &a), digest("send_sms", &b));
        assert_ne!(digest("send_sms", &a), digest("send_email", &a));
        let c = json!({"to": "+1", "body": "hi!", "x": {"b": 1, "a": [1, 2]}});
        assert_ne!(digest("send_sms", &a), digest("send_sms", &c));
        let swapped = json!({"to": "+1", "body": "hi", "x": {"b": 1, "a": [2, 1]}});
        assert_ne!(digest("send_sms", &a), digest("send_sms", &swapped));
    }
}
