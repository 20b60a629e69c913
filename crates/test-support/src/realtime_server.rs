//! A Realtime (GA) server on loopback that tests drive: it records what the bridge sends and
//! answers with whatever a test tells it to, or echoes audio for the load benchmark.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, Notify, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

/// How the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answers `session.update` and records everything; tests script the rest.
    Scripted,
    /// Like `Scripted`, and every `input_audio_buffer.append` comes straight back as a
    /// `response.output_audio.delta` with the same audio (appends are not recorded, so it can
    /// run for long).
    Echo,
}

enum Command {
    Send(String),
    Drop,
}

#[derive(Default)]
struct Shared {
    events: Mutex<Vec<Value>>,
    arrived: Notify,
    connections: Mutex<Vec<mpsc::UnboundedSender<Command>>>,
    authorization: Mutex<Vec<Option<String>>>,
    opened: AtomicUsize,
    open: AtomicUsize,
    session_delay_ms: AtomicUsize,
}

/// The running server; it stops when dropped.
pub struct RealtimeTestServer {
    url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RealtimeTestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RealtimeTestServer {
    /// Starts on a free loopback port.
    pub async fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared::default());
        let accept = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(serve_connection(tcp, accept.clone(), mode));
            }
        });
        Self {
            url: format!("ws://{addr}/v1/realtime?model=gpt-realtime"),
            shared,
            task,
        }
    }

    /// The URL to configure as `OPENAI_REALTIME_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Delays `session.updated` by this much, to test audio queued before the session is ready.
    pub fn delay_session_updated(&self, delay: Duration) {
        self.shared
            .session_delay_ms
            .store(delay.as_millis() as usize, Ordering::SeqCst);
    }

    /// Sends an event on the most recent connection.
    pub async fn send(&self, event: Value) {
        if let Some(tx) = self.shared.connections.lock().await.last() {
            let _ = tx.send(Command::Send(event.to_string()));
        }
    }

    /// Drops the most recent connection abruptly, as a network failure would.
    pub async fn drop_connection(&self) {
        if let Some(tx) = self.shared.connections.lock().await.last() {
            let _ = tx.send(Command::Drop);
        }
    }

    /// Connections accepted so far.
    pub fn connections_opened(&self) -> usize {
        self.shared.opened.load(Ordering::SeqCst)
    }

    /// Connections still open.
    pub fn connections_open(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// The `Authorization` header of each connection, in order.
    pub async fn authorization_headers(&self) -> Vec<Option<String>> {
        self.shared.authorization.lock().await.clone()
    }

    /// Every recorded client event of `kind`, in arrival order.
    pub async fn events_of(&self, kind: &str) -> Vec<Value> {
        self.shared
            .events
            .lock()
            .await
            .iter()
            .filter(|e| e["type"] == kind)
            .cloned()
            .collect()
    }

    /// Waits until `n` events of `kind` have arrived and returns them; panics after `limit`.
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

    /// Waits until no connection is open; panics after `limit`.
    pub async fn wait_all_closed(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.connections_open() > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "a Realtime connection outlived its call"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Finds `"audio":"…"` in an append without parsing the whole event (the echo path).
fn append_audio(text: &str) -> Option<&str> {
    if !text.contains(r#""type":"input_audio_buffer.append""#) {
        return None;
    }
    let start = text.find(r#""audio":""#)? + 9;
    let len = text[start..].find('"')?;
    Some(&text[start..start + len])
}

// The handshake callback signature is fixed by tungstenite.
#[allow(clippy::result_large_err)]
async fn serve_connection(tcp: tokio::net::TcpStream, shared: Arc<Shared>, mode: Mode) {
    let mut auth = None;
    let callback = |request: &Request, response: Response| {
        auth = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(response)
    };
    // Audio frames must leave at once, not wait for Nagle.
    let _ = tcp.set_nodelay(true);
    let Ok(socket) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
        return;
    };
    shared.authorization.lock().await.push(auth);
    shared.opened.fetch_add(1, Ordering::SeqCst);
    shared.open.fetch_add(1, Ordering::SeqCst);
    let (tx, mut commands) = mpsc::unbounded_channel();
    shared.connections.lock().await.push(tx);
    let (mut sink, mut stream) = socket.split();
    let created = json!({"type": "session.created", "session": {"type": "realtime"}});
    let _ = sink.send(Message::Text(created.to_string().into())).await;
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Send(text)) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Command::Drop) | None => break,
            },
            message = stream.next() => {
                let Some(Ok(Message::Text(text))) = message else {
                    match message {
                        Some(Ok(_)) => continue,
                        _ => break,
                    }
                };
                if mode == Mode::Echo && let Some(audio) = append_audio(text.as_str()) {
                    let delta = format!(
                        r#"{{"type":"response.output_audio.delta","response_id":"resp_echo","item_id":"item_echo","output_index":0,"content_index":0,"delta":"{audio}"}}"#
                    );
                    if sink.send(Message::Text(delta.into())).await.is_err() {
                        break;
                    }
                    continue;
                }
                let Ok(event) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                let reply = match event["type"].as_str() {
                    Some("session.update") => {
                        let delay = shared.session_delay_ms.load(Ordering::SeqCst);
                        if delay > 0 {
                            tokio::time::sleep(Duration::from_millis(delay as u64)).await;
                        }
                        Some(json!({"type": "session.updated", "session": event["session"]}))
                    }
                    Some("conversation.item.truncate") => Some(json!({
                        "type": "conversation.item.truncated", "item_id": event["item_id"],
                        "content_index": event["content_index"], "audio_end_ms": event["audio_end_ms"]})),
                    _ => None,
                };
                shared.events.lock().await.push(event);
                shared.arrived.notify_waiters();
                if let Some(reply) = reply && sink.send(Message::Text(reply.to_string().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    shared.open.fetch_sub(1, Ordering::SeqCst);
    shared.arrived.notify_waiters();
}
