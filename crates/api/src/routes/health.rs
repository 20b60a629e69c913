//! `GET /health`: version and whether the store answers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::AppState;

/// The health report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `degraded`.
    #[schema(value_type = String, pattern = "^(ok|degraded)$")]
    pub status: &'static str,
    /// The crate version of the running build.
    #[schema(value_type = String)]
    pub version: &'static str,
    /// The store and whether it answered.
    pub store: StoreHealth,
}

/// The store part of the health report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoreHealth {
    /// `dynamodb:<table>` or `local:<path>`.
    pub kind: String,
    /// Whether a ping succeeded.
    pub reachable: bool,
    /// Why not, when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The router serving `GET /health` and `GET /openapi.json` (the API's contract, served by
/// the `health` function and by `phone-agent serve`).
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .with_state(state)
}

/// Version, and whether the store answers.
#[utoipa::path(get, path = "/health", tag = "health", security(()),
    responses(
        (status = 200, description = "Healthy", body = Health),
        (status = 503, description = "The store does not answer", body = Health),
    ))]
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

/// This API's OpenAPI 3.1 document (the same as docs/openapi.json).
#[utoipa::path(get, path = "/openapi.json", tag = "health", security(()),
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)))]
async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        crate::openapi::json(),
    )
}

/// The handlers' paths, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(health, openapi))]
pub(crate) struct Paths;
