//! Twilio's REST API (PROTOCOLS.md §1.7) as the SMS, call-control and call-placing adapters:
//! `Messages.json` (send, list, fetch), `Calls/{sid}.json` (hang up, transfer with `<Dial>`)
//! and `Calls.json` (place an outbound call, [`outbound`]).

use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use phone_core::ports::{CallControl, HangUpOutcome, Messaging, PortError, SmsMessage, SmsQuery};
use phone_core::{CallSid, PhoneNumber};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use crate::twiml::{Response, Verb};

mod outbound;

pub use outbound::{STATUS_EVENTS, call_form};

/// Deadline of every request.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A Twilio REST client for one account. `Debug` shows no secret.
pub struct TwilioRest {
    /// Built on the first request: building a client loads the system's root certificates,
    /// milliseconds of a Lambda cold start that a webhook which never calls Twilio would pay.
    http: OnceLock<reqwest::Client>,
    base: String,
    account_sid: String,
    username: String,
    password: SecretString,
    from: Option<PhoneNumber>,
}

impl std::fmt::Debug for TwilioRest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioRest")
            .field("base", &self.base)
            .field("account_sid", &self.account_sid)
            .finish()
    }
}

/// Twilio's error body.
#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    sid: String,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    num_segments: Option<String>,
    #[serde(default)]
    error_code: Option<i64>,
    #[serde(default)]
    date_created: Option<String>,
}

impl From<WireMessage> for SmsMessage {
    fn from(m: WireMessage) -> Self {
        let sent_at = m.date_created.as_deref().and_then(|d| {
            time::OffsetDateTime::parse(d, &time::format_description::well_known::Rfc2822).ok()
        });
        SmsMessage {
            sid: m.sid,
            to: m.to.unwrap_or_default(),
            from: m.from.unwrap_or_default(),
            body: m.body.unwrap_or_default(),
            status: m.status.unwrap_or_default(),
            direction: m.direction.unwrap_or_default(),
            sent_at,
            num_segments: m.num_segments.and_then(|n| n.parse().ok()),
            error_code: m.error_code,
        }
    }
}

#[derive(Deserialize)]
struct MessageList {
    messages: Vec<WireMessage>,
}

impl TwilioRest {
    /// A client for `account_sid`, authenticated with the auth token or an API key
    /// (`username` = `SK…`); `from` is our number for SMS.
    pub fn new(
        base: &str,
        account_sid: &str,
        username: &str,
        password: SecretString,
        from: Option<PhoneNumber>,
    ) -> Result<Self, PortError> {
        Ok(Self {
            http: OnceLock::new(),
            base: format!(
                "{}/2010-04-01/Accounts/{account_sid}",
                base.trim_end_matches('/')
            ),
            account_sid: account_sid.to_owned(),
            username: username.to_owned(),
            password,
            from,
        })
    }

    /// Our number, or the error naming `TWILIO_FROM_NUMBER`.
    fn our_number(&self) -> Result<&PhoneNumber, PortError> {
        self.from
            .as_ref()
            .ok_or_else(|| PortError::NotConfigured("TWILIO_FROM_NUMBER".into()))
    }

    /// The HTTP client, built on first use.
    fn http(&self) -> Result<&reqwest::Client, PortError> {
        if let Some(http) = self.http.get() {
            return Ok(http);
        }
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| PortError::NotConfigured(format!("HTTP client: {e}")))?;
        Ok(self.http.get_or_init(|| http))
    }

    async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
        query: &[(&str, String)],
    ) -> Result<Value, PortError> {
        let mut req = self
            .http()?
            .request(method, format!("{}{path}", self.base))
            .basic_auth(&self.username, Some(self.password.expose_secret()))
            .query(query);
        if let Some(form) = form {
            req = req.form(form);
        }
        let res = req.send().await.map_err(|e| {
            if e.is_timeout() {
                PortError::Timeout("twilio")
            } else {
                PortError::Upstream {
                    service: "twilio",
                    status: None,
                    message: e.without_url().to_string(),
                }
            }
        })?;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        if (200..300).contains(&status) {
            return serde_json::from_str(&text).map_err(|e| PortError::Upstream {
                service: "twilio",
                status: Some(status),
                message: format!("unreadable answer: {e}"),
            });
        }
        let error: ApiError = serde_json::from_str(&text).unwrap_or(ApiError {
            code: None,
            message: None,
        });
        let message = format!(
            "{}{}",
            error.message.unwrap_or_else(|| format!("HTTP {status}")),
            error
                .code
                .map(|c| format!(" (code {c})"))
                .unwrap_or_default()
        );
        Err(match (status, error.code) {
            (404, _) | (_, Some(20404)) => PortError::NotFound(message),
            (400, _) => PortError::Invalid(message),
            (401 | 403, _) => {
                PortError::AccessRevoked(format!("Twilio refused our credentials: {message}"))
            }
            _ => PortError::Upstream {
                service: "twilio",
                status: Some(status),
                message,
            },
        })
    }
}

#[async_trait]
impl Messaging for TwilioRest {
    async fn send_sms(&self, to: &PhoneNumber, body: &str) -> Result<SmsMessage, PortError> {
        let from = self.our_number()?;
        let form = [("To", to.as_str()), ("From", from.as_str()), ("Body", body)];
        let value = self
            .request(reqwest::Method::POST, "/Messages.json", Some(&form), &[])
            .await?;
        let message: WireMessage =
            serde_json::from_value(value).map_err(|e| PortError::Upstream {
                service: "twilio",
                status: None,
                message: e.to_string(),
            })?;
        Ok(message.into())
    }

    async fn list_sms(&self, query: &SmsQuery) -> Result<Vec<SmsMessage>, PortError> {
        let mut params = vec![("PageSize", query.limit.clamp(1, 100).to_string())];
        if let Some(to) = &query.to {
            params.push(("To", to.as_str().to_owned()));
        }
        if let Some(from) = &query.from {
            params.push(("From", from.as_str().to_owned()));
        }
        let value = self
            .request(reqwest::Method::GET, "/Messages.json", None, &params)
            .await?;
        let list: MessageList = serde_json::from_value(value).map_err(|e| PortError::Upstream {
            service: "twilio",
            status: None,
            message: e.to_string(),
        })?;
        Ok(list.messages.into_iter().map(SmsMessage::from).collect())
    }

    async fn get_sms(&self, sid: &str) -> Result<SmsMessage, PortError> {
        if !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(PortError::Invalid("message sid".into()));
        }
        let value = self
            .request(
                reqwest::Method::GET,
                &format!("/Messages/{sid}.json"),
                None,
                &[],
            )
            .await?;
        let message: WireMessage =
            serde_json::from_value(value).map_err(|e| PortError::Upstream {
                service: "twilio",
                status: None,
                message: e.to_string(),
            })?;
        Ok(message.into())
    }

    fn describe(&self) -> String {
        format!("twilio ({})", self.account_sid)
    }
}

#[async_trait]
impl CallControl for TwilioRest {
    async fn hang_up(&self, call: &CallSid) -> Result<HangUpOutcome, PortError> {
        let form = [("Status", "completed")];
        match self
            .request(
                reqwest::Method::POST,
                &format!("/Calls/{call}.json"),
                Some(&form),
                &[],
            )
            .await
        {
            Ok(_) => Ok(HangUpOutcome::Ended),
            // A 404 means the call is already over: that is what we wanted.
            Err(PortError::NotFound(_)) => Ok(HangUpOutcome::AlreadyEnded),
            Err(e) => Err(e),
        }
    }

    async fn transfer(&self, call: &CallSid, to: &PhoneNumber) -> Result<(), PortError> {
        let twiml = Response::new()
            .push(Verb::Dial {
                number: to.as_str().to_owned(),
                caller_id: None,
                timeout_secs: Some(30),
            })
            .map_err(|e| PortError::Invalid(e.to_string()))?
            .render();
        let form = [("Twiml", twiml.as_str())];
        self.request(
            reqwest::Method::POST,
            &format!("/Calls/{call}.json"),
            Some(&form),
            &[],
        )
        .await
        .map(|_| ())
    }

    fn describe(&self) -> String {
        format!("twilio ({})", self.account_sid)
    }
}

#[cfg(test)]
mod tests;
