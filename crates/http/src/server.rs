//! The HTTP/1.1 server loop of the long-running processes (`phone-agent serve`, the stream
//! host): `axum::serve` with a header-read timeout, serving the router with the layers of
//! [`crate::layers`].
//!
//! `axum::serve` (0.8) sets no timer on hyper's connection builder, so hyper's header-read
//! timeout never runs: a client that opens a connection and sends its request line and headers
//! a byte at a time (slowloris) holds a socket and a task for as long as it likes, and a few
//! thousand of them exhaust the process's file descriptors. Here each connection is served by
//! hyper's HTTP/1 builder with a Tokio timer and `header_read_timeout`: a request whose line and
//! headers have not all arrived within it is cut off, and so is an idle keep-alive connection
//! that does not start its next request in time. Bodies and WebSocket upgrades are not affected
//! (the body limit and the call's own timeouts cover them).
//!
//! Every accepted socket gets `TCP_NODELAY` (a 20 ms audio frame must leave at once). Shutdown
//! is axum's: when `shutdown` resolves, stop accepting, ask every connection to finish its
//! request and close, and return once they have (counted by an [`InFlight`]).

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::tasks::InFlight;

/// The timeouts of a long-running server.
#[derive(Debug, Clone, Copy)]
pub struct ServerTimeouts {
    /// How long a client has to send a request's line and headers (slowloris).
    pub header_read: Duration,
    /// How long a request may take to be answered ([`crate::layers::apply`]).
    pub request: Duration,
}

/// Serves `app`, with the layers of [`crate::layers`], on `listener` until `shutdown` resolves
/// and every connection has closed.
pub async fn serve<F>(
    listener: TcpListener,
    app: Router,
    timeouts: ServerTimeouts,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    let app = crate::layers::apply(app, timeouts.request);
    let header_read_timeout = timeouts.header_read;
    // `stop` tells connections to wind down; `connections` counts them until they have.
    let (stop_tx, stop_rx) = watch::channel(false);
    let connections = InFlight::unbounded();
    let mut shutdown = pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // back off a little rather than spin, and keep serving.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
        let service = TowerToHyperService::new(app.clone());
        let mut stop = stop_rx.clone();
        connections.spawn(async move {
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            let mut conn = pin!(
                builder
                    .serve_connection(TokioIo::new(tcp), service)
                    .with_upgrades()
            );
            let mut stopping = false;
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    _ = stop.changed(), if !stopping => {
                        stopping = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    connections.idle().await;
    Ok(())
}
