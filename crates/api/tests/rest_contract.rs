//! What Schemathesis's negative data showed the REST routes must refuse, as the OpenAPI document
//! says, with the JSON error shape: each case here was accepted (or answered in plain text)
//! before.

use std::collections::BTreeMap;
use std::sync::Arc;

use phone_api::AppState;
use phone_config::Config;
use phone_core::{Store, SystemClock};
use phone_local::LocalRecords;
use serde_json::{Value, json};

const API_KEY: &str = "contract-test-key";

async fn start() -> String {
    let env = BTreeMap::from([
        ("API_KEY".to_owned(), API_KEY.to_owned()),
        ("TIME_ZONE".to_owned(), "Europe/Paris".to_owned()),
    ]);
    let config = Config::from_map(&env).unwrap();
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        Arc::new(SystemClock),
        config.retention,
    );
    let tools = phone_wiring::tool_ports(&config, &store).unwrap();
    let state = AppState::new(config, store).with_tools(tools);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, phone_api::routes::all(state)).await });
    format!("http://{addr}")
}

/// Sends `request` with the key; returns the status and the JSON error's code.
async fn send(request: reqwest::RequestBuilder) -> (u16, String) {
    let res = request.bearer_auth(API_KEY).send().await.unwrap();
    let status = res.status().as_u16();
    assert_eq!(
        res.headers()["content-type"],
        "application/json",
        "status {status} is not in the JSON error shape"
    );
    let body: Value = res.json().await.unwrap();
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

#[tokio::test]
async fn schema_violating_requests_are_refused_in_the_json_shape() {
    let base = start().await;
    let http = reqwest::Client::new();
    let events = format!("{base}/calendar/events");

    // `duration_minutes` out of range is refused even when `end` makes it unused.
    let body = json!({"title": "Review", "start": "2026-11-26T10:00", "end": "2026-11-26T11:00", "duration_minutes": 4});
    assert_eq!(
        send(http.post(&events).json(&body)).await,
        (400, "bad_request".into())
    );

    // A body without `Content-Type: application/json` is a 415, not axum's plain text.
    let plain = http
        .post(&events)
        .body(r#"{"title": "x", "start": "2026-11-26T10:00"}"#);
    assert_eq!(send(plain).await, (415, "unsupported_media_type".into()));

    // Malformed JSON is a 400 in the error shape.
    let broken = http
        .post(&events)
        .header("content-type", "application/json")
        .body("{\"title\": ");
    assert_eq!(send(broken).await, (400, "bad_request".into()));

    // The event id is the path's: an `event_id` in the PATCH body is refused.
    let patch = http
        .patch(format!("{events}/evt1"))
        .json(&json!({"event_id": "evt2", "title": "x"}));
    assert_eq!(send(patch).await, (400, "bad_request".into()));

    // An empty session id is not a session.
    let agent = http
        .post(format!("{base}/agent"))
        .json(&json!({"message": "hello", "session_id": ""}));
    assert_eq!(send(agent).await, (400, "bad_request".into()));

    // A query that does not parse (an unknown or repeated parameter, a negative count) is a
    // 400 in the error shape.
    for query in [
        "limit=-1",
        "colour=red",
        "to=%2B14155550123&to=%2B14155550124",
    ] {
        let list = http.get(format!("{base}/sms/list?{query}"));
        assert_eq!(send(list).await, (400, "bad_request".into()), "{query}");
    }

    // Without the key: 401 from the route layer, before anything is parsed.
    let res = http
        .get(format!("{base}/sms/list?limit=-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

/// `POST /calls` judges the request before the deployment: a bad body is the client's 400 even
/// where outbound calls are not configured (this state has no PUBLIC_BASE_URL, so no dialer),
/// which answers a good body 503. Before, every body got the 503.
#[tokio::test]
async fn a_bad_outbound_call_is_a_400_even_without_a_dialer() {
    let base = start().await;
    let http = reqwest::Client::new();
    let calls = format!("{base}/calls");
    let good = json!({"to": "+14155550123", "purpose": "Confirm", "instructions": "Ask."});
    for bad in [
        json!({"to": "4155550123", "purpose": "Confirm", "instructions": "Ask."}),
        json!({"to": "+14155550123", "purpose": " ", "instructions": "Ask."}),
        json!({"to": "+14155550123", "purpose": "x".repeat(301), "instructions": "Ask."}),
        json!({"to": "+14155550123", "purpose": "Confirm", "instructions": "Ask.", "time_zone": "Mars/Base"}),
        json!({"to": "+14155550123", "purpose": "Confirm"}),
        json!({"to": "+14155550123", "purpose": "Confirm", "instructions": "Ask.", "colour": "red"}),
    ] {
        assert_eq!(
            send(http.post(&calls).json(&bad)).await,
            (400, "bad_request".into()),
            "{bad}"
        );
    }
    assert_eq!(
        send(http.post(&calls).json(&good)).await,
        (503, "unavailable".into())
    );
}

/// The paged lists of this round's routes refuse a query that does not parse (a repeated or
/// non-numeric `limit`, an unknown parameter) in the JSON error shape, not axum's plain text.
#[tokio::test]
async fn list_queries_that_do_not_parse_are_json_400s() {
    let base = start().await;
    let http = reqwest::Client::new();
    for url in [
        format!("{base}/calls?limit=null&limit=null"),
        format!("{base}/calls?limit=x"),
        format!("{base}/reminders?limit=1&colour=red"),
        format!("{base}/reminders?limit=-1"),
        format!("{base}/webhooks/deliveries?limit=1&colour=red"),
        format!("{base}/webhooks/deliveries?limit=1&limit=2"),
    ] {
        assert_eq!(
            send(http.get(&url)).await,
            (400, "bad_request".into()),
            "{url}"
        );
    }
}
