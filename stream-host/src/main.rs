//! The stream host binary: configuration, store, signals, serve.

use std::sync::Arc;

use anyhow::Context;
use phone_core::{Store, SystemClock};
use stream_host::{HostState, StreamHostConfig, drain};

/// How long the host waits at exit for analyses, then for webhook deliveries.
const AFTER_CALL_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    phone_config::logging::init();
    let config = phone_wiring::load_config().await?;
    let records = phone_wiring::open_records(&config).await?;
    let store = Store::new(records, Arc::new(SystemClock), config.retention);
    let host_config = StreamHostConfig::from_config(&config)?;
    let grace = host_config.drain;
    let addr = std::env::var("STREAM_LISTEN_ADDR").unwrap_or_else(|_| "0.0.0.0:8081".into());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let (controller, signal) = drain::channel();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!(grace_secs = grace.as_secs(), "SIGTERM: draining");
        controller.drain(grace);
    });
    tracing::info!(%addr, "stream host listening");
    let mut tools = phone_wiring::tool_ports(&config, &store)?;
    // The host is long-running: it delivers webhooks and analyses calls itself, off the call
    // path (docs/observability.md).
    let (events, outbox, post_call) = phone_wiring::post_call(&config, &store)?;
    tools.events = events.clone();
    let background = phone_http::InFlight::unbounded();
    let host = HostState::with_tools(host_config, store, signal, Some(tools)).with_post_call(
        stream_host::PostCall {
            events,
            analysis: Some(post_call),
            background: background.clone(),
        },
    );
    stream_host::serve(listener, host).await?;
    if let Err(pending) = background.idle_within(AFTER_CALL_GRACE).await {
        tracing::warn!(pending, "call analyses unfinished at exit");
    }
    if let Some(outbox) = outbox
        && !outbox.flush(AFTER_CALL_GRACE).await
    {
        tracing::warn!(
            pending = outbox.pending(),
            "webhook events undelivered at exit"
        );
    }
    tracing::info!("stream host stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
