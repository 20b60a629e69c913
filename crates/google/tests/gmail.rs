//! The Gmail adapter against a loopback server speaking Gmail's and the token endpoint's formats.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use phone_core::ports::{Mail, OutgoingEmail, PortError};
use phone_google::Gmail;
use phone_google::oauth::{ClientCredentials, TokenSource};
use secrecy::SecretString;
use serde_json::{Value, json};

type Seen = Arc<Mutex<Vec<String>>>;

async fn send(State(seen): State<Seen>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let raw = body["raw"].as_str().unwrap_or_default();
    let decoded = String::from_utf8(URL_SAFE.decode(raw).unwrap()).unwrap();
    seen.lock().unwrap().push(decoded);
    (
        StatusCode::OK,
        Json(json!({"id": "m1", "threadId": "t1", "labelIds": ["SENT"]})),
    )
}

async fn message(Path(id): Path<String>) -> (StatusCode, Json<Value>) {
    if id != "m1" {
        return (
            StatusCode::FORBIDDEN,
            Json(
                json!({"error": {"code": 403, "message": "Insufficient Permission", "errors": []}}),
            ),
        );
    }
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("Hello from Ana");
    (
        StatusCode::OK,
        Json(
            json!({"id": "m1", "threadId": "t1", "internalDate": "1700000000000",
        "payload": {"mimeType": "multipart/alternative",
            "headers": [{"name": "From", "value": "ana@x.test"}, {"name": "To", "value": "me@x.test"},
                        {"name": "Subject", "value": "Lunch"}, {"name": "Message-ID", "value": "<a@x>"}],
            "parts": [{"mimeType": "text/html", "body": {"data": "PGI-"}},
                      {"mimeType": "text/plain", "body": {"data": body}}]}}),
        ),
    )
}

async fn start() -> (Gmail, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route(
            "/token",
            post(|| async {
                Json(json!({"access_token": "at", "expires_in": 3599, "token_type": "Bearer"}))
            }),
        )
        .route("/gmail/messages/send", post(send))
        .route(
            "/gmail/messages",
            get(|| async {
                Json(json!({"messages": [{"id": "m1", "threadId": "t1"}], "resultSizeEstimate": 1}))
            }),
        )
        .route("/gmail/messages/{id}", get(message))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let creds = ClientCredentials {
        client_id: "c".into(),
        client_secret: SecretString::from("s"),
        token_url: format!("http://{addr}/token"),
    };
    let tokens = Arc::new(TokenSource::new(
        reqwest::Client::new(),
        creds,
        SecretString::from("rt"),
    ));
    (
        Gmail::new(
            reqwest::Client::new(),
            &format!("http://{addr}/gmail"),
            tokens,
        ),
        seen,
    )
}

#[tokio::test]
async fn sent_message_is_rfc2822_with_encoded_subject_and_threading() {
    let (gmail, seen) = start().await;
    let email = OutgoingEmail {
        to: vec!["bob@x.test".into()],
        subject: "Réunion".into(),
        body: "À demain".into(),
        in_reply_to: Some("<a@x>".into()),
        thread_id: None,
    };
    let sent = gmail.send_email(&email).await.unwrap();
    assert_eq!(sent.id, "m1");
    let raw = seen.lock().unwrap()[0].clone();
    assert!(raw.contains("To: bob@x.test\r\n"));
    assert!(raw.contains(&format!(
        "Subject: =?UTF-8?B?{}?=\r\n",
        STANDARD.encode("Réunion")
    )));
    assert!(raw.contains("In-Reply-To: <a@x>\r\nReferences: <a@x>\r\n"));
    assert!(raw.contains("Content-Type: text/plain; charset=UTF-8"));
    let body = raw.split("\r\n\r\n").nth(1).unwrap();
    assert_eq!(STANDARD.decode(body).unwrap(), "À demain".as_bytes());
}

#[tokio::test]
async fn recent_mail_reads_headers_and_the_plain_text_part() {
    let (gmail, _) = start().await;
    let msgs = gmail.list_recent("is:unread", 5).await.unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].from, "ana@x.test");
    assert_eq!(msgs[0].subject, "Lunch");
    assert_eq!(msgs[0].body, "Hello from Ana");
    assert_eq!(msgs[0].message_id.as_deref(), Some("<a@x>"));
}

#[tokio::test]
async fn gmail_error_json_becomes_upstream_error() {
    let (gmail, _) = start().await;
    let err = gmail.get_email("other").await.unwrap_err();
    assert_eq!(
        err,
        PortError::Upstream {
            service: "gmail",
            status: Some(403),
            message: "Insufficient Permission".into()
        }
    );
}

#[tokio::test]
async fn header_injection_is_refused() {
    let (gmail, _) = start().await;
    let email = OutgoingEmail {
        to: vec!["a@x\r\nBcc: evil@x".into()],
        subject: "s".into(),
        body: "b".into(),
        in_reply_to: None,
        thread_id: None,
    };
    assert!(matches!(
        gmail.send_email(&email).await,
        Err(PortError::Invalid(_))
    ));
}
