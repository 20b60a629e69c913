//! HTTP side of the stream host: `/health` and the `/voice/stream` WebSocket upgrade.

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use phone_twilio::signature::{
    Refusal, SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER, SignatureHeaders,
};
use serde_json::json;

use crate::HostState;

/// Largest WebSocket message the transport accepts. Frames above the application cap
/// (`max_frame_bytes`) but below this are read and dropped with a count, so one oversized frame
/// never ends a call.
const TRANSPORT_MAX_MESSAGE: usize = 1 << 20;

/// Read size of each Twilio socket (tungstenite's default is 128 KiB). Twilio's messages are
/// ~330-byte media frames and small marks; tungstenite zero-fills this much before every read,
/// so a small size saves both memory and a memset per frame.
pub const SOCKET_READ_BUFFER: usize = 2 * 1024;
/// Bytes of outgoing frames held before a write (a flush writes them sooner).
pub const SOCKET_WRITE_BUFFER: usize = 8 * 1024;

/// `GET /voice/stream`, for mounting beside other routes (the local all-in-one server).
pub fn stream_routes(state: HostState) -> Router {
    Router::new()
        .route("/voice/stream", get(upgrade))
        .with_state(state)
}

/// `/health` and `/voice/stream`: the stream host on its own.
pub fn router(state: HostState) -> Router {
    Router::new()
        .route("/health", get(health))
        .with_state(state.clone())
        .merge(stream_routes(state))
}

async fn health(State(state): State<HostState>) -> Response {
    let draining = state.inner.drain.is_draining();
    let status = if draining {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = json!({
        "status": if draining { "draining" } else { "ok" },
        "version": env!("CARGO_PKG_VERSION"),
        "active_calls": state.active_calls(),
        "max_calls": state.inner.config.max_calls,
    });
    (status, Json(body)).into_response()
}

async fn upgrade(
    State(state): State<HostState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if state.inner.drain.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining").into_response();
    }
    let signed = SignatureHeaders {
        signature: headers.get(SIGNATURE_HEADER).map(|v| v.as_bytes()),
        settings: headers.get(SIGNATURE_SETTINGS_HEADER).map(|v| v.as_bytes()),
    };
    let checked = state
        .inner
        .validator
        .validate_websocket(&state.inner.config.stream_url, &signed);
    if let Err(refusal) = checked {
        if let Refusal::NoSharedKey { .. } = refusal {
            tracing::error!(
                reason = %refusal,
                setting = phone_config::keys::TWILIO_WEBHOOK_SHARED_KEY_SECRET,
                "media stream upgrade signed with a SharedKey refused: set the SharedKey's secret"
            );
        } else {
            tracing::warn!(
                reason = %refusal,
                "media stream upgrade with a missing or invalid signature refused"
            );
        }
        return (StatusCode::FORBIDDEN, "invalid signature").into_response();
    }
    let Some(slot) = state.inner.calls.try_enter() else {
        tracing::warn!(
            max = state.inner.config.max_calls,
            "media stream refused: host at capacity"
        );
        return (StatusCode::SERVICE_UNAVAILABLE, "at capacity").into_response();
    };
    // Small buffers: a call holds two sockets for minutes, and messages are a few hundred bytes.
    ws.read_buffer_size(SOCKET_READ_BUFFER)
        .write_buffer_size(SOCKET_WRITE_BUFFER)
        .max_message_size(TRANSPORT_MAX_MESSAGE)
        .max_frame_size(TRANSPORT_MAX_MESSAGE)
        .on_upgrade(move |socket| crate::call::run(state, socket, slot))
}
