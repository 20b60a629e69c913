//! One connection to the Live double: the protocol state machine of a primary WebSocket.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::events::{self, error, event, new_id};
use super::validate;

mod delegation;
use super::{Command, Shared, ToolCall};
use delegation::Delegation;

/// The 15 members of the SDK's `ClientEvent` union; anything else is refused.
const CLIENT_EVENTS: [&str; 15] = [
    "session.start",
    "session.update",
    "session.input_audio.append",
    "session.input_audio.mute",
    "session.input_audio.unmute",
    "session.output_audio.fixture.play",
    "session.instructions.append",
    "session.thinking.append",
    "session.commentary.append",
    "decision.create",
    "decision.item.create",
    "decision.item.delete",
    "response.item.create",
    "response.create",
    "session.close",
];

/// Output track cadence: one delta of 100 ms of μ-law (800 bytes) per tick.
const TICK: Duration = Duration::from_millis(100);
const DELTA_BYTES: usize = 800;

struct Started {
    resource: Value,
    responses: bool,
    backend_model: String,
}

pub(super) struct Connection {
    sink: SplitSink<WebSocketStream<TcpStream>, Message>,
    shared: Arc<Shared>,
    started: Option<Started>,
    /// Session timeline: advanced by input audio, 8 μ-law bytes per millisecond.
    timeline_ms: u64,
    reported_ms: u64,
    speech: VecDeque<u8>,
    delegations: Vec<Delegation>,
    held: VecDeque<(ToolCall, String, String)>,
}

type Flow = Result<(), ()>;

impl Connection {
    pub(super) async fn run(
        socket: WebSocketStream<TcpStream>,
        shared: Arc<Shared>,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) {
        let (sink, mut stream): (_, SplitStream<_>) = socket.split();
        let mut this = Self {
            sink,
            shared,
            started: None,
            timeline_ms: 0,
            reported_ms: 0,
            speech: VecDeque::new(),
            delegations: Vec::new(),
            held: VecDeque::new(),
        };
        let mut tick = tokio::time::interval(TICK);
        loop {
            let flow = tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => this.on_command(command).await,
                    None => Err(()),
                },
                message = stream.next() => match message {
                    Some(Ok(Message::Text(text))) => this.on_client_text(text.as_str()).await,
                    Some(Ok(Message::Binary(_))) => {
                        let e = error("invalid_frame", "Live events are JSON text frames.", None, None);
                        this.send(e).await
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => Err(()),
                    Some(Ok(_)) => Ok(()),
                },
                _ = tick.tick(), if this.started.is_some() => this.send_output_delta().await,
            };
            if flow.is_err() {
                break;
            }
        }
    }

    async fn send(&mut self, value: Value) -> Flow {
        let text = value.to_string();
        self.shared.sent.lock().await.push(value);
        self.sink
            .send(Message::Text(text.into()))
            .await
            .map_err(|_| ())
    }

    async fn on_command(&mut self, command: Command) -> Flow {
        match command {
            Command::Send(value) => self.send(value).await,
            Command::Speak(audio) => {
                self.speech.extend(audio);
                Ok(())
            }
            Command::CallTool(call, name, arguments) => {
                self.held.push_back((call, name, arguments));
                self.release_held().await
            }
            Command::Close(reason) => self.close(&reason, None).await,
            Command::Drop => Err(()),
        }
    }

    /// The continuous output track: queued speech, else silence, as GPT-Live streams it.
    async fn send_output_delta(&mut self) -> Flow {
        let take = self.speech.len().min(DELTA_BYTES);
        let mut chunk: Vec<u8> = self.speech.drain(..take).collect();
        if !self.shared.options.silence_track && chunk.is_empty() {
            return Ok(());
        }
        chunk.resize(DELTA_BYTES, 0xFF);
        let delta = json!({"type": "session.output_audio.delta", "delta": STANDARD.encode(&chunk)});
        self.send(delta).await
    }

    async fn on_client_text(&mut self, text: &str) -> Flow {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return self
                .send(error("invalid_json", "Event is not JSON.", None, None))
                .await;
        };
        self.shared.client_events.lock().await.push(value.clone());
        self.shared.arrived.notify_waiters();
        let id = value["event_id"].as_str().map(str::to_owned);
        let id = id.as_deref();
        let kind = value["type"].as_str().unwrap_or("");
        if !CLIENT_EVENTS.contains(&kind) {
            let message = format!(
                "Unknown event type '{kind}'. Supported client events: {}.",
                CLIENT_EVENTS.join(", ")
            );
            return self
                .send(error("invalid_event_type", &message, Some("type"), id))
                .await;
        }
        if self.started.is_none() {
            if kind != "session.start" {
                let message =
                    format!("Send session.start and wait for session.started before '{kind}'.");
                return self
                    .send(error("session_not_started", &message, None, id))
                    .await;
            }
            return self.start(&value, id).await;
        }
        match kind {
            "session.start" => {
                let e = error(
                    "session_already_started",
                    "session.start is sent once.",
                    None,
                    id,
                );
                self.send(e).await
            }
            "session.input_audio.append" => self.on_audio(&value, id).await,
            "session.commentary.append"
            | "session.thinking.append"
            | "session.instructions.append" => self.on_context(&value, kind, id).await,
            "response.item.create" => self.on_item_create(&value, id).await,
            "response.create" => self.on_response_create(id).await,
            "session.close" => self.close("close_requested", id).await,
            "session.input_audio.mute" | "session.input_audio.unmute" => {
                let ack = kind.replace("mute", "muted");
                self.send(event(&ack, json!({"client_event_id": id}))).await
            }
            other => {
                let message = format!("The Live double does not implement '{other}'.");
                self.send(error("not_implemented_by_double", &message, None, id))
                    .await
            }
        }
    }

    async fn start(&mut self, value: &Value, id: Option<&str>) -> Flow {
        let config = &value["session"];
        if let Err(refusal) = validate::session_config(config) {
            let e = error(refusal.code, &refusal.message, refusal.param.as_deref(), id);
            return self.send(e).await;
        }
        let session_id = new_id("live");
        let resource = events::session_resource(&session_id, config, 1_790_000_000);
        let delegation = &config["delegation"];
        self.started = Some(Started {
            resource: resource.clone(),
            responses: delegation["type"] == "responses",
            backend_model: delegation["responses"]["model"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        });
        self.shared.sessions_started.fetch_add(1, Ordering::SeqCst);
        let started = event(
            "session.started",
            json!({"session": resource, "client_event_id": id}),
        );
        self.send(started).await
    }

    async fn on_audio(&mut self, value: &Value, id: Option<&str>) -> Flow {
        let decoded = value["audio"].as_str().map(|a| STANDARD.decode(a));
        let Some(Ok(bytes)) = decoded else {
            let e = error("invalid_value", "audio must be base64.", Some("audio"), id);
            return self.send(e).await;
        };
        self.timeline_ms += bytes.len() as u64 / 8;
        let every = self.shared.options.usage_every_ms.max(1);
        if self.timeline_ms >= self.reported_ms + every {
            self.reported_ms = self.timeline_ms;
            let usage = events::usage(self.timeline_ms);
            return self
                .send(event("session.usage.updated", json!({"usage": usage})))
                .await;
        }
        Ok(())
    }

    async fn on_context(&mut self, value: &Value, kind: &str, id: Option<&str>) -> Flow {
        let fields = value.as_object();
        let refusal = if !value["content"].is_string() {
            Some(("missing_required_parameter", "content"))
        } else if !fields.is_some_and(|f| f.contains_key("delegation_id")) {
            // Required and nullable: omitting it is not the same as null.
            Some(("missing_required_parameter", "delegation_id"))
        } else if !value["delegation_id"].is_null() && self.responses() {
            Some(("invalid_value", "delegation_id"))
        } else {
            None
        };
        if let Some((code, param)) = refusal {
            let message = format!("Invalid '{param}' for {kind}.");
            return self.send(error(code, &message, Some(param), id)).await;
        }
        let ack = kind.replace(".append", ".appended");
        let at = self.timeline_ms;
        let body = json!({"client_event_id": id, "start_ms": at, "end_ms": at});
        self.send(event(&ack, body)).await
    }

    fn responses(&self) -> bool {
        self.started.as_ref().is_some_and(|s| s.responses)
    }

    /// Terminal `session.closed` with the final usage, then the close handshake.
    async fn close(&mut self, reason: &str, id: Option<&str>) -> Flow {
        let session = match &self.started {
            Some(started) => started.resource.clone(),
            None => json!({"id": new_id("live"), "model": "gpt-live-1.1", "status": "active",
                           "expires_at": 1_790_000_000}),
        };
        let closed = json!({"reason": reason, "session": session,
                            "usage": events::usage(self.timeline_ms), "client_event_id": id});
        self.send(event("session.closed", closed)).await?;
        let _ = self.sink.close().await;
        Err(())
    }
}
