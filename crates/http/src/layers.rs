//! The HTTP layers every router gets exactly once, at its entry point: the Lambda wrapper
//! (`phone_api::lambda`) and the server loop of the long-running processes ([`crate::serve`]).
//!
//! From the outside in:
//! - a request id: the client's `x-request-id` when it is short and plain (at most
//!   [`MAX_REQUEST_ID_LEN`] of `A-Z a-z 0-9 . _ : -`), else a new UUID; it is in the span of
//!   every log line of the request and echoed on the response;
//! - tracing: one span per request (method, path — never the query, which may carry an OAuth
//!   code — and the request id), and one `info` line per answered request with its status and
//!   latency;
//! - panic to 500: a handler that panics is answered 500 in the JSON error shape and logged
//!   with its message; the process keeps serving (in builds that unwind: the release profile
//!   sets `panic = "unwind"` for this);
//! - the body limit, [`MAX_BODY_BYTES`] on every body: nothing this API accepts comes near it
//!   (tool arguments are at most 16 KiB, Twilio's forms a few kB), so a larger body is refused
//!   before it is buffered. `RequestBodyLimitLayer` refuses a declared `Content-Length` over
//!   the limit at once, and stops a chunked body as soon as it passes it (the extractor reading
//!   it then fails with 413);
//! - a request timeout: a request not answered within it gets 504 `timeout`. A WebSocket
//!   upgrade is answered (101) at once and its socket then lives in its own task, so the timeout
//!   never cuts a call.
//!
//! The 413 and 504 of these layers, plain text or empty, leave in the API's JSON error shape
//! (`{"error": {"code", "message"}}`, see [`error_response`]).

use std::any::Any;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// Largest request body, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Longest `x-request-id` a client may choose; a longer one is replaced.
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// The request id header, set on every request and echoed on every response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// `router` with every layer of this module; `request_timeout` bounds each request.
pub fn apply(router: Router, request_timeout: Duration) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(axum::middleware::map_request(drop_unfit_request_id))
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_span)
                    .on_response(DefaultOnResponse::new().level(Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(axum::middleware::map_response_with_state(
                request_timeout,
                json_layer_errors,
            ))
            .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::GATEWAY_TIMEOUT,
                request_timeout,
            )),
    )
}

/// The API's error shape: `{"error": {"code", "message"}}` with `status`.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "error": { "code": code, "message": message } });
    (status, axum::Json(body)).into_response()
}

/// Removes a client's `x-request-id` that is too long or not plain, so a new one is made (it
/// goes into every log line of the request).
async fn drop_unfit_request_id(mut request: Request) -> Request {
    let fit = request.headers().get(&REQUEST_ID).map(|v| {
        let v = v.as_bytes();
        !v.is_empty()
            && v.len() <= MAX_REQUEST_ID_LEN
            && v.iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
    });
    if fit == Some(false) {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// The span of one request: method, path and request id (never the query).
fn request_span(request: &Request) -> tracing::Span {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    )
}

/// 500 in the JSON shape for a handler that panicked; the panic's message goes to the log.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    tracing::error!(panic = %message, "handler panicked; answered 500");
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error",
    )
}

/// Replaces the plain 413 of the limit layer or of axum's extractors, and the empty 504 of the
/// timeout layer, with the JSON error.
async fn json_layer_errors<B>(
    State(request_timeout): State<Duration>,
    response: Response<B>,
) -> Response
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let content_type = response.headers().get(header::CONTENT_TYPE);
    let is_json = content_type.is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE if !is_json => {
            tracing::warn!(
                limit = MAX_BODY_BYTES,
                "request body over the limit refused"
            );
            error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                &format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
            )
        }
        // The timeout layer's own answer has no body and no content type.
        StatusCode::GATEWAY_TIMEOUT if content_type.is_none() => {
            tracing::warn!(
                timeout_ms = request_timeout.as_millis(),
                "request not answered within the request timeout"
            );
            error_response(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                &format!(
                    "the request was not answered within {} ms",
                    request_timeout.as_millis()
                ),
            )
        }
        _ => response.map(Body::new),
    }
}
