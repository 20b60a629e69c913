//! [`Gmail`]: the Mail port over the Gmail REST API (send, drafts, list and read).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use phone_core::ports::{EmailMessage, Mail, OutgoingEmail, PortError, SentEmail};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::oauth::TokenSource;
use crate::upstream::{error_from, transport};

/// Gmail's API root for the authorised user.
pub const DEFAULT_BASE_URL: &str = "https://gmail.googleapis.com/gmail/v1/users/me";
const SERVICE: &str = "gmail";
const TIMEOUT: Duration = Duration::from_secs(10);
/// Bodies are read back for a model and a phone call: a few KB is plenty.
const MAX_BODY_CHARS: usize = 8_000;

/// The Mail port over Gmail.
#[derive(Debug, Clone)]
pub struct Gmail {
    http: reqwest::Client,
    base: String,
    tokens: Arc<TokenSource>,
}

impl Gmail {
    /// A client for `base_url` (`GMAIL_BASE_URL`, default [`DEFAULT_BASE_URL`]).
    pub fn new(http: reqwest::Client, base_url: &str, tokens: Arc<TokenSource>) -> Self {
        Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            tokens,
        }
    }

    async fn call(&self, req: reqwest::RequestBuilder) -> Result<Value, PortError> {
        let token = self.tokens.access_token().await?;
        let resp = req
            .bearer_auth(token.expose_secret())
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(|e| transport(SERVICE, e))?;
        if resp.status().as_u16() == 404 {
            return Err(PortError::NotFound("email message".into()));
        }
        if !resp.status().is_success() {
            return Err(error_from(SERVICE, resp).await);
        }
        resp.json().await.map_err(|e| transport(SERVICE, e))
    }

    fn sent(v: &Value) -> SentEmail {
        SentEmail {
            id: v["id"].as_str().unwrap_or_default().to_owned(),
            thread_id: v["threadId"].as_str().map(str::to_owned),
        }
    }
}

/// RFC 2047 encoded-word for a header value that is not plain ASCII.
fn encode_header(value: &str) -> String {
    if value.is_ascii() {
        value.to_owned()
    } else {
        format!("=?UTF-8?B?{}?=", STANDARD.encode(value))
    }
}

/// The RFC 2822 message, base64url-encoded as Gmail's `raw` wants it.
pub fn raw_message(email: &OutgoingEmail) -> Result<String, PortError> {
    // Header injection: a CR or LF in a header value would start a new header.
    let bad = |s: &str| s.contains(['\r', '\n']);
    if email.to.is_empty() || email.to.iter().any(|t| bad(t)) || bad(&email.subject) {
        return Err(PortError::Invalid(
            "recipients and subject must be single lines".into(),
        ));
    }
    let mut msg = format!(
        "To: {}\r\nSubject: {}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n",
        email.to.join(", "),
        encode_header(&email.subject)
    );
    if let Some(id) = email.in_reply_to.as_deref().filter(|id| !bad(id)) {
        msg.push_str(&format!("In-Reply-To: {id}\r\nReferences: {id}\r\n"));
    }
    msg.push_str("\r\n");
    msg.push_str(&STANDARD.encode(&email.body));
    Ok(URL_SAFE.encode(msg))
}

#[derive(Deserialize)]
struct Part {
    #[serde(default, rename = "mimeType")]
    mime_type: String,
    #[serde(default)]
    body: Option<PartBody>,
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize)]
struct PartBody {
    #[serde(default)]
    data: Option<String>,
}

/// The first text/plain part, depth first through multipart trees.
fn plain_text(part: &Part) -> Option<String> {
    if part.mime_type.starts_with("text/plain") {
        let data = part.body.as_ref()?.data.as_deref()?;
        let bytes = URL_SAFE_NO_PAD.decode(data.trim_end_matches('=')).ok()?;
        return Some(
            String::from_utf8_lossy(&bytes)
                .chars()
                .take(MAX_BODY_CHARS)
                .collect(),
        );
    }
    part.parts.iter().find_map(plain_text)
}

fn to_message(v: &Value) -> Result<EmailMessage, PortError> {
    let header = |name: &str| {
        v["payload"]["headers"]
            .as_array()
            .and_then(|hs| {
                hs.iter().find(|h| {
                    h["name"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
                })
            })
            .and_then(|h| h["value"].as_str())
            .map(str::to_owned)
    };
    let payload: Part =
        serde_json::from_value(v["payload"].clone()).map_err(|e| PortError::Upstream {
            service: SERVICE,
            status: None,
            message: format!("unreadable message: {e}"),
        })?;
    let date = v["internalDate"]
        .as_str()
        .and_then(|ms| ms.parse::<i64>().ok())
        .and_then(|ms| time::OffsetDateTime::from_unix_timestamp(ms / 1000).ok());
    Ok(EmailMessage {
        id: v["id"].as_str().unwrap_or_default().to_owned(),
        thread_id: v["threadId"].as_str().map(str::to_owned),
        from: header("From").unwrap_or_default(),
        to: header("To").unwrap_or_default(),
        subject: header("Subject").unwrap_or_default(),
        message_id: header("Message-ID"),
        date,
        body: plain_text(&payload).unwrap_or_default(),
    })
}

#[async_trait]
impl Mail for Gmail {
    async fn send_email(&self, email: &OutgoingEmail) -> Result<SentEmail, PortError> {
        let mut body = json!({ "raw": raw_message(email)? });
        if let Some(thread) = &email.thread_id {
            body["threadId"] = json!(thread);
        }
        let v = self
            .call(
                self.http
                    .post(format!("{}/messages/send", self.base))
                    .json(&body),
            )
            .await?;
        Ok(Self::sent(&v))
    }

    async fn create_draft(&self, email: &OutgoingEmail) -> Result<SentEmail, PortError> {
        let mut message = json!({ "raw": raw_message(email)? });
        if let Some(thread) = &email.thread_id {
            message["threadId"] = json!(thread);
        }
        let v = self
            .call(
                self.http
                    .post(format!("{}/drafts", self.base))
                    .json(&json!({ "message": message })),
            )
            .await?;
        // A draft's own id is what a user edits; the thread comes from its message.
        Ok(SentEmail {
            id: v["id"].as_str().unwrap_or_default().to_owned(),
            thread_id: v["message"]["threadId"].as_str().map(str::to_owned),
        })
    }

    async fn list_recent(&self, query: &str, max: u32) -> Result<Vec<EmailMessage>, PortError> {
        let mut out = Vec::new();
        for id in self.list_ids(query, max).await? {
            out.push(self.get_email(&id).await?);
        }
        Ok(out)
    }

    async fn list_ids(&self, query: &str, max: u32) -> Result<Vec<String>, PortError> {
        let max = max.clamp(1, 50).to_string();
        let v = self
            .call(
                self.http
                    .get(format!("{}/messages", self.base))
                    .query(&[("q", query), ("maxResults", &max)]),
            )
            .await?;
        Ok(v["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["id"].as_str().map(str::to_owned))
            .collect())
    }

    async fn get_email(&self, id: &str) -> Result<EmailMessage, PortError> {
        let id: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
        let v = self
            .call(
                self.http
                    .get(format!("{}/messages/{id}", self.base))
                    .query(&[("format", "full")]),
            )
            .await?;
        to_message(&v)
    }

    fn describe(&self) -> String {
        "gmail".into()
    }
}
