//! A Gmail API and Google token endpoint on loopback, speaking their wire formats: it holds a
//! mailbox of messages, answers list and get, and records every draft and sent message (the
//! decoded RFC 2822 text and the thread id) so tests can count and inspect them.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::loopback::LoopbackServer;

/// A message in the test mailbox.
#[derive(Debug, Clone)]
pub struct TestMail {
    /// Gmail id.
    pub id: String,
    /// Thread id.
    pub thread_id: String,
    /// `From` header.
    pub from: String,
    /// `Subject` header.
    pub subject: String,
    /// `Message-ID` header.
    pub message_id: String,
    /// Received, epoch milliseconds (`internalDate`).
    pub internal_date_ms: i64,
    /// Plain-text body.
    pub body: String,
}

/// A draft or sent message as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The decoded RFC 2822 message.
    pub rfc822: String,
    /// The `threadId` given with it.
    pub thread_id: Option<String>,
}

#[derive(Default)]
struct Shared {
    mailbox: Vec<TestMail>,
    queries: Mutex<Vec<String>>,
    fetched: Mutex<Vec<String>>,
    drafts: Mutex<Vec<Written>>,
    sent: Mutex<Vec<Written>>,
}

/// The running server; stops when dropped.
pub struct GmailTestServer {
    server: LoopbackServer,
    shared: Arc<Shared>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn written(message: &Value) -> Result<Written, StatusCode> {
    let raw = message["raw"].as_str().ok_or(StatusCode::BAD_REQUEST)?;
    let bytes = URL_SAFE
        .decode(raw)
        .or_else(|_| URL_SAFE_NO_PAD.decode(raw))
        .map_err(|_| StatusCode::BAD_REQUEST)?;
    Ok(Written {
        rfc822: String::from_utf8(bytes).map_err(|_| StatusCode::BAD_REQUEST)?,
        thread_id: message["threadId"].as_str().map(str::to_owned),
    })
}

async fn list(State(s): State<Arc<Shared>>, Query(q): Query<Vec<(String, String)>>) -> Json<Value> {
    let query = q
        .iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    lock(&s.queries).push(query);
    let messages: Vec<Value> = s
        .mailbox
        .iter()
        .map(|m| json!({"id": m.id, "threadId": m.thread_id}))
        .collect();
    Json(json!({"messages": messages, "resultSizeEstimate": messages.len()}))
}

async fn message(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> (StatusCode, Json<Value>) {
    lock(&s.fetched).push(id.clone());
    let Some(m) = s.mailbox.iter().find(|m| m.id == id) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"code": 404, "message": "Requested entity was not found."}})),
        );
    };
    let body = URL_SAFE_NO_PAD.encode(&m.body);
    (
        StatusCode::OK,
        Json(
            json!({"id": m.id, "threadId": m.thread_id, "internalDate": m.internal_date_ms.to_string(),
            "payload": {"mimeType": "text/plain",
                "headers": [{"name": "From", "value": m.from}, {"name": "To", "value": "owner@example.test"},
                            {"name": "Subject", "value": m.subject}, {"name": "Message-ID", "value": m.message_id}],
                "body": {"data": body}}}),
        ),
    )
}

async fn draft(
    State(s): State<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, StatusCode> {
    let w = written(&body["message"])?;
    let mut drafts = lock(&s.drafts);
    let thread = w.thread_id.clone().unwrap_or_else(|| "new-thread".into());
    drafts.push(w);
    Ok(Json(
        json!({"id": format!("r-{}", drafts.len()), "message": {"id": format!("d-{}", drafts.len()), "threadId": thread}}),
    ))
}

async fn send(
    State(s): State<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, StatusCode> {
    let w = written(&body)?;
    let mut sent = lock(&s.sent);
    let thread = w.thread_id.clone().unwrap_or_else(|| "new-thread".into());
    sent.push(w);
    Ok(Json(
        json!({"id": format!("s-{}", sent.len()), "threadId": thread, "labelIds": ["SENT"]}),
    ))
}

impl GmailTestServer {
    /// Starts with `mailbox`, listed in the order given.
    pub async fn start(mailbox: Vec<TestMail>) -> Self {
        let shared = Arc::new(Shared {
            mailbox,
            ..Shared::default()
        });
        let app = axum::Router::new()
            .route(
                "/token",
                post(|| async {
                    Json(json!({"access_token": "test-access-token", "expires_in": 3599, "token_type": "Bearer"}))
                }),
            )
            .route("/gmail/messages", get(list))
            .route("/gmail/messages/{id}", get(message))
            .route("/gmail/messages/send", post(send))
            .route("/gmail/drafts", post(draft))
            .with_state(shared.clone());
        Self {
            server: LoopbackServer::serve(app).await.expect("bind loopback"),
            shared,
        }
    }

    /// `GMAIL_BASE_URL`.
    pub fn gmail_base_url(&self) -> String {
        format!("{}/gmail", self.server.base_url())
    }

    /// `GOOGLE_TOKEN_URL`.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.server.base_url())
    }

    /// The `q` of every list request.
    pub fn queries(&self) -> Vec<String> {
        lock(&self.shared.queries).clone()
    }

    /// Ids of the messages read in full (`GET /messages/{id}`), in order.
    pub fn fetched(&self) -> Vec<String> {
        lock(&self.shared.fetched).clone()
    }

    /// Drafts created.
    pub fn drafts(&self) -> Vec<Written> {
        lock(&self.shared.drafts).clone()
    }

    /// Messages sent.
    pub fn sent(&self) -> Vec<Written> {
        lock(&self.shared.sent).clone()
    }
}
