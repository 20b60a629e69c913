//! A strict GPT-Live double on loopback (`/v1/live/sessions`), speaking the protocol as the
//! official SDK's `openai.types.live` unions define it and behaving as PROTOCOLS-LIVE.md says:
//!
//! - it sends nothing before `session.start`, validates it strictly (model, `audio/pcmu` at
//!   8000 Hz, unknown fields, delegation shape) and answers `session.started` echoing the
//!   `event_id`; any other event before that is refused with an `error` naming it;
//! - events outside the client union (`session.input_audio.commit`, Realtime ones) are refused;
//! - the output track is continuous (silence between replies) and keeps flowing while input
//!   arrives; there is no speech-started, cancel or truncate event;
//! - `session.usage.updated` reports cumulative seconds of the input timeline (20 ms per
//!   160-byte frame);
//! - tests script delegated tool calls ([`LiveTestServer::call_tool`]); outputs for unknown
//!   calls and `response.create` while a call has no output are refused, and a later call is
//!   held until the earlier one is answered and continued;
//! - `session.close` gets `session.closed` (`close_requested`, final usage), then a close.
//!
//! Every client event is recorded, and every event it sends, so a test can check both against
//! the SDK ([`LiveTestServer::assert_client_events_valid`], [`assert_sent_events_valid`]).
//!
//! [`assert_sent_events_valid`]: LiveTestServer::assert_sent_events_valid

mod connection;
pub mod events;
pub mod validate;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, Notify, mpsc};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use crate::live_oracle::{self, Union};

/// How the double behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveOptions {
    /// Send silence deltas between replies, as GPT-Live's continuous output track does.
    pub silence_track: bool,
    /// Report `session.usage.updated` after this much more input timeline (GPT-Live: ~15 s).
    pub usage_every_ms: u64,
    /// Accept the WebSocket upgrade, then close at once (code 1011) without a word.
    pub accept_then_close: bool,
}

impl Default for LiveOptions {
    fn default() -> Self {
        Self {
            silence_track: true,
            usage_every_ms: 1000,
            accept_then_close: false,
        }
    }
}

/// Ids of a scripted tool call, to answer it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// `session.delegation.created.delegation.id`, and `delegation_id` of its events.
    pub delegation_id: String,
    /// The function call's `call_id`.
    pub call_id: String,
}

enum Command {
    Send(Value),
    Speak(Vec<u8>),
    CallTool(ToolCall, String, String),
    Close(String),
    Drop,
}

struct Shared {
    options: LiveOptions,
    client_events: Mutex<Vec<Value>>,
    sent: Mutex<Vec<Value>>,
    arrived: Notify,
    connections: Mutex<Vec<mpsc::UnboundedSender<Command>>>,
    requests: Mutex<Vec<(String, Option<String>)>>,
    opened: AtomicUsize,
    open: AtomicUsize,
    sessions_started: AtomicUsize,
}

/// The running double; it stops when dropped.
pub struct LiveTestServer {
    url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LiveTestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LiveTestServer {
    /// Starts on a free loopback port with the default behaviour.
    pub async fn start() -> Self {
        Self::start_with(LiveOptions::default()).await
    }

    /// Starts on a free loopback port.
    pub async fn start_with(options: LiveOptions) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            options,
            client_events: Mutex::default(),
            sent: Mutex::default(),
            arrived: Notify::new(),
            connections: Mutex::default(),
            requests: Mutex::default(),
            opened: AtomicUsize::new(0),
            open: AtomicUsize::new(0),
            sessions_started: AtomicUsize::new(0),
        });
        let accept = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(serve_connection(tcp, accept.clone()));
            }
        });
        Self {
            url: format!("ws://{addr}/v1/live/sessions"),
            shared,
            task,
        }
    }

    /// The URL to configure as `OPENAI_LIVE_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn command(&self, command: Command) {
        if let Some(tx) = self.shared.connections.lock().await.last() {
            let _ = tx.send(command);
        }
    }

    /// Sends a raw event on the most recent connection.
    pub async fn send(&self, event: Value) {
        self.command(Command::Send(event)).await;
    }

    /// Queues μ-law audio on the output track of the most recent connection; it goes out in
    /// 100 ms deltas, whatever the caller sends meanwhile (full duplex).
    pub async fn speak(&self, mulaw: Vec<u8>) {
        self.command(Command::Speak(mulaw)).await;
    }

    /// A transcript fragment of the caller (`User`) or the assistant, on the session timeline.
    pub async fn transcript(&self, caller: bool, text: &str, start_ms: u64, end_ms: u64) {
        let kind = if caller {
            "session.input_transcript.delta"
        } else {
            "session.output_transcript.delta"
        };
        let body = json!({"delta": text, "start_ms": start_ms, "end_ms": end_ms});
        self.send(events::event(kind, body)).await;
    }

    /// A delegated tool call: `session.delegation.created`, then `response.event`s with
    /// `response.created`, `response.output_item.done` (the `function_call`) and
    /// `response.completed` with usage. Held, as GPT-Live holds it, while an earlier call has
    /// no output or no `response.create` yet.
    pub async fn call_tool(&self, name: &str, arguments: &Value) -> ToolCall {
        let call = ToolCall {
            delegation_id: events::new_id("dlg"),
            call_id: events::new_id("call"),
        };
        let command = Command::CallTool(call.clone(), name.to_owned(), arguments.to_string());
        self.command(command).await;
        call
    }

    /// Ends the most recent session from the server side (`expired`, `content`,
    /// `connection_lost`, …): `session.closed` with the final usage, then a close.
    pub async fn close_session(&self, reason: &str) {
        self.command(Command::Close(reason.to_owned())).await;
    }

    /// Drops the most recent connection abruptly (no `session.closed`, no close frame).
    pub async fn drop_connection(&self) {
        self.command(Command::Drop).await;
    }

    /// Connections accepted so far.
    pub fn connections_opened(&self) -> usize {
        self.shared.opened.load(Ordering::SeqCst)
    }

    /// Connections still open.
    pub fn connections_open(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// Sessions that reached `session.started`.
    pub fn sessions_started(&self) -> usize {
        self.shared.sessions_started.load(Ordering::SeqCst)
    }

    /// Each connection's request target (path and query) and `Authorization` header.
    pub async fn requests(&self) -> Vec<(String, Option<String>)> {
        self.shared.requests.lock().await.clone()
    }

    /// Every client event received, in order (audio appends included).
    pub async fn client_events(&self) -> Vec<Value> {
        self.shared.client_events.lock().await.clone()
    }

    /// Every event the double sent, in order.
    pub async fn sent_events(&self) -> Vec<Value> {
        self.shared.sent.lock().await.clone()
    }

    /// The client events of `kind`, in arrival order.
    pub async fn events_of(&self, kind: &str) -> Vec<Value> {
        let events = self.shared.client_events.lock().await;
        events
            .iter()
            .filter(|e| e["type"] == kind)
            .cloned()
            .collect()
    }

    /// The `error` events the double sent, in order.
    pub async fn errors_sent(&self) -> Vec<Value> {
        let sent = self.shared.sent.lock().await;
        sent.iter()
            .filter(|e| e["type"] == "error")
            .cloned()
            .collect()
    }

    /// Waits until `n` client events of `kind` have arrived and returns them; panics after
    /// `limit`.
    pub async fn wait_for(&self, kind: &str, n: usize, limit: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.shared.arrived.notified();
            let found = self.events_of(kind).await;
            if found.len() >= n {
                return found;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("waited {limit:?} for {n} × {kind}, got {}", found.len());
            }
        }
    }

    /// Validates every recorded client event against the SDK's `ClientEvent` union (see
    /// [`live_oracle::assert_valid`]); returns whether the check ran.
    pub async fn assert_client_events_valid(&self) -> bool {
        live_oracle::assert_valid(Union::Client, &self.client_events().await)
    }

    /// Validates every event the double sent against the SDK's `ServerEvent` union.
    pub async fn assert_sent_events_valid(&self) -> bool {
        live_oracle::assert_valid(Union::Server, &self.sent_events().await)
    }
}

// The handshake callback signature is fixed by tungstenite.
#[allow(clippy::result_large_err)]
async fn serve_connection(tcp: tokio::net::TcpStream, shared: Arc<Shared>) {
    let mut seen = (String::new(), None);
    let callback = |request: &Request, response: Response| {
        let auth = request.headers().get("authorization");
        seen = (
            request.uri().to_string(),
            auth.and_then(|v| v.to_str().ok()).map(str::to_owned),
        );
        // Live takes no query string; the model goes in `session.start`.
        if request.uri().path() != "/v1/live/sessions" || request.uri().query().is_some() {
            let mut refused = ErrorResponse::new(Some(
                "Connect to /v1/live/sessions without query parameters.".into(),
            ));
            *refused.status_mut() = StatusCode::BAD_REQUEST;
            return Err(refused);
        }
        Ok(response)
    };
    let _ = tcp.set_nodelay(true);
    let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
        return;
    };
    shared.requests.lock().await.push(seen);
    shared.opened.fetch_add(1, Ordering::SeqCst);
    if shared.options.accept_then_close {
        let close = CloseFrame {
            code: 1011.into(),
            reason: "server_error".into(),
        };
        let _ = socket.close(Some(close)).await;
        shared.arrived.notify_waiters();
        return;
    }
    shared.open.fetch_add(1, Ordering::SeqCst);
    let (tx, commands) = mpsc::unbounded_channel();
    shared.connections.lock().await.push(tx);
    connection::Connection::run(socket, shared.clone(), commands).await;
    shared.open.fetch_sub(1, Ordering::SeqCst);
    shared.arrived.notify_waiters();
}
