//! `GET /health`: version and whether the store answers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::AppState;

/// The health report.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: &'static str,
    /// The crate version of the running build.
    pub version: &'static str,
    /// The store and whether it answered.
    pub store: StoreHealth,
}

/// The store part of the health report.
#[derive(Debug, Serialize)]
pub struct StoreHealth {
    /// `dynamodb:<table>` or `local:<path>`.
    pub kind: String,
    /// Whether a ping succeeded.
    pub reachable: bool,
    /// Why not, when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The router serving `GET /health`.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .with_state(state)
}

async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let records = state.store.records();
    let ping = records.ping().await;
    let status = if ping.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    if let Err(e) = &ping {
        tracing::warn!(error = %e, "health check: store unreachable");
    }
    let body = Health {
        status: if ping.is_ok() { "ok" } else { "degraded" },
        version: env!("CARGO_PKG_VERSION"),
        store: StoreHealth {
            kind: records.describe(),
            reachable: ping.is_ok(),
            error: ping.err().map(|e| e.to_string()),
        },
    };
    (status, Json(body))
}
