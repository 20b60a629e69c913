//! The 64 KiB body limit over a real socket: every router, served with the layers as `serve`
//! serves it, refuses a larger body with 413 in the API's JSON error shape, whether the size is
//! declared (`Content-Length`) or not (chunked).

use std::collections::BTreeMap;
use std::sync::Arc;

use phone_api::AppState;
use phone_config::Config;
use phone_core::{Store, SystemClock};
use phone_http::layers::MAX_BODY_BYTES;
use phone_local::LocalRecords;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const API_KEY: &str = "limit-test-key";

async fn start() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let env = BTreeMap::from([
        ("API_KEY".to_owned(), API_KEY.to_owned()),
        (
            "TWILIO_AUTH_TOKEN".to_owned(),
            "limit-test-token".to_owned(),
        ),
        ("PUBLIC_BASE_URL".to_owned(), base.clone()),
    ]);
    let config = Config::from_map(&env).unwrap();
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        Arc::new(SystemClock),
        config.retention,
    );
    let tools = phone_wiring::tool_ports(&config, &store).unwrap();
    let state = AppState::new(config, store).with_tools(tools);
    let app = phone_api::routes::all(state);
    let timeouts = phone_http::ServerTimeouts {
        header_read: std::time::Duration::from_secs(10),
        request: std::time::Duration::from_secs(10),
    };
    tokio::spawn(phone_http::serve(
        listener,
        app,
        timeouts,
        std::future::pending(),
    ));
    base
}

fn assert_json_413(status: u16, body: &Value) {
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&MAX_BODY_BYTES.to_string()),
        "{body}"
    );
}

#[tokio::test]
async fn every_router_refuses_a_body_over_64_kib_with_json_413() {
    let base = start().await;
    let http = reqwest::Client::new();
    let big = json!({"title": "x".repeat(MAX_BODY_BYTES), "start": "2026-11-26T10:00"});
    for (method, path) in [
        (reqwest::Method::POST, "/calendar/events"),
        (reqwest::Method::PATCH, "/calendar/events/evt1"),
        (reqwest::Method::POST, "/sms/send"),
        (reqwest::Method::POST, "/email/send"),
        (reqwest::Method::POST, "/agent"),
    ] {
        let res = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(API_KEY)
            .json(&big)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert_json_413(status, &res.json().await.unwrap());
    }
    // Twilio's webhooks too (before the signature is even looked at).
    let form = format!("Body={}", "x".repeat(MAX_BODY_BYTES));
    for path in ["/voice/incoming", "/sms/incoming"] {
        let res = http
            .post(format!("{base}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", "AAAA")
            .body(form.clone())
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert_json_413(status, &res.json().await.unwrap());
    }

    // Just under the limit is not refused by the limit (the tool refuses the long title: 400).
    let near = json!({"title": "x".repeat(MAX_BODY_BYTES - 100), "start": "2026-11-26T10:00"});
    let res = http
        .post(format!("{base}/calendar/events"))
        .bearer_auth(API_KEY)
        .json(&near)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn a_chunked_body_without_a_length_is_cut_off_at_the_limit() {
    let base = start().await;
    let addr = base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /calendar/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {API_KEY}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 16 * 1024];
    // Up to 160 KiB of whitespace, 16 KiB a chunk; the server may answer and close before the end.
    for _ in 0..10 {
        let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
        framed.extend_from_slice(&chunk);
        framed.extend_from_slice(b"\r\n");
        if tcp.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = tcp.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tcp.read_to_end(&mut answer),
    )
    .await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_json_413(413, &body);
}
