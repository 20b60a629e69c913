//! docs/openapi.json is the document the code generates, and `GET /openapi.json` serves it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use phone_api::AppState;
use phone_config::Config;
use phone_core::{Store, SystemClock};
use phone_local::LocalRecords;
use serde_json::Value;

fn committed_path() -> PathBuf {
    phone_test_support::paths::workspace_file("docs/openapi.json")
}

/// Fails when a handler, a type or a response changed and docs/openapi.json was not
/// regenerated. `UPDATE_OPENAPI=1` rewrites the file instead.
#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = phone_api::openapi::json();
    let path = committed_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is out of date with the handlers; regenerate it with\n  \
         cargo run -p phone-agent -- openapi > docs/openapi.json\nor\n  \
         UPDATE_OPENAPI=1 cargo test -p phone-api --test openapi"
    );
}

/// `GET /openapi.json` (no key needed) serves the same document, as JSON, and it is OpenAPI 3.1
/// with the bearer scheme, every REST route and the error shape.
#[tokio::test]
async fn the_api_serves_the_document_without_a_key() {
    let config =
        Config::from_map(&BTreeMap::from([("API_KEY".to_owned(), "k".to_owned())])).unwrap();
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        Arc::new(SystemClock),
        config.retention,
    );
    let state = AppState::new(config, store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        async move { axum::serve(listener, phone_api::routes::health::routes(state)).await },
    );
    let res = reqwest::get(format!("http://{addr}/openapi.json"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let text = res.text().await.unwrap();
    assert_eq!(text, phone_api::openapi::json());
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    for path in [
        "/health",
        "/calls/{call_sid}",
        "/calendar/events",
        "/calendar/events/{id}",
        "/sms/send",
        "/sms/list",
        "/sms/details/{sid}",
        "/email/send",
        "/email/inbox",
        "/agent",
        "/memory/{number}",
        "/auth/google",
        "/auth/google/callback",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is missing");
    }
    // This round's routes, the console cookie as the reads' second scheme, and the links the
    // stateful checks follow (spelt `operationId`, as OpenAPI names it).
    for path in [
        "/calls",
        "/calls/{call_sid}/analysis",
        "/webhooks/deliveries",
        "/reminders",
        "/reminders/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is missing");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["console_session"]["in"],
        "cookie"
    );
    assert_eq!(
        doc["paths"]["/calls"]["get"]["security"][1]["console_session"],
        serde_json::json!([])
    );
    assert!(doc["paths"]["/calls"]["post"]["security"].is_null());
    let link = &doc["paths"]["/calls"]["post"]["responses"]["201"]["links"]["GetOutboundCall"];
    assert_eq!(link["operationId"], "get_call");
    assert_eq!(
        doc["paths"]["/calls/{call_sid}"]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"]["$ref"],
        "#/components/schemas/CallOrOutbound"
    );
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"][0], "error");
    // A REST route lists 401 (the key layer); /health does not need the key.
    assert!(doc["paths"]["/sms/list"]["get"]["responses"]["401"].is_object());
    assert!(doc["paths"]["/health"]["get"]["responses"]["401"].is_null());
}
