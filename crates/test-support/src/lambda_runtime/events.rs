//! The events the emulator hands a function: API Gateway HTTP API requests (payload format 2.0)
//! and the responses functions return.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::{Value, json};

use super::InvokeError;

/// An HTTP request as API Gateway HTTP APIs hand it to Lambda (payload format 2.0).
#[derive(Debug, Clone)]
pub struct ApiGatewayV2Request {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

/// The host the events claim to come through, as on a default `execute-api` endpoint.
pub const API_DOMAIN: &str = "abc123defg.execute-api.us-east-1.amazonaws.com";

impl ApiGatewayV2Request {
    /// A request without body. `path_and_query` may carry a `?query`.
    pub fn new(method: &str, path_and_query: &str) -> Self {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers: vec![("host".into(), API_DOMAIN.into())],
            body: None,
        }
    }

    /// `GET path`.
    pub fn get(path_and_query: &str) -> Self {
        Self::new("GET", path_and_query)
    }

    /// `POST path` with an `application/x-www-form-urlencoded` body, as Twilio's webhooks.
    pub fn post_form(path: &str, fields: &[(&str, &str)]) -> Self {
        let body = serde_urlencoded::to_string(fields).unwrap_or_default();
        Self::new("POST", path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }

    /// `method path` with a JSON body.
    pub fn json(method: &str, path: &str, body: &Value) -> Self {
        Self::new(method, path)
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    /// Adds a header (lower-cased, as API Gateway delivers them).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// Sets the body (text, not base64).
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// The event document Lambda receives.
    pub fn to_event(&self) -> Value {
        let route_key = format!("{} {}", self.method, self.path);
        let mut headers = serde_json::Map::new();
        for (name, value) in &self.headers {
            // API Gateway joins repeated headers with commas.
            let joined = match headers.get(name).and_then(Value::as_str) {
                Some(prev) => format!("{prev},{value}"),
                None => value.clone(),
            };
            headers.insert(name.clone(), Value::String(joined));
        }
        if let Some(body) = &self.body {
            headers.insert("content-length".into(), body.len().to_string().into());
        }
        let query: serde_json::Map<String, Value> =
            serde_urlencoded::from_str::<Vec<(String, String)>>(&self.query)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut event = json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": self.path,
            "rawQueryString": self.query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": API_DOMAIN.split('.').next().unwrap_or_default(),
                "domainName": API_DOMAIN,
                "domainPrefix": API_DOMAIN.split('.').next().unwrap_or_default(),
                "http": {
                    "method": self.method,
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "203.0.113.7",
                    "userAgent": "phone-agent-tests",
                },
                "requestId": format!("req-{}", now.as_nanos()),
                "routeKey": route_key,
                "stage": "$default",
                "time": "24/Nov/2026:08:00:00 +0000",
                "timeEpoch": now.as_millis() as u64,
            },
            "isBase64Encoded": false,
        });
        if !query.is_empty() {
            event["queryStringParameters"] = Value::Object(query);
        }
        if let Some(body) = &self.body {
            event["body"] = Value::String(body.clone());
        }
        event
    }
}

/// An API Gateway v2 response as a function returned it, body decoded.
#[derive(Debug, Clone)]
pub struct HttpReply {
    /// `statusCode`.
    pub status: u16,
    /// `headers`, names lower-cased.
    pub headers: HashMap<String, String>,
    /// `body`, base64-decoded when `isBase64Encoded`.
    pub body: Vec<u8>,
}

impl HttpReply {
    pub(super) fn from_response(value: &Value) -> Result<Self, InvokeError> {
        let status = value
            .get("statusCode")
            .and_then(Value::as_u64)
            .ok_or_else(|| InvokeError::NotHttp(value.to_string()))? as u16;
        let headers = value
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap_or("").to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let text = value.get("body").and_then(Value::as_str).unwrap_or("");
        let body = if value.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| InvokeError::NotHttp(format!("body is not base64: {e}")))?
        } else {
            text.as_bytes().to_vec()
        };
        Ok(Self {
            status,
            headers,
            body,
        })
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}
