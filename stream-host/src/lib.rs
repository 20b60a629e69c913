//! The stream host: for each call, Twilio's Media Streams WebSocket bridged to an OpenAI
//! Realtime WebSocket.
//!
//! - [`server`]: `/health` and the signature-checked `/voice/stream` upgrade.
//! - `call`: one call's life (start, token check, finalise); `bridge`: its loop.
//! - `answer`: an outbound call's answering machine verdict, read from its call row.
//! - `start`: Twilio's `start`, which call a stream belongs to.
//! - [`machine`]: one call as a state machine (phase, playback, tool turns, reconnect).
//! - [`engine`]: the engine port and its adapters (Realtime).
//! - [`drain`]: graceful shutdown; [`limits`]: concurrent-call cap.
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
pub mod limits;
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

/// Serves the stream host on `listener` until the drain deadline has passed and every call
/// has ended. A client gets `header_read_timeout` to send its request headers (slowloris), and
/// every socket has Nagle's algorithm off: a 20 ms audio frame must leave now, not wait up to
/// 40 ms for more bytes or an ACK (`phone_api::server`).
pub async fn serve(listener: tokio::net::TcpListener, state: HostState) -> std::io::Result<()> {
    let mut drain = state.inner.drain.clone();
    let waiting = state.clone();
    let header_read_timeout = state.inner.config.header_read_timeout;
    phone_api::server::serve(listener, router(state), header_read_timeout, async move {
        drain.deadline_passed().await;
        // Calls say goodbye at the deadline; give them the goodbye grace to finish.
        let give_up = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        while waiting.active_calls() > 0 && tokio::time::Instant::now() < give_up {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await
}
