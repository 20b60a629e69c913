//! Lambda for `GET /auth/google` and `GET /auth/google/callback`.
//!
//! The Google OAuth flow (consent redirect, signed state, code exchange, storing the refresh
//! token in the secret) is not built yet; until it is, both routes answer 501 with a message
//! that says so, rather than pretending to work.

use axum::Json;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;

async fn not_built() -> (StatusCode, Json<serde_json::Value>) {
    let message =
        "Google authorisation is not built yet; the calendar and mail use the embedded adapters";
    (
        StatusCode::NOT_IMPLEMENTED,
        Json(json!({"error": {"code": "not_implemented", "message": message}})),
    )
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phone_config::logging::init();
    let router = axum::Router::new()
        .route("/auth/google", get(not_built))
        .route("/auth/google/callback", get(not_built));
    lambda_http::run(router).await
}
