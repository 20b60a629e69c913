//! The stream host binary: configuration, store, signals, serve.

use std::sync::Arc;

use anyhow::Context;
use phone_core::{Store, SystemClock};
use stream_host::{HostState, StreamHostConfig, drain};

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
    let tools = phone_wiring::tool_ports(&config, &store)?;
    stream_host::serve(
        listener,
        HostState::with_tools(host_config, store, signal, Some(tools)),
    )
    .await?;
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
