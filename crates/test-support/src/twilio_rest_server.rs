//! Twilio's REST API on loopback, speaking its wire format:
//! - `Messages.json` records every SMS posted (the form fields) and answers with a queued
//!   message resource, so a test running a function binary can count what it texted; `GET`
//!   lists them (Basic credentials required, `To`/`From` filters, `PageSize` 1..=1000);
//! - `Calls.json` places an outbound call, strictly: it refuses what Twilio refuses (no Basic
//!   credentials or wrong ones 20003; no `To` 21201 or `From` 21213; numbers not E.164
//!   21211/21212; neither `Url` nor `Twiml` 21200; a `Url` or callback that is not an absolute
//!   http(s) URL 21205; `MachineDetection` other than `Enable`/`DetectMessageEnd`, `AsyncAmd`
//!   other than `true`/`false`, a `Timeout` outside 1..=600 21234/21200; a method other than
//!   GET/POST or a `StatusCallbackEvent` Twilio does not know 21200), records the form, and
//!   answers `201` with a queued call resource (`CA…`).
//!
//! The form checks follow Twilio's API reference for the Calls resource and its error pages
//! (21200 "Calls Resource", 21205 "Invalid URL", 21234 "Invalid Machine Detection
//! configuration value"); the form itself is validated against the official `twilio` Python
//! library by `phone-twilio`'s oracle test.

use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use serde_json::{Value, json};

use crate::loopback::LoopbackServer;

type Posted = Arc<Mutex<Vec<Vec<(String, String)>>>>;

#[derive(Clone, Default)]
struct Shared {
    messages: Posted,
    calls: Posted,
    /// `(username, password)` the Calls resource accepts; `None`: any Basic credentials.
    credentials: Option<(String, String)>,
}

/// The running server; stops when dropped.
pub struct TwilioRestServer {
    server: LoopbackServer,
    shared: Shared,
}

/// The `n`-th message posted (1-based) as Twilio's message resource.
fn message_resource(account: &str, n: usize, form: &[(String, String)]) -> Value {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    json!({"sid": format!("SM{n:032x}"), "account_sid": account, "to": field("To"),
        "from": field("From"), "body": field("Body"), "status": "queued",
        "direction": "outbound-api", "num_segments": "1",
        "date_created": "Tue, 24 Nov 2026 10:00:00 +0000", "error_code": null})
}

async fn create(
    State(shared): State<Shared>,
    Path(account): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> (StatusCode, axum::Json<Value>) {
    let mut all = shared.messages.lock().unwrap_or_else(|p| p.into_inner());
    let body = message_resource(&account, all.len() + 1, &form);
    all.push(form);
    (StatusCode::CREATED, axum::Json(body))
}

/// `GET Messages.json`: the messages posted, newest first, filtered by `To`/`From`, one page
/// of `PageSize` (Twilio's default 50, at most 1000), with Twilio's paging fields.
async fn list(
    State(shared): State<Shared>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> (StatusCode, axum::Json<Value>) {
    if !authorised(&headers, &shared) {
        return refuse(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let page_size = match param("PageSize").map(str::parse::<usize>) {
        None => 50,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        // 20007 "Page size too large" (the maximum is 1000); a size that is not a positive
        // integer gets the same refusal here.
        Some(_) => return refuse(StatusCode::BAD_REQUEST, 20007, "Page size too large"),
    };
    let all = shared.messages.lock().unwrap_or_else(|p| p.into_inner());
    let messages: Vec<Value> = all
        .iter()
        .enumerate()
        .rev()
        .map(|(i, form)| message_resource(&account, i + 1, form))
        .filter(|m| param("To").is_none_or(|to| m["to"] == to))
        .filter(|m| param("From").is_none_or(|from| m["from"] == from))
        .take(page_size)
        .collect();
    let uri = format!("/2010-04-01/Accounts/{account}/Messages.json?PageSize={page_size}&Page=0");
    let body = json!({"messages": messages, "page": 0, "page_size": page_size,
        "start": 0, "end": messages.len().saturating_sub(1), "uri": uri,
        "first_page_uri": uri, "next_page_uri": null, "previous_page_uri": null});
    (StatusCode::OK, axum::Json(body))
}

/// Twilio's error body.
fn refuse(status: StatusCode, code: u32, message: &str) -> (StatusCode, axum::Json<Value>) {
    (
        status,
        axum::Json(
            json!({"code": code, "message": message, "status": status.as_u16(),
            "more_info": format!("https://www.twilio.com/docs/errors/{code}")}),
        ),
    )
}

fn is_e164(v: &str) -> bool {
    v.strip_prefix('+').is_some_and(|d| {
        (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

fn is_absolute_http_url(v: &str) -> bool {
    url::Url::parse(v)
        .ok()
        .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// Basic credentials as `(user, password)`.
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Whether the request carries Basic credentials, and the configured ones if any are.
fn authorised(headers: &HeaderMap, shared: &Shared) -> bool {
    match (basic(headers), &shared.credentials) {
        (None, _) => false,
        (Some(given), Some(expected)) => &given == expected,
        (Some(_), None) => true,
    }
}

/// What Twilio would refuse in a `POST /Calls.json` form, as `(code, message)`.
fn check_call(form: &[(String, String)]) -> Result<(), (u32, String)> {
    let all = |name: &str| -> Vec<&str> {
        form.iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let one = |name: &str| all(name).first().copied().filter(|v| !v.is_empty());
    let to = one("To").ok_or((21201, "No 'To' number is specified".to_owned()))?;
    if !is_e164(to) {
        return Err((21211, format!("Invalid 'To' Phone Number: {to}")));
    }
    let from = one("From").ok_or((21213, "No 'From' number is specified".to_owned()))?;
    if !is_e164(from) {
        return Err((21212, format!("Invalid 'From' Phone Number: {from}")));
    }
    if one("Url").is_none() && one("Twiml").is_none() && one("ApplicationSid").is_none() {
        return Err((
            21200,
            "Calls resource: provide Url, Twiml or ApplicationSid".into(),
        ));
    }
    for key in [
        "Url",
        "StatusCallback",
        "AsyncAmdStatusCallback",
        "FallbackUrl",
    ] {
        if let Some(v) = one(key)
            && !is_absolute_http_url(v)
        {
            return Err((21205, format!("{key} is not a valid URL: {v}")));
        }
    }
    for key in [
        "Method",
        "StatusCallbackMethod",
        "AsyncAmdStatusCallbackMethod",
        "FallbackMethod",
    ] {
        if let Some(v) = one(key)
            && !matches!(v, "GET" | "POST")
        {
            return Err((21200, format!("{key} must be GET or POST, got {v}")));
        }
    }
    for event in all("StatusCallbackEvent") {
        if !matches!(event, "initiated" | "ringing" | "answered" | "completed") {
            return Err((21200, format!("unknown StatusCallbackEvent {event}")));
        }
    }
    if let Some(v) = one("MachineDetection")
        && !matches!(v, "Enable" | "DetectMessageEnd")
    {
        return Err((
            21234,
            format!("Invalid Machine Detection configuration value: MachineDetection={v}"),
        ));
    }
    if let Some(v) = one("AsyncAmd")
        && !matches!(v, "true" | "false")
    {
        return Err((
            21234,
            format!("Invalid Machine Detection configuration value: AsyncAmd={v}"),
        ));
    }
    if one("AsyncAmdStatusCallback").is_some() && one("AsyncAmd") != Some("true") {
        return Err((
            21234,
            "AsyncAmdStatusCallback requires AsyncAmd=true".into(),
        ));
    }
    if let Some(v) = one("Timeout")
        && !v.parse::<u32>().is_ok_and(|t| (1..=600).contains(&t))
    {
        return Err((21200, format!("Timeout must be 1 to 600 seconds, got {v}")));
    }
    Ok(())
}

async fn create_call(
    State(shared): State<Shared>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> (StatusCode, axum::Json<Value>) {
    if !authorised(&headers, &shared) {
        return refuse(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    if let Err((code, message)) = check_call(&form) {
        return refuse(StatusCode::BAD_REQUEST, code, &message);
    }
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut all = shared.calls.lock().unwrap_or_else(|p| p.into_inner());
    let sid = format!("CA{:032x}", 0xca11_0000_u64 + all.len() as u64 + 1);
    let body = json!({"sid": sid, "account_sid": account, "to": field("To"),
        "from": field("From"), "status": "queued", "direction": "outbound-api",
        "answered_by": null, "date_created": "Mon, 30 Nov 2026 10:00:00 +0000",
        "uri": format!("/2010-04-01/Accounts/{account}/Calls/{sid}.json")});
    all.push(form);
    (StatusCode::CREATED, axum::Json(body))
}

impl TwilioRestServer {
    /// Starts the server; the Calls resource and the message list accept any Basic
    /// credentials.
    pub async fn start() -> Self {
        Self::serve(Shared::default()).await
    }

    /// Starts the server; the Calls resource and the message list accept only these Basic
    /// credentials.
    pub async fn start_with_credentials(user: &str, password: &str) -> Self {
        Self::serve(Shared {
            credentials: Some((user.to_owned(), password.to_owned())),
            ..Shared::default()
        })
        .await
    }

    async fn serve(shared: Shared) -> Self {
        let app = axum::Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Messages.json",
                post(create).get(list),
            )
            .route(
                "/2010-04-01/Accounts/{account}/Calls.json",
                post(create_call),
            )
            .with_state(shared.clone());
        Self {
            server: LoopbackServer::serve(app).await.expect("bind loopback"),
            shared,
        }
    }

    /// `TWILIO_API_BASE_URL`.
    pub fn base_url(&self) -> &str {
        self.server.base_url()
    }

    /// The form of every SMS posted, in order.
    pub fn messages(&self) -> Vec<Vec<(String, String)>> {
        self.shared
            .messages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The form of every call placed (accepted), in order.
    pub fn calls(&self) -> Vec<Vec<(String, String)>> {
        self.shared
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The CallSid the `n`-th accepted call (0-based) was given.
    pub fn call_sid(n: usize) -> String {
        format!("CA{:032x}", 0xca11_0000_u64 + n as u64 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twilio_webhook::form;

    const GOOD: &[(&str, &str)] = &[
        ("To", "+14155550123"),
        ("From", "+14155550999"),
        ("Url", "https://h.example/voice/outbound?outbound=OB1"),
        ("StatusCallbackEvent", "initiated"),
        ("MachineDetection", "DetectMessageEnd"),
        ("AsyncAmd", "true"),
        ("AsyncAmdStatusCallback", "https://h.example/amd"),
        ("Timeout", "30"),
    ];

    fn without(key: &str) -> Vec<(String, String)> {
        form(GOOD).into_iter().filter(|(k, _)| k != key).collect()
    }

    fn with(key: &str, value: &str) -> Vec<(String, String)> {
        let mut f = without(key);
        f.push((key.into(), value.into()));
        f
    }

    #[test]
    fn the_calls_resource_refuses_what_twilio_refuses() {
        assert_eq!(check_call(&form(GOOD)), Ok(()));
        let code = |f: Vec<(String, String)>| check_call(&f).unwrap_err().0;
        assert_eq!(code(without("To")), 21201);
        assert_eq!(code(without("From")), 21213);
        assert_eq!(code(with("To", "4155550123")), 21211);
        assert_eq!(code(with("From", "+1-ABC")), 21212);
        assert_eq!(code(without("Url")), 21200);
        assert_eq!(code(with("Url", "/voice/outbound")), 21205);
        assert_eq!(code(with("MachineDetection", "Detect")), 21234);
        assert_eq!(code(with("AsyncAmd", "yes")), 21234);
        assert_eq!(code(with("Timeout", "601")), 21200);
        assert_eq!(code(with("StatusCallbackEvent", "hangup")), 21200);
        assert_eq!(code(with("Method", "PUT")), 21200);
    }

    /// Our own adapter against this server: what it sends is listed back, newest first,
    /// filtered; Twilio's refusals for no credentials and a page too large.
    #[tokio::test]
    async fn messages_posted_are_listed_newest_first() {
        use phone_core::PhoneNumber;
        use phone_core::ports::{Messaging, SmsQuery};

        let server = TwilioRestServer::start().await;
        let account = "AC0123456789abcdef0123456789abcdef";
        let client = phone_twilio::rest::TwilioRest::new(
            server.base_url(),
            account,
            account,
            "token".to_owned().into(),
            Some(PhoneNumber::parse("+14155550999").unwrap()),
        )
        .unwrap();
        let ann = PhoneNumber::parse("+14155550123").unwrap();
        let bob = PhoneNumber::parse("+14155550124").unwrap();
        client.send_sms(&ann, "first").await.unwrap();
        client.send_sms(&bob, "second").await.unwrap();
        client.send_sms(&ann, "third").await.unwrap();

        let to_ann = SmsQuery {
            to: Some(ann),
            from: None,
            limit: 10,
        };
        let listed = client.list_sms(&to_ann).await.unwrap();
        let bodies: Vec<&str> = listed.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(bodies, ["third", "first"]);
        let one = SmsQuery {
            to: None,
            from: None,
            limit: 1,
        };
        assert_eq!(client.list_sms(&one).await.unwrap()[0].body, "third");

        let url = format!(
            "{}/2010-04-01/Accounts/{account}/Messages.json",
            server.base_url()
        );
        let http = reqwest::Client::new();
        let anonymous = http.get(&url).send().await.unwrap();
        assert_eq!(anonymous.status(), 401);
        let too_large = http
            .get(format!("{url}?PageSize=1001"))
            .basic_auth(account, Some("token"))
            .send()
            .await
            .unwrap();
        assert_eq!(too_large.status(), 400);
        let body: Value = too_large.json().await.unwrap();
        assert_eq!(body["code"], 20007);
    }
}
