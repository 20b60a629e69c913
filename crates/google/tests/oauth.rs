//! The refresh-token flow against a loopback server speaking Google's token endpoint format.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Form, Json, Router, routing::post};
use phone_core::ports::PortError;
use phone_google::oauth::{
    ClientCredentials, ConsentConfig, DEFAULT_AUTH_URL, OAuthError, TokenSource,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

#[derive(Clone)]
struct Token {
    refreshes: Arc<AtomicUsize>,
    expires_in: u64,
}

async fn token(
    State(s): State<Token>,
    Form(f): Form<HashMap<String, String>>,
) -> impl IntoResponse {
    if f.get("client_secret").map(String::as_str) != Some("csecret") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        );
    }
    match (
        f.get("grant_type").map(String::as_str),
        f.get("refresh_token").map(String::as_str),
    ) {
        (Some("refresh_token"), Some("good")) => {
            let n = s.refreshes.fetch_add(1, Ordering::SeqCst) + 1;
            (
                StatusCode::OK,
                Json(
                    json!({"access_token": format!("at-{n}"), "expires_in": s.expires_in,
                    "scope": "https://www.googleapis.com/auth/calendar.events", "token_type": "Bearer"}),
                ),
            )
        }
        (Some("authorization_code"), _) if f.get("code").map(String::as_str) == Some("c0de") => (
            StatusCode::OK,
            Json(
                json!({"access_token": "at", "expires_in": 3599, "refresh_token": "rt-new", "token_type": "Bearer"}),
            ),
        ),
        _ => (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}),
            ),
        ),
    }
}

async fn server(expires_in: u64) -> (String, Arc<AtomicUsize>) {
    let refreshes = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route("/token", post(token))
        .with_state(Token {
            refreshes: refreshes.clone(),
            expires_in,
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/token"), refreshes)
}

fn creds(url: &str) -> ClientCredentials {
    ClientCredentials {
        client_id: "cid".into(),
        client_secret: SecretString::from("csecret"),
        token_url: url.into(),
    }
}

#[tokio::test]
async fn one_refresh_serves_many_calls() {
    let (url, refreshes) = server(3599).await;
    let source = Arc::new(TokenSource::new(
        reqwest::Client::new(),
        creds(&url),
        SecretString::from("good"),
    ));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let s = source.clone();
        tasks.push(tokio::spawn(async move {
            s.access_token().await.unwrap().expose_secret().to_owned()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), "at-1");
    }
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn expired_token_is_refreshed_again() {
    // 30 s is inside the refresh margin, so every call finds the token about to expire.
    let (url, refreshes) = server(30).await;
    let source = TokenSource::new(
        reqwest::Client::new(),
        creds(&url),
        SecretString::from("good"),
    );
    assert_eq!(source.access_token().await.unwrap().expose_secret(), "at-1");
    assert_eq!(source.access_token().await.unwrap().expose_secret(), "at-2");
    assert_eq!(refreshes.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn invalid_grant_is_access_revoked() {
    let (url, _) = server(3599).await;
    let source = TokenSource::new(
        reqwest::Client::new(),
        creds(&url),
        SecretString::from("revoked"),
    );
    let err = source.access_token().await.unwrap_err();
    assert!(matches!(err, OAuthError::Revoked));
    assert_eq!(
        PortError::from(err),
        PortError::AccessRevoked("calendar access revoked: re-authorise at /auth/google".into())
    );
}

#[tokio::test]
async fn authorisation_code_is_exchanged_for_a_refresh_token() {
    let (url, _) = server(3599).await;
    let consent = ConsentConfig {
        creds: creds(&url),
        auth_url: DEFAULT_AUTH_URL.into(),
    };
    let http = reqwest::Client::new();
    let rt = consent
        .exchange_code(&http, "c0de", "http://x/cb")
        .await
        .unwrap();
    assert_eq!(rt.expose_secret(), "rt-new");
    assert!(matches!(
        consent.exchange_code(&http, "bad", "http://x/cb").await,
        Err(OAuthError::Revoked)
    ));
}
