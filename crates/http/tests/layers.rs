//! The layers every router gets, over a real socket through the server loop: the request id
//! (echoed, and in the request's log lines), the request timeout answered in the JSON error
//! shape, a handler's panic answered 500 in that shape while the server keeps serving, and the
//! body limit's 413.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use phone_http::ServerTimeouts;
use phone_http::layers::MAX_BODY_BYTES;
use phone_test_support::logs;
use serde_json::Value;

const REQUEST_TIMEOUT: Duration = Duration::from_millis(300);

/// A server with a quick route, a slow one, one that panics and one that reads a body.
async fn start() -> String {
    let app = Router::new()
        .route("/quick", get(|| async { "ok" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "too late"
            }),
        )
        .route(
            "/panic",
            get(|| async {
                if std::hint::black_box(true) {
                    panic!("handler bug on purpose");
                }
                "unreachable"
            }),
        )
        .route(
            "/echo",
            post(|body: String| async move { body.len().to_string() }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let timeouts = ServerTimeouts {
        header_read: Duration::from_secs(10),
        request: REQUEST_TIMEOUT,
    };
    tokio::spawn(phone_http::serve(
        listener,
        app,
        timeouts,
        std::future::pending(),
    ));
    format!("http://{addr}")
}

fn request_id(res: &reqwest::Response) -> String {
    res.headers()
        .get("x-request-id")
        .expect("x-request-id on the response")
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn every_request_has_an_id_echoed_back_and_in_its_log_lines() {
    let (_guard, logs) = logs::capture();
    let base = start().await;
    let http = reqwest::Client::new();

    // None given: one is made (a UUID), echoed, and logged with the request.
    let res = http.get(format!("{base}/quick")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let made = request_id(&res);
    assert_eq!(made.len(), 36, "a UUID: {made}");
    let lines = logs.lines_with(&[&format!("request_id={made}"), "status=200"]);
    assert_eq!(lines.len(), 1, "{}", logs.text());
    assert!(lines[0].contains("path=/quick"), "{}", lines[0]);

    // A plain one given by the client is kept.
    let res = http
        .get(format!("{base}/quick"))
        .header("x-request-id", "client-id.42")
        .send()
        .await
        .unwrap();
    assert_eq!(request_id(&res), "client-id.42");
    assert_eq!(logs.lines_with(&["request_id=client-id.42"]).len(), 1);

    // One that is too long or not plain is replaced, and never logged.
    for unfit in ["x".repeat(65), "a b".to_owned(), "id\"=1".to_owned()] {
        let res = http
            .get(format!("{base}/quick"))
            .header("x-request-id", &unfit)
            .send()
            .await
            .unwrap();
        let id = request_id(&res);
        assert_ne!(id, unfit);
        assert_eq!(id.len(), 36, "{id}");
        assert!(!logs.text().contains(&unfit), "{}", logs.text());
    }
}

#[tokio::test]
async fn a_request_past_the_timeout_is_answered_504_in_json() {
    let base = start().await;
    let started = std::time::Instant::now();
    let res = reqwest::get(format!("{base}/slow")).await.unwrap();
    let took = started.elapsed();
    assert_eq!(res.status(), 504);
    assert!(
        res.headers().contains_key("x-request-id"),
        "the id is on error answers too"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "timeout", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("300 ms"),
        "{body}"
    );
    assert!(
        took >= REQUEST_TIMEOUT && took < Duration::from_secs(3),
        "answered after {took:?}"
    );
}

#[tokio::test]
async fn a_panicking_handler_is_answered_500_in_json_and_the_server_keeps_serving() {
    let (_guard, logs) = logs::capture();
    let base = start().await;
    let http = reqwest::Client::new();
    for _ in 0..2 {
        let res = http.get(format!("{base}/panic")).send().await.unwrap();
        assert_eq!(res.status(), 500);
        let id = request_id(&res);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "internal", "{body}");
        assert_eq!(body["error"]["message"], "internal error", "{body}");
        let logged = logs.lines_with(&["handler panicked", &format!("request_id={id}")]);
        assert_eq!(logged.len(), 1, "{}", logs.text());
        assert!(
            logged[0].contains("handler bug on purpose"),
            "{}",
            logged[0]
        );
    }
    // The same server, on a new connection and on the kept-alive one, still answers.
    let res = reqwest::get(format!("{base}/quick")).await.unwrap();
    assert_eq!(res.status(), 200);
    let res = http.get(format!("{base}/quick")).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_413_in_json() {
    let base = start().await;
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{base}/echo"))
        .body("x".repeat(MAX_BODY_BYTES + 1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
    let res = http
        .post(format!("{base}/echo"))
        .body("x".repeat(MAX_BODY_BYTES))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), MAX_BODY_BYTES.to_string());
}
