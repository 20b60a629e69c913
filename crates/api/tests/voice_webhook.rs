//! The voice webhooks and the calls endpoint over real HTTP on loopback.

use std::collections::BTreeMap;
use std::sync::Arc;

use phone_api::AppState;
use phone_config::Config;
use phone_core::store::PageRequest;
use phone_core::{CallSid, CallStatus, Store, SystemClock};
use phone_local::LocalRecords;
use phone_test_support::twilio_webhook::signed_post;
use phone_twilio::signature::compute_signature;

const AUTH_TOKEN: &str = "test-auth-token-0123456789abcdef";
const API_KEY: &str = "test-api-key";
const SID: &str = "CA0123456789abcdef0123456789abcdef";

struct Server {
    base: String,
    store: Store,
    http: reqwest::Client,
}

async fn start() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let env: BTreeMap<String, String> = [
        ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
        ("API_KEY", API_KEY),
        ("PUBLIC_BASE_URL", base.as_str()),
        ("STREAM_PUBLIC_URL", "wss://stream.example.com/voice/stream"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let config = Config::from_map(&env).unwrap();
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        Arc::new(SystemClock),
        config.retention,
    );
    let app = phone_api::routes::all(AppState::new(config, store.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        base,
        store,
        http: reqwest::Client::new(),
    }
}

fn voice_form(sid: &str) -> Vec<(String, String)> {
    [
        ("CallSid", sid),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("From", "+14155550123"),
        ("To", "+14155550999"),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

impl Server {
    async fn post_signed(
        &self,
        path: &str,
        form: &[(String, String)],
        token: &str,
    ) -> reqwest::Response {
        let url = format!("{}{}", self.base, path);
        signed_post(&self.http, token, &url, form)
            .send()
            .await
            .unwrap()
    }
}

fn parameter<'a>(twiml: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = twiml.find(&marker)? + marker.len();
    let end = twiml[start..].find('"')? + start;
    Some(&twiml[start..end])
}

#[tokio::test]
async fn signed_incoming_call_gets_stream_twiml_and_a_call_row() {
    let server = start().await;
    let res = server
        .post_signed("/voice/incoming", &voice_form(SID), AUTH_TOKEN)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/xml");
    let twiml = res.text().await.unwrap();
    // The `<Connect action>` is what the caller hears after the stream (stream_ended.rs).
    let connect = format!(
        "<Connect action=\"{}/voice/stream-ended\"><Stream url=\"wss://stream.example.com/voice/stream\">",
        server.base
    );
    assert!(twiml.contains(&connect), "{twiml}");
    let token = parameter(&twiml, "token").expect("token parameter");
    assert!(token.len() >= 40);
    assert_eq!(parameter(&twiml, "caller"), Some("+14155550123"));

    let sid = CallSid::parse(SID).unwrap();
    let call = server.store.get_call(&sid).await.unwrap();
    assert_eq!(call.status, CallStatus::Ringing);
    assert_eq!(call.from.unwrap().as_str(), "+14155550123");
    // The stored hash accepts the token exactly once.
    let hash = phone_core::token::hash_stream_token(token);
    server
        .store
        .consume_stream_token(&sid, &hash)
        .await
        .unwrap();
    assert!(
        server
            .store
            .consume_stream_token(&sid, &hash)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn retried_webhook_keeps_one_row_and_only_the_newest_token_works() {
    let server = start().await;
    let first = server
        .post_signed("/voice/incoming", &voice_form(SID), AUTH_TOKEN)
        .await
        .text()
        .await
        .unwrap();
    let second = server
        .post_signed("/voice/incoming", &voice_form(SID), AUTH_TOKEN)
        .await
        .text()
        .await
        .unwrap();
    let (t1, t2) = (
        parameter(&first, "token").unwrap(),
        parameter(&second, "token").unwrap(),
    );
    assert_ne!(t1, t2);
    let sid = CallSid::parse(SID).unwrap();
    let hash = phone_core::token::hash_stream_token;
    assert!(
        server
            .store
            .consume_stream_token(&sid, &hash(t1))
            .await
            .is_err()
    );
    server
        .store
        .consume_stream_token(&sid, &hash(t2))
        .await
        .unwrap();
}

#[tokio::test]
async fn unsigned_or_tampered_webhook_is_refused_and_nothing_is_written() {
    let server = start().await;
    let url = format!("{}/voice/incoming", server.base);
    let unsigned = server
        .http
        .post(&url)
        .form(&voice_form(SID))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403);

    let wrong_key = server
        .post_signed("/voice/incoming", &voice_form(SID), "not-the-token")
        .await;
    assert_eq!(wrong_key.status(), 403);

    let mut form = voice_form(SID);
    let signature = compute_signature(AUTH_TOKEN, &url, &form);
    form[2].1 = "+19005550000".into(); // caller number changed after signing
    let tampered = server
        .http
        .post(&url)
        .header("X-Twilio-Signature", signature)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), 403);

    let sid = CallSid::parse(SID).unwrap();
    assert_eq!(
        server.store.get_call(&sid).await,
        Err(phone_core::StoreError::NotFound)
    );
}

#[tokio::test]
async fn malformed_signed_webhook_is_a_clear_400() {
    let server = start().await;
    let mut form = voice_form("CA-not-a-sid");
    form.retain(|(k, _)| k != "To");
    let res = server
        .post_signed("/voice/incoming", &form, AUTH_TOKEN)
        .await;
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("CallSid"),
        "{body}"
    );
}

#[tokio::test]
async fn status_callback_updates_the_call_and_never_reopens_it() {
    let server = start().await;
    server
        .post_signed("/voice/incoming", &voice_form(SID), AUTH_TOKEN)
        .await;
    let mut completed = voice_form(SID);
    completed[4].1 = "completed".into();
    completed.push(("CallDuration".into(), "42".into()));
    let res = server
        .post_signed("/voice/status", &completed, AUTH_TOKEN)
        .await;
    assert!(res.status().is_success());
    let mut late = voice_form(SID);
    late[4].1 = "in-progress".into();
    server.post_signed("/voice/status", &late, AUTH_TOKEN).await;

    let call = server
        .store
        .get_call(&CallSid::parse(SID).unwrap())
        .await
        .unwrap();
    assert_eq!(call.status, CallStatus::Completed);
    assert_eq!(call.duration_secs, Some(42));
    assert!(call.ended_at.is_some());
}

#[tokio::test]
async fn calls_endpoint_requires_the_api_key_and_reports_the_call() {
    let server = start().await;
    server
        .post_signed("/voice/incoming", &voice_form(SID), AUTH_TOKEN)
        .await;
    let sid = CallSid::parse(SID).unwrap();
    let turn = phone_core::Turn::new(
        0,
        phone_core::Role::Caller,
        "hello",
        time::OffsetDateTime::now_utc(),
    );
    server.store.append_turn(&sid, &turn).await.unwrap();

    let url = format!("{}/calls/{SID}", server.base);
    assert_eq!(server.http.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(
        server
            .http
            .get(&url)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let res = server
        .http
        .get(&url)
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["call_sid"], SID);
    assert_eq!(body["transcript"][0]["text"], "hello");
    assert_eq!(body["cost_usd"], 0.0);
    assert!(
        body.get("stream_token_hash").is_none(),
        "token hash must not leak"
    );
    assert_eq!(
        server
            .store
            .list_turns(&sid, &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    let missing = server
        .http
        .get(format!("{}/calls/CA{}", server.base, "f".repeat(32)))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let bad = server
        .http
        .get(format!("{}/calls/nope", server.base))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}
