//! The stream host: for each call, Twilio's Media Streams WebSocket bridged to an OpenAI
//! Realtime WebSocket.
//!
//! - [`server`]: `/health` and the signature-checked `/voice/stream` upgrade.
//! - `call`: one call's life (start, token check, finalise); `bridge`: its loop.
//! - `answer`: an outbound call's answering machine verdict, read from its call row.
//! - `start`: Twilio's `start`, which call a stream belongs to.
//! - [`machine`]: one call as a state machine (phase, playback, tool turns, reconnect).
//! - [`engine`]: the engine port and its adapters (Realtime).
//! - [`drain`]: graceful shutdown; the calls in progress are counted and capped by a
//!   `phone_http::InFlight`, which the drain waits for ([`drained`]).
//! - [`metrics`]: the turn-latency metric (CloudWatch EMF lines); `trace_export` (feature
//!   `otel`, on by default): optional OTLP export of each call as a trace.
//! - [`config`]: settings; [`HostState`]: what connections share.
//! - [`post_call`]: `call.started`/`call.ended` events and the analysis after each call.

mod answer;
mod bridge;
mod call;
pub mod config;
pub mod drain;
pub mod engine;
pub mod machine;
pub mod metrics;
mod openai;
pub mod post_call;
pub mod server;
mod start;
mod state;
mod stream_end;
#[cfg(feature = "otel")]
pub mod trace_export;

pub use config::StreamHostConfig;
pub use machine::{EndReason, Outcome};
pub use post_call::PostCall;
pub use server::{router, stream_routes};
pub use state::HostState;

use std::time::Duration;

/// How long calls get after the drain deadline to finish their goodbye.
const GOODBYE_GRACE: Duration = Duration::from_secs(15);

/// Serves the stream host on `listener`, with the layers of `phone_http::layers`, until a
/// drain is [`drained`]. A client gets `header_read_timeout` to send its request headers
/// (slowloris), and every socket has Nagle's algorithm off: a 20 ms audio frame must leave
/// now, not wait up to 40 ms for more bytes or an ACK (`phone_http::server`).
pub async fn serve(listener: tokio::net::TcpListener, state: HostState) -> std::io::Result<()> {
    let timeouts = phone_http::ServerTimeouts {
        header_read: state.inner.config.header_read_timeout,
        request: state.inner.config.request_timeout,
    };
    phone_http::serve(listener, router(state.clone()), timeouts, drained(state)).await
}

/// Resolves once a drain has started and the calls in progress have ended: at once if there
/// are none, else when the last one ends, and at the latest [`GOODBYE_GRACE`] after the drain
/// deadline (when every call is asked to say goodbye). New calls are refused meanwhile.
pub async fn drained(state: HostState) {
    let mut drain = state.inner.drain.clone();
    let calls = &state.inner.calls;
    drain.started().await;
    tokio::select! {
        () = calls.idle() => {}
        () = drain.deadline_passed() => {
            if let Err(left) = calls.idle_within(GOODBYE_GRACE).await {
                tracing::warn!(calls = left, "calls still running after the goodbye grace");
            }
        }
    }
}
