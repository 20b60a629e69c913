//! `GET /health` over real HTTP on loopback, with a reachable and an unreachable store.

use std::collections::BTreeMap;
use std::sync::Arc;

use phone_api::AppState;
use phone_config::Config;
use phone_core::store::Records;
use phone_core::{Store, SystemClock};

async fn serve(records: Arc<dyn Records>) -> String {
    let config = Config::from_map(&BTreeMap::new()).unwrap();
    let store = Store::new(records, Arc::new(SystemClock), config.retention);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = phone_api::routes::all(AppState::new(config, store));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/health")
}

#[tokio::test]
async fn health_reports_version_and_a_reachable_store() {
    let url = serve(Arc::new(phone_local::LocalRecords::in_memory())).await;
    let res = reqwest::get(&url).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["store"]["kind"], "local:memory");
    assert_eq!(body["store"]["reachable"], true);
}

#[tokio::test]
async fn health_is_503_when_the_store_does_not_answer() {
    // A real DynamoDB client pointed at a closed loopback port: the ping fails fast.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "x", "y", None, None, "test",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let records = phone_aws::DynamoRecords::new(aws_sdk_dynamodb::Client::new(&sdk), "calls");
    let res = reqwest::get(serve(Arc::new(records)).await).await.unwrap();
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["store"]["kind"], "dynamodb:calls");
    assert_eq!(body["store"]["reachable"], false);
}
