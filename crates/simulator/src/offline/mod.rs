//! The offline OpenAI stand-in: a WebSocket server on loopback that speaks the Realtime GA
//! protocol (`/v1/realtime`) and GPT-Live (`/v1/live/sessions`, [`LIVE_PATH`]) as the stream
//! host expects them, so `phone-agent demo` runs with no account and no network.
//!
//! It is honest about what it is: it detects *when* the caller speaks with a real energy VAD
//! ([`crate::vad`]) and answers with real audio (espeak-ng speech when installed, else a
//! speech-like tone pattern), but it understands nothing. It follows [`Script`]: a greeting,
//! a question, a `create_event` calendar tool call, a confirmation built from the tool's real
//! output, a goodbye. It logs that it is offline and scripted.

mod events;
mod live;
pub mod script;
mod session;
mod voice;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;

pub use script::{Reply, Script, Turn};
pub use voice::Voice;

/// The path on which the stand-in speaks GPT-Live (any other path speaks Realtime).
pub const LIVE_PATH: &str = "/v1/live/sessions";

/// Why the stand-in could not start.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// Binding the loopback port failed.
    #[error("binding the offline Realtime stand-in: {0}")]
    Bind(#[from] std::io::Error),
}

/// How the stand-in behaves.
#[derive(Debug, Clone)]
pub struct OfflineConfig {
    /// Model in [`OfflineRealtime::url`]'s query. Like OpenAI, each session reports in
    /// `session.created` the model of the URL it was opened with; this one when the URL has no
    /// `model=`.
    pub model: String,
    /// The conversation it follows.
    pub script: Script,
    /// When set, connections must carry `Authorization: Bearer <key>`, as with OpenAI.
    pub api_key: Option<String>,
    /// Speak with espeak-ng if it is installed (else a tone pattern).
    pub use_espeak: bool,
}

/// What happened on the stand-in's connections, summed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionReport {
    /// Connections served.
    pub sessions: u64,
    /// Caller turns detected by the VAD (or committed by the client).
    pub caller_turns: u64,
    /// Responses completed or cancelled (each billed).
    pub responses: u64,
    /// Function calls made.
    pub tool_calls: u64,
    /// Replies cut short because the caller spoke.
    pub barge_ins: u64,
    /// `response.cancel`s honoured.
    pub cancels: u64,
    /// `conversation.item.truncate`s honoured.
    pub truncations: u64,
    /// Caller audio received, in milliseconds.
    pub audio_in_ms: u64,
    /// Reply audio sent, in milliseconds.
    pub audio_out_ms: u64,
    /// The `function_call_output`s the bridge sent back, as received.
    pub tool_outputs: Vec<String>,
}

impl SessionReport {
    fn add(&mut self, other: &SessionReport) {
        self.sessions += other.sessions;
        self.caller_turns += other.caller_turns;
        self.responses += other.responses;
        self.tool_calls += other.tool_calls;
        self.barge_ins += other.barge_ins;
        self.cancels += other.cancels;
        self.truncations += other.truncations;
        self.audio_in_ms += other.audio_in_ms;
        self.audio_out_ms += other.audio_out_ms;
        self.tool_outputs.extend(other.tool_outputs.iter().cloned());
    }
}

/// What every session of one server shares.
struct Shared {
    model: String,
    script: Script,
    voice: Voice,
    api_key: Option<String>,
    report: Mutex<SessionReport>,
}

/// A running stand-in. Dropping it stops accepting connections.
pub struct OfflineRealtime {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for OfflineRealtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineRealtime")
            .field("addr", &self.addr)
            .finish()
    }
}

impl OfflineRealtime {
    /// Binds `127.0.0.1:0`, renders the script's replies, and starts serving.
    pub async fn start(config: OfflineConfig) -> Result<Self, OfflineError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let espeak = config.use_espeak && crate::audio::speech::espeak_available();
        let voice = Voice::new(espeak);
        // Rendering ahead keeps speech synthesis out of the measured reply latency.
        for text in config.script.assistant_texts() {
            voice.render(&text).await;
        }
        tracing::info!(
            %addr,
            voice = if espeak { "espeak-ng speech" } else { "synthesized tone pattern (espeak-ng not installed)" },
            "offline Realtime stand-in: no model, no network; it follows a fixed script"
        );
        let shared = Arc::new(Shared {
            model: config.model,
            script: config.script,
            voice,
            api_key: config.api_key,
            report: Mutex::new(SessionReport::default()),
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, shared.clone(), stopped));
        Ok(Self {
            addr,
            shared,
            stop,
            task,
        })
    }

    /// The `ws://` URL to use as `OPENAI_REALTIME_URL`.
    pub fn url(&self) -> String {
        format!("ws://{}/v1/realtime?model={}", self.addr, self.shared.model)
    }

    /// The `ws://` URL to use as `OPENAI_LIVE_URL`: the same server speaks GPT-Live on
    /// [`LIVE_PATH`].
    pub fn live_url(&self) -> String {
        format!("ws://{}{LIVE_PATH}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether replies are spoken words (espeak-ng) rather than a tone pattern.
    pub fn speaks_words(&self) -> bool {
        self.shared.voice.is_speech()
    }

    /// Totals over the sessions that have ended.
    pub fn report(&self) -> SessionReport {
        match self.shared.report.lock() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Stops accepting connections.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let _ = (&mut self.task).await;
    }
}

impl Drop for OfflineRealtime {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(stream, shared.clone()));
                }
                Err(e) => tracing::warn!(error = %e, "offline stand-in: accept failed"),
            },
            _ = stopped.changed() => return,
        }
    }
}

/// The `model=` of a connect URL's query, as OpenAI reads it to pick the session's model.
pub(crate) fn model_in_query(query: Option<&str>) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query?)
        .ok()?
        .into_iter()
        .find(|(name, _)| name == "model")
        .map(|(_, model)| model)
}

// The handshake callback's error type is tungstenite's, large by its design.
#[allow(clippy::result_large_err)]
async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let expected = shared.api_key.clone();
    let mut beta_header = false;
    let mut requested_model = None;
    let mut live = false;
    let check = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        beta_header = request.headers().contains_key("openai-beta");
        requested_model = model_in_query(request.uri().query());
        live = request.uri().path() == LIVE_PATH;
        if live && request.uri().query().is_some() {
            let mut refused = ErrorResponse::new(Some(
                "connect to /v1/live/sessions without query parameters".into(),
            ));
            *refused.status_mut() = StatusCode::BAD_REQUEST;
            return Err(refused);
        }
        let Some(key) = expected else {
            return Ok(response);
        };
        let presented = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if presented == Some(key.as_str()) {
            Ok(response)
        } else {
            let mut refused = ErrorResponse::new(Some("invalid or missing API key".into()));
            *refused.status_mut() = StatusCode::UNAUTHORIZED;
            Err(refused)
        }
    };
    let socket = match tokio_tungstenite::accept_hdr_async(stream, check).await {
        Ok(socket) => socket,
        Err(e) => {
            tracing::warn!(error = %e, "offline stand-in: handshake refused");
            return;
        }
    };
    let report = if live {
        tracing::info!("offline stand-in: Live session opened (scripted, offline)");
        live::LiveSession::new(socket, shared.clone()).run().await
    } else if beta_header {
        session::refuse_beta(socket).await;
        return;
    } else {
        tracing::info!("offline stand-in: Realtime session opened (scripted, offline)");
        let model = requested_model.unwrap_or_else(|| shared.model.clone());
        session::Session::new(socket, shared.clone(), &model)
            .run()
            .await
    };
    tracing::info!(
        caller_turns = report.caller_turns,
        responses = report.responses,
        tool_calls = report.tool_calls,
        barge_ins = report.barge_ins,
        "offline stand-in: session closed"
    );
    match shared.report.lock() {
        Ok(mut total) => total.add(&report),
        Err(poisoned) => poisoned.into_inner().add(&report),
    }
}
