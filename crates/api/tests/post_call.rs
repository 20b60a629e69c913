//! After the call, over real HTTP on loopback: `POST /calls/{sid}/analysis` (re-run, stand-in),
//! the call report's `analysis` and `webhook_deliveries`, and `GET /webhooks/deliveries` showing
//! a receiver's failures a page at a time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use phone_api::AppState;
use phone_config::Config;
use phone_core::events::EventType;
use phone_core::{CallSession, CallSid, Role, Store, SystemClock, Turn};
use phone_local::LocalRecords;
use phone_test_support::webhook_receiver::{Behaviour, WebhookReceiver};
use serde_json::{Value, json};

const API_KEY: &str = "post-call-test-key";
const SID: &str = "CA00000000000000000000000000000001";

#[tokio::test]
async fn analysis_and_webhook_failures_are_visible_over_rest() {
    let receiver = WebhookReceiver::start(Behaviour::FailFirst(usize::MAX)).await;
    let env = BTreeMap::from([
        ("API_KEY".to_owned(), API_KEY.to_owned()),
        (
            "WEBHOOK_URLS".to_owned(),
            format!("{}?token=secret-token", receiver.url()),
        ),
        (
            "WEBHOOK_SECRET".to_owned(),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
        ),
    ]);
    let config = Config::from_map(&env).unwrap();
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        Arc::new(SystemClock),
        config.retention,
    );
    let sid = CallSid::parse(SID).unwrap();
    let now = store.clock().now();
    store
        .create_call(&CallSession::new(sid.clone(), None, None, now), "h", now)
        .await
        .unwrap();
    store
        .append_turn(
            &sid,
            &Turn::new(0, Role::Caller, "Please book an appointment.", now),
        )
        .await
        .unwrap();
    let (events, outbox, post_call) = phone_wiring::post_call(&config, &store).unwrap();
    let outbox = outbox.expect("WEBHOOK_URLS set: an outbox");
    let state = AppState::new(config, store).with_post_call(events.clone(), post_call);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, phone_api::routes::all(state)).await });
    let http = reqwest::Client::new();
    let get = |path: &str| {
        http.get(format!("{base}{path}"))
            .bearer_auth(API_KEY)
            .send()
    };

    // Re-run without the key: refused.
    let res = http
        .post(format!("{base}/calls/{SID}/analysis"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let res = http
        .post(format!("{base}/calls/{SID}/analysis"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let analysis: Value = res.json().await.unwrap();
    assert_eq!(analysis["status"], "valid");
    assert_eq!(analysis["source"], "stand_in");
    assert_eq!(analysis["fields"]["appointment_booked"], true);

    let unknown = http
        .post(format!(
            "{base}/calls/CA00000000000000000000000000000999/analysis"
        ))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    // Two more events for the call; the receiver fails every attempt. The first delivery's
    // retries run on the default schedule, so the records are read while they are pending.
    events.emit(EventType::CallEnded, now, Some(sid.clone()), json!({}));
    receiver.wait_for(2, Duration::from_secs(3)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(outbox.pending() > 0, "retries are still scheduled");

    let report: Value = get(&format!("/calls/{SID}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["analysis"]["summary"], analysis["summary"]);
    assert_eq!(report["analysis"]["model"], "stand-in");
    assert!(report["analysis"]["analyzed_at"].is_string());
    let deliveries = report["webhook_deliveries"].as_array().unwrap();
    let kinds: Vec<&str> = deliveries
        .iter()
        .map(|d| d["event"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"call.analyzed") && kinds.contains(&"call.ended"),
        "{kinds:?}"
    );
    for d in deliveries {
        assert_eq!(d["status"], "pending");
        assert!(d["attempts"].as_u64().unwrap() >= 1);
        assert_eq!(d["last_error"], "HTTP 500");
        assert!(d["last_attempt_at"].is_string());
        assert!(
            !d["url"].as_str().unwrap().contains("secret-token"),
            "no token shown"
        );
    }

    let first: Value = get("/webhooks/deliveries?limit=1")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["deliveries"].as_array().unwrap().len(), 1);
    let next = first["next"].as_str().expect("a second page");
    let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    let second: Value = get(&format!("/webhooks/deliveries?limit=1&after={next}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["deliveries"].as_array().unwrap().len(), 1);
    assert_ne!(second["deliveries"][0]["id"], first["deliveries"][0]["id"]);
    assert_eq!(
        first["deliveries"][0]["event"], "call.ended",
        "newest first"
    );

    for bad in [
        "/webhooks/deliveries?limit=0",
        "/webhooks/deliveries?after=CALL%23x",
        "/webhooks/deliveries?bogus=1",
    ] {
        assert_eq!(get(bad).await.unwrap().status(), 400, "{bad}");
    }
}
