//! An OpenAI Realtime (GA) server on loopback that tests drive. It records every client event and
//! answers in one of three modes:
//!
//! - [`Mode::Strict`] does what the real API does where the SDK types, the API reference or public
//!   bug threads say so: `session.update` validated (model fixed by the URL, formats, voice,
//!   tools), one active response per conversation, server VAD that cancels the active response,
//!   truncation bounded by the audio generated, refusals as `error` events echoing the client's
//!   `event_id`. Tests script the assistant with [`Response`] and the caller with
//!   [`RealtimeTestServer::vad_turn`]. See docs/voice.md ("Testing the bridge").
//! - [`Mode::Scripted`] accepts any `session.update` and truncate; tests send everything else raw.
//! - [`Mode::Echo`] is `Scripted` plus every append echoed back as audio (the load benchmark).

mod connection;
mod conversation;
mod refusal;
mod responses;
mod script;
mod session;
mod turns;
mod values;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, Notify, mpsc, oneshot};

use connection::{Action, Command};
pub use conversation::ResponseHandle;
pub use script::{Response, Status};

/// How long scripting calls wait for the connection or a response before failing the test.
pub const SCRIPT_WAIT: Duration = Duration::from_secs(5);

/// `close_at_once` budget meaning "every connection".
const ALWAYS: usize = usize::MAX;

/// How the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answers `session.update` and records everything; tests script the rest.
    Scripted,
    /// Like `Scripted`, and every `input_audio_buffer.append` comes straight back as a
    /// `response.output_audio.delta` with the same audio (appends are not recorded, so it can
    /// run for long).
    Echo,
    /// Enforces the real API's rules and generates its events; tests script responses and the
    /// caller's turns.
    Strict,
}

#[derive(Default)]
struct Shared {
    events: Mutex<Vec<Value>>,
    sent: Mutex<Vec<Value>>,
    arrived: Notify,
    connections: Mutex<Vec<mpsc::UnboundedSender<Command>>>,
    authorization: Mutex<Vec<Option<String>>>,
    models: Mutex<Vec<String>>,
    created: Mutex<VecDeque<ResponseHandle>>,
    active: Mutex<Vec<String>>,
    opened: AtomicUsize,
    open: AtomicUsize,
    close_at_once: AtomicUsize,
    session_delay_ms: AtomicUsize,
}

/// The running server; it stops when dropped.
pub struct RealtimeTestServer {
    addr: std::net::SocketAddr,
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
                tokio::spawn(connection::serve(tcp, accept.clone(), mode));
            }
        });
        Self {
            addr,
            url: format!("ws://{addr}/v1/realtime?model=gpt-realtime"),
            shared,
            task,
        }
    }

    /// The URL to configure as `OPENAI_REALTIME_URL` (model `gpt-realtime`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL for another model, `ws://…/v1/realtime?model={model}`.
    pub fn url_for(&self, model: &str) -> String {
        format!("ws://{}/v1/realtime?model={model}", self.addr)
    }

    /// The endpoint without a query, for configurations that add `?model=` themselves.
    pub fn base_url(&self) -> String {
        format!("ws://{}/v1/realtime", self.addr)
    }

    /// Delays `session.updated` by this much, to test audio queued before the session is ready.
    pub fn delay_session_updated(&self, delay: Duration) {
        self.shared
            .session_delay_ms
            .store(delay.as_millis() as usize, Ordering::SeqCst);
    }

    /// The next `times` connections are accepted (the WebSocket handshake succeeds) and closed
    /// at once with close code 1011, before `session.created`.
    pub fn close_at_once(&self, times: usize) {
        self.shared.close_at_once.store(times, Ordering::SeqCst);
    }

    /// Every connection from now on is accepted and closed at once.
    pub fn close_every_connection_at_once(&self) {
        self.close_at_once(ALWAYS);
    }

    /// Sends an event as is on the most recent connection: no `event_id` added, no rule
    /// applied, not recorded with [`Self::sent_events`] (for what a script cannot express).
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

    /// Connections accepted so far (including those closed at once).
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

    /// The `?model=` of each connection's URL, in order (`gpt-realtime` when absent outside
    /// strict mode, which refuses such a handshake with HTTP 400).
    pub async fn connection_models(&self) -> Vec<String> {
        self.shared.models.lock().await.clone()
    }

    /// Every recorded client event, in arrival order.
    pub async fn client_events(&self) -> Vec<Value> {
        self.shared.events.lock().await.clone()
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

    /// Every event the server generated (not raw [`Self::send`]s), in order; none in Echo mode.
    pub async fn sent_events(&self) -> Vec<Value> {
        self.shared.sent.lock().await.clone()
    }

    /// Every generated server event of `kind`, in order.
    pub async fn sent_of(&self, kind: &str) -> Vec<Value> {
        self.shared
            .sent
            .lock()
            .await
            .iter()
            .filter(|e| e["type"] == kind)
            .cloned()
            .collect()
    }

    /// Ids of the responses active on any connection (strict mode).
    pub async fn active_responses(&self) -> Vec<String> {
        self.shared.active.lock().await.clone()
    }

    /// Waits until `n` client events of `kind` have arrived and returns them; panics after
    /// `limit`.
    pub async fn wait_for(&self, kind: &str, n: usize, limit: Duration) -> Vec<Value> {
        self.wait_until(limit, &format!("{n} × {kind} from the client"), || async {
            let found = self.events_of(kind).await;
            (found.len() >= n).then_some(found)
        })
        .await
    }

    /// Waits until the server has sent `n` events of `kind` and returns them; panics after
    /// `limit`.
    pub async fn wait_for_sent(&self, kind: &str, n: usize, limit: Duration) -> Vec<Value> {
        self.wait_until(limit, &format!("{n} × {kind} from the server"), || async {
            let found = self.sent_of(kind).await;
            (found.len() >= n).then_some(found)
        })
        .await
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

    /// The oldest response a client's `response.create` started that no test has taken yet
    /// and that is still active (cancelled or refused ones are skipped); waits up to
    /// [`SCRIPT_WAIT`].
    pub async fn next_response(&self) -> ResponseHandle {
        self.wait_until(SCRIPT_WAIT, "a response.create to answer", || async {
            let active = self.active_responses().await;
            let mut created = self.shared.created.lock().await;
            while let Some(next) = created.pop_front() {
                if active.contains(&next.id) {
                    return Some(next);
                }
            }
            None
        })
        .await
    }

    /// Answers the next client-created response ([`Self::next_response`]) with `script`.
    pub async fn respond(&self, script: Response) -> ResponseHandle {
        let response = self.next_response().await;
        self.play(&response, script).await;
        response
    }

    /// Plays `script` on an active response; panics if it is not active.
    pub async fn play(&self, response: &ResponseHandle, script: Response) {
        let action = Action::Play(response.id.clone(), script);
        self.act(Some(response.connection), action).await;
    }

    /// Ends an active response with `status` (and closes its open item).
    pub async fn finish(&self, response: &ResponseHandle, status: Status) {
        self.play(response, Response::new().status(status)).await;
    }

    /// The caller starts speaking: `input_audio_buffer.speech_started`; with `interrupt_response`
    /// (the default) the active default-conversation response ends `cancelled`
    /// (`reason: "turn_detected"`), after whatever it already sent.
    pub async fn caller_starts_speaking(&self) {
        self.act(None, Action::SpeechStarted).await;
    }

    /// The caller stops: `speech_stopped`, `input_audio_buffer.committed`, the user item, and
    /// with `create_response` (the default) a server-initiated response, returned.
    pub async fn caller_stops_speaking(&self) -> Option<ResponseHandle> {
        self.act(None, Action::SpeechStopped).await
    }

    /// A whole caller turn: [`Self::caller_starts_speaking`] then [`Self::caller_stops_speaking`].
    pub async fn vad_turn(&self) -> Option<ResponseHandle> {
        self.caller_starts_speaking().await;
        self.caller_stops_speaking().await
    }

    /// `conversation.item.input_audio_transcription.completed` for the caller's last turn.
    pub async fn caller_said(&self, text: &str) {
        self.act(None, Action::CallerSaid(text.to_owned())).await;
    }

    /// Checks every recorded client event against the official SDK's `RealtimeClientEvent`
    /// union (see [`crate::openai_oracle`]).
    pub async fn assert_client_events_valid(&self) {
        crate::openai_oracle::assert_client_events_valid(&self.client_events().await);
    }

    /// Checks every event the server generated against the SDK's `RealtimeServerEvent` union.
    pub async fn assert_sent_events_valid(&self) {
        crate::openai_oracle::assert_server_events_valid(&self.sent_events().await);
    }

    async fn act(&self, connection: Option<usize>, action: Action) -> Option<ResponseHandle> {
        let (reply, answer) = oneshot::channel();
        {
            let connections = self.shared.connections.lock().await;
            let tx = match connection {
                Some(index) => connections.get(index),
                None => connections.last(),
            };
            let tx = tx.expect("no Realtime connection to script");
            assert!(
                tx.send(Command::Strict(action, reply)).is_ok(),
                "the Realtime connection is closed"
            );
        }
        match tokio::time::timeout(SCRIPT_WAIT, answer).await {
            Ok(Ok(Ok(started))) => started,
            Ok(Ok(Err(why))) => panic!("the strict Realtime server refused the script: {why}"),
            Ok(Err(_)) => panic!("the Realtime connection closed before the script ran"),
            Err(_) => panic!("the Realtime connection did not run the script in {SCRIPT_WAIT:?}"),
        }
    }

    async fn wait_until<T, F, Fut>(&self, limit: Duration, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.shared.arrived.notified();
            if let Some(found) = check().await {
                return found;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("waited {limit:?} for {what}");
            }
        }
    }
}
