//! One limit on every request body, applied to every router: nothing this API accepts comes
//! near it (tool arguments are at most 16 KiB, Twilio's forms a few kB), so a larger body is
//! refused before it is buffered.
//!
//! `RequestBodyLimitLayer` refuses a declared `Content-Length` over the limit at once, and
//! stops a chunked body as soon as it passes it (the extractor reading it then fails with 413).
//! Either way the 413 leaves in the API's JSON error shape.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::limit::RequestBodyLimitLayer;

use crate::ApiError;

/// Largest request body, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// `router` with bodies limited to [`MAX_BODY_BYTES`] and the 413 in the JSON error shape.
pub fn limited<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(json_413))
}

/// Replaces the plain 413 of the limit layer or of axum's extractors with the JSON error.
async fn json_413(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        tracing::warn!(
            limit = MAX_BODY_BYTES,
            "request body over the limit refused"
        );
        return ApiError::PayloadTooLarge(MAX_BODY_BYTES).into_response();
    }
    response
}
