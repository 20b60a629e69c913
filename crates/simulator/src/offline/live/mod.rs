//! One GPT-Live connection to the stand-in (`/v1/live/sessions`, PROTOCOLS-LIVE.md §A).
//!
//! Nothing is sent before `session.start`; `session.started` answers it. The session timeline
//! is the caller's audio (8 μ-law bytes a millisecond): every 100 ms of it received, 100 ms of
//! output goes back, the reply being spoken or silence, so the output track is continuous as
//! Live's is. The real VAD hears the caller: a finished turn gets its scripted transcript as a
//! `session.input_transcript.delta` and the script's reply. When the caller speaks over a reply
//! the model stops on its own (the rest of the reply is never sent; no truncate, no cancel).
//! The scripted tool call goes through Responses delegation; its result is spoken after
//! `response.item.create` + `response.create`. `session.usage.updated` reports seconds.

mod reply;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::events::new_id;
use super::script::{self, Reply};
use super::{SessionReport, Shared};
use crate::vad::{Vad, VadEvent};
use reply::Speech;

/// Output sent per step of the timeline: 100 ms of μ-law.
const DELTA_BYTES: usize = 800;
/// Timeline between two `session.usage.updated` (Live sends about one per 15 s).
const USAGE_EVERY_MS: u64 = 5000;

/// A tool call of the script, waiting for its output and then for `response.create`.
struct PendingCall {
    delegation_id: String,
    call_id: String,
    output: Option<Value>,
}

/// The state of one Live connection.
pub(super) struct LiveSession<S> {
    socket: WebSocketStream<S>,
    shared: Arc<Shared>,
    started: Option<Value>,
    backend_model: String,
    vad: Vad,
    /// Caller audio received, in bytes: the session timeline.
    timeline_bytes: u64,
    /// Output owed to the track, in bytes.
    owed_bytes: usize,
    reported_ms: u64,
    speaking_since: Option<u64>,
    turns: usize,
    greeted: bool,
    speech: Option<Speech>,
    call: Option<PendingCall>,
    report: SessionReport,
}

impl<S: AsyncRead + AsyncWrite + Unpin> LiveSession<S> {
    pub(super) fn new(socket: WebSocketStream<S>, shared: Arc<Shared>) -> Self {
        Self {
            socket,
            shared,
            started: None,
            backend_model: String::new(),
            vad: Vad::default(),
            timeline_bytes: 0,
            owed_bytes: 0,
            reported_ms: 0,
            speaking_since: None,
            turns: 0,
            greeted: false,
            speech: None,
            call: None,
            report: SessionReport {
                sessions: 1,
                ..SessionReport::default()
            },
        }
    }

    /// Runs until the session closes or the client goes; returns what happened.
    pub(super) async fn run(mut self) -> SessionReport {
        while let Some(message) = self.socket.next().await {
            let flow = match message {
                Ok(Message::Text(text)) => self.on_client_event(text.as_str()).await,
                Ok(Message::Close(_)) | Err(_) => Err(()),
                Ok(_) => Ok(()),
            };
            if flow.is_err() {
                break;
            }
        }
        self.report
    }

    fn timeline_ms(&self) -> u64 {
        self.timeline_bytes / 8
    }

    async fn send(&mut self, value: Value) -> Result<(), ()> {
        self.socket
            .send(Message::text(value.to_string()))
            .await
            .map_err(|_| ())
    }

    /// Sends a Live event: `type`, a fresh `event_id`, and the client's `event_id` it answers.
    async fn emit(&mut self, kind: &str, mut body: Value, client: Option<&str>) -> Result<(), ()> {
        body["type"] = kind.into();
        body["event_id"] = new_id("event").into();
        if let Some(id) = client {
            body["client_event_id"] = id.into();
        }
        self.send(body).await
    }

    async fn refuse(&mut self, code: &str, message: &str, client: Option<&str>) -> Result<(), ()> {
        let body = json!({"error": {"type": "invalid_request_error", "code": code,
                                    "message": message, "client_event_id": client}});
        self.emit("error", body, client).await
    }

    async fn on_client_event(&mut self, text: &str) -> Result<(), ()> {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return self.refuse("invalid_json", "event is not JSON", None).await;
        };
        let id = value["event_id"].as_str().map(str::to_owned);
        let id = id.as_deref();
        let kind = value["type"].as_str().unwrap_or("");
        if self.started.is_none() {
            return match kind {
                "session.start" => self.start(&value["session"], id).await,
                _ => {
                    let message = format!("send session.start before '{kind}'");
                    self.refuse("session_not_started", &message, id).await
                }
            };
        }
        match kind {
            "session.input_audio.append" => {
                let audio = value["audio"].as_str().unwrap_or("");
                match STANDARD.decode(audio) {
                    Ok(bytes) => self.on_audio(&bytes).await,
                    Err(_) => {
                        self.refuse("invalid_value", "audio is not base64", id)
                            .await
                    }
                }
            }
            "session.commentary.append" => {
                let content = value["content"].as_str().unwrap_or("").to_owned();
                let at = json!({"start_ms": self.timeline_ms(), "end_ms": self.timeline_ms()});
                self.emit("session.commentary.appended", at, id).await?;
                self.on_commentary(&content).await
            }
            "session.thinking.append" | "session.instructions.append" => {
                let ack = kind.replace(".append", ".appended");
                let at = json!({"start_ms": self.timeline_ms(), "end_ms": self.timeline_ms()});
                self.emit(&ack, at, id).await
            }
            "response.item.create" => self.on_item_create(&value["item"], id).await,
            "response.create" => self.on_response_create(id).await,
            "session.close" => {
                self.close(id).await;
                Err(())
            }
            other => {
                let message = format!("'{other}' is not a Live client event this stand-in knows");
                self.refuse("invalid_event_type", &message, id).await
            }
        }
    }

    async fn start(&mut self, session: &Value, id: Option<&str>) -> Result<(), ()> {
        let format = &session["audio"]["format"];
        if format["type"] != "audio/pcmu" || format["rate"] != 8000 {
            let message = "the offline stand-in speaks audio/pcmu at 8000 Hz only";
            return self.refuse("unsupported_audio_format", message, id).await;
        }
        let Some(model) = session["model"].as_str() else {
            return self
                .refuse("missing_required_parameter", "session.model", id)
                .await;
        };
        let delegation = &session["delegation"];
        self.backend_model = delegation["responses"]["model"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let mut resource = session.clone();
        resource["id"] = new_id("live").into();
        resource["model"] = model.into();
        resource["status"] = "active".into();
        resource["expires_at"] = (time::OffsetDateTime::now_utc().unix_timestamp() + 3600).into();
        self.started = Some(resource.clone());
        tracing::info!(%model, "offline stand-in: Live session started (scripted, offline)");
        self.emit("session.started", json!({"session": resource}), id)
            .await
    }

    /// A greeting or a goodbye asked for as commentary; other commentary is context only.
    async fn on_commentary(&mut self, content: &str) -> Result<(), ()> {
        let words = if let Some(words) = script::requested_words(content) {
            words
        } else if content.to_ascii_lowercase().contains("goodbye") {
            script::GOODBYE.to_owned()
        } else if !self.greeted && content.to_ascii_lowercase().contains("greet") {
            self.shared.script.greeting.clone()
        } else {
            return Ok(());
        };
        self.greeted = true;
        self.say(words).await;
        Ok(())
    }

    async fn on_audio(&mut self, bytes: &[u8]) -> Result<(), ()> {
        self.timeline_bytes += bytes.len() as u64;
        self.report.audio_in_ms += bytes.len() as u64 / 8;
        for change in self.vad.push_mulaw(bytes) {
            match change {
                VadEvent::SpeechStarted { start_ms } => {
                    self.speaking_since = Some(start_ms);
                    if self.speech.take().is_some() {
                        // Full duplex: the model hears the caller and stops on its own.
                        tracing::info!("offline stand-in: caller spoke over the reply; it stops");
                        self.report.barge_ins += 1;
                    }
                }
                VadEvent::SpeechStopped { end_ms } => {
                    if let Some(start_ms) = self.speaking_since.take() {
                        self.caller_turn(start_ms, end_ms).await?;
                    }
                }
            }
        }
        self.owed_bytes += bytes.len();
        while self.owed_bytes >= DELTA_BYTES {
            self.owed_bytes -= DELTA_BYTES;
            self.send_output_step().await?;
        }
        if self.timeline_ms() >= self.reported_ms + USAGE_EVERY_MS {
            self.reported_ms = self.timeline_ms();
            let usage = json!({"usage": {"seconds": (self.timeline_ms() / 1000) as f64}});
            self.emit("session.usage.updated", usage, None).await?;
        }
        Ok(())
    }

    /// A caller turn: its scripted transcript, then the script's reply.
    async fn caller_turn(&mut self, start_ms: u64, end_ms: u64) -> Result<(), ()> {
        let index = self.turns;
        self.turns += 1;
        self.report.caller_turns += 1;
        let turn = self.shared.script.turn(index).cloned();
        let transcript = turn
            .as_ref()
            .map_or("(speech past the end of the script)", |t| t.caller.as_str());
        tracing::info!(turn = index + 1, %transcript, "offline stand-in: caller turn (scripted transcript)");
        let delta = json!({"delta": transcript, "start_ms": start_ms, "end_ms": end_ms});
        self.emit("session.input_transcript.delta", delta, None)
            .await?;
        match turn.map(|t| t.reply) {
            Some(Reply::Say(text)) => self.say(text).await,
            Some(Reply::CallTool { name, arguments }) => {
                return self.delegate(&name, &arguments).await;
            }
            None => self.say(script::OFF_SCRIPT.to_owned()).await,
        }
        Ok(())
    }

    async fn on_item_create(&mut self, item: &Value, id: Option<&str>) -> Result<(), ()> {
        if item["type"] != "function_call_output" {
            return Ok(());
        }
        let call_id = item["call_id"].as_str().unwrap_or("");
        let Some(call) = self.call.as_mut().filter(|c| c.call_id == call_id) else {
            let message = format!("no function call '{call_id}' awaits an output");
            return self.refuse("unknown_call_id", &message, id).await;
        };
        let raw = item["output"].as_str().unwrap_or("");
        tracing::info!(%call_id, output = %raw, "offline stand-in: tool output received");
        call.output = Some(serde_json::from_str(raw).unwrap_or_else(|_| Value::from(raw)));
        self.report.tool_outputs.push(raw.to_owned());
        Ok(())
    }

    async fn on_response_create(&mut self, id: Option<&str>) -> Result<(), ()> {
        let delegation = match &self.call {
            Some(call) if call.output.is_none() => {
                let message = format!(
                    "call '{}' has no function_call_output; an unanswered call holds every later tool call",
                    call.call_id
                );
                return self.refuse("unanswered_function_calls", &message, id).await;
            }
            Some(call) => Some(call.delegation_id.clone()),
            None => None,
        };
        self.backend_response(delegation.as_deref(), None, id)
            .await?;
        if let Some(output) = self.call.take().and_then(|c| c.output) {
            self.say(script::confirmation(&output)).await;
        }
        Ok(())
    }

    /// The terminal `session.closed` with the final usage, then the close handshake.
    async fn close(&mut self, id: Option<&str>) {
        let session = self.started.clone().unwrap_or(Value::Null);
        let seconds = (self.timeline_ms() / 1000) as f64;
        let body = json!({"reason": "close_requested", "session": session,
                          "usage": {"seconds": seconds}});
        let _ = self.emit("session.closed", body, id).await;
        let _ = self.socket.close(None).await;
    }
}
