//! The customer's webhook receiver on loopback: records every request (headers and exact body)
//! and answers as told: fail the first few with 500, or never answer at all.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

use crate::loopback::LoopbackServer;

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// 500 for the first `n` requests, then 204.
    FailFirst(usize),
    /// Accepts the request and never answers.
    Hang,
}

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: String,
    /// `webhook-signature`.
    pub signature: String,
    /// The exact body.
    pub body: String,
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
}

/// A running receiver at `/hook`.
pub struct WebhookReceiver {
    url: String,
    _server: LoopbackServer,
    shared: Arc<Shared>,
}

impl WebhookReceiver {
    /// Starts a receiver behaving as `behaviour`.
    pub async fn start(behaviour: Behaviour) -> Self {
        let shared = Arc::new(Shared::default());
        let app =
            axum::Router::new()
                .route(
                    "/hook",
                    post(
                        move |State(shared): State<Arc<Shared>>,
                              headers: HeaderMap,
                              body: Bytes| async move {
                            let header = |name: &str| {
                                headers
                                    .get(name)
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or_default()
                                    .to_owned()
                            };
                            let count = {
                                let mut received =
                                    shared.received.lock().unwrap_or_else(|p| p.into_inner());
                                received.push(Received {
                                    id: header("webhook-id"),
                                    timestamp: header("webhook-timestamp"),
                                    signature: header("webhook-signature"),
                                    body: String::from_utf8_lossy(&body).into_owned(),
                                });
                                received.len()
                            };
                            match behaviour {
                                Behaviour::Hang => std::future::pending::<StatusCode>().await,
                                Behaviour::FailFirst(n) if count <= n => {
                                    StatusCode::INTERNAL_SERVER_ERROR
                                }
                                Behaviour::FailFirst(_) => StatusCode::NO_CONTENT,
                            }
                        },
                    ),
                )
                .with_state(shared.clone());
        let server = LoopbackServer::serve(app).await.expect("bind loopback");
        Self {
            url: format!("{}/hook", server.base_url()),
            _server: server,
            shared,
        }
    }

    /// The URL to configure (`WEBHOOK_URLS`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Requests received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.shared
            .received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits up to `limit` for at least `n` requests.
    pub async fn wait_for(&self, n: usize, limit: std::time::Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let received = self.received();
            if received.len() >= n || tokio::time::Instant::now() >= deadline {
                return received;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
