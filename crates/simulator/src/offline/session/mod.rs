//! One Realtime connection to the stand-in: the GA protocol state machine.
//!
//! Caller audio goes through the real VAD; its turns produce `speech_started`,
//! `speech_stopped`, `committed` and a scripted transcript, then a reply from the script.
//! Reply audio is streamed as `response.output_audio.delta`s at twice real time, as a model
//! generates faster than it is played, so a caller who speaks over it cuts it short (barge-in):
//! the response is cancelled with reason `turn_detected` and its remaining audio never sent.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::events::{self, event, new_id};
use super::script::{self, Reply};
use super::{SessionReport, Shared};
use crate::vad::{Vad, VadEvent};
use reply::{Playback, Usage};

mod reply;

/// Reply audio sent per tick: 100 ms of μ-law.
const CHUNK_BYTES: usize = 800;
/// Tick between reply chunks: 50 ms, so audio goes out at twice real time.
const TICK: Duration = Duration::from_millis(50);
/// Audio kept before the detected start of speech, as OpenAI's `prefix_padding_ms`.
const PREFIX_PADDING_MS: u64 = 300;

/// The state of one connection.
pub(super) struct Session<S> {
    socket: WebSocketStream<S>,
    shared: Arc<Shared>,
    session: Value,
    vad: Vad,
    vad_on: bool,
    create_response: bool,
    interrupt_response: bool,
    /// Caller turn in progress: its item id and start.
    speaking: Option<(String, u64)>,
    previous_item: Option<String>,
    turns: usize,
    greeted: bool,
    playback: Option<Playback>,
    /// What the client's `response.create` asked to be echoed on the response it starts:
    /// its `metadata`, and no `conversation_id` for an out-of-band response (as the API does).
    request_tags: Option<Value>,
    /// Function call awaiting its output, then the output awaiting `response.create`.
    pending_call: Option<String>,
    tool_output: Option<Value>,
    /// Audio milliseconds sent per assistant item, to check truncations.
    sent_ms: HashMap<String, u64>,
    usage: Usage,
    report: SessionReport,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    /// A session on `model`, the one its URL asked for.
    pub(super) fn new(socket: WebSocketStream<S>, shared: Arc<Shared>, model: &str) -> Self {
        let session = events::initial_session(model);
        Self {
            socket,
            shared,
            session,
            vad: Vad::default(),
            vad_on: true,
            create_response: true,
            interrupt_response: true,
            speaking: None,
            previous_item: None,
            turns: 0,
            greeted: false,
            playback: None,
            request_tags: None,
            pending_call: None,
            tool_output: None,
            sent_ms: HashMap::new(),
            usage: Usage::default(),
            report: SessionReport {
                sessions: 1,
                ..SessionReport::default()
            },
        }
    }

    /// Runs until the client closes; returns what happened.
    pub(super) async fn run(mut self) -> SessionReport {
        let created = event("session.created", json!({"session": self.session.clone()}));
        if self.send(created).await.is_err() {
            return self.report;
        }
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                message = self.socket.next() => match message {
                    Some(Ok(Message::Text(text))) => {
                        if self.on_client_event(text.as_str()).await.is_err() {
                            break;
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
                _ = tick.tick(), if self.playback.is_some() => {
                    if self.send_next_chunk().await.is_err() {
                        break;
                    }
                }
            }
        }
        self.report
    }

    async fn send(&mut self, value: Value) -> Result<(), ()> {
        self.socket
            .send(Message::text(value.to_string()))
            .await
            .map_err(|_| ())
    }

    async fn on_client_event(&mut self, text: &str) -> Result<(), ()> {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return self
                .send(events::error("invalid_json", "event is not JSON", None))
                .await;
        };
        let event_id = value.get("event_id").and_then(Value::as_str);
        match value.get("type").and_then(Value::as_str).unwrap_or("") {
            "session.update" => self.on_session_update(&value).await,
            "input_audio_buffer.append" => {
                let audio = value.get("audio").and_then(Value::as_str).unwrap_or("");
                match STANDARD.decode(audio) {
                    Ok(bytes) => self.on_audio(&bytes).await,
                    Err(_) => {
                        let e = events::error("invalid_audio", "audio is not base64", event_id);
                        self.send(e).await
                    }
                }
            }
            "input_audio_buffer.commit" => match self.speaking.take() {
                Some((item, start)) => self.commit(item, start, self.vad.clock_ms()).await,
                None => {
                    let item = new_id("item");
                    self.commit(item, self.vad.clock_ms(), self.vad.clock_ms())
                        .await
                }
            },
            "input_audio_buffer.clear" => {
                self.speaking = None;
                self.send(event("input_audio_buffer.cleared", json!({})))
                    .await
            }
            "conversation.item.create" => self.on_item_create(&value).await,
            "response.create" => {
                let out_of_band = value["response"]["conversation"] == "none";
                self.request_tags = Some(json!({
                    "metadata": value["response"]["metadata"],
                    "conversation_id": if out_of_band { Value::Null } else { json!("conv_offline") },
                }));
                let instructions = value["response"]["instructions"].as_str().unwrap_or("");
                self.on_response_create(event_id, instructions).await
            }
            "response.cancel" => {
                if self.playback.is_some() {
                    self.report.cancels += 1;
                    self.finish_speech("cancelled", Some("client_cancelled"))
                        .await
                } else {
                    let e = events::error(
                        "response_cancel_not_active",
                        "Cancellation failed: no active response found.",
                        event_id,
                    );
                    self.send(e).await
                }
            }
            "conversation.item.truncate" => self.on_truncate(&value, event_id).await,
            other => {
                tracing::debug!(event = other, "offline stand-in: client event ignored");
                Ok(())
            }
        }
    }

    async fn on_session_update(&mut self, value: &Value) -> Result<(), ()> {
        if let Some(update) = value.get("session") {
            events::merge(&mut self.session, update);
        }
        let detection = &self.session["audio"]["input"]["turn_detection"];
        self.vad_on = !detection.is_null();
        self.create_response = detection["create_response"].as_bool().unwrap_or(true);
        self.interrupt_response = detection["interrupt_response"].as_bool().unwrap_or(true);
        for side in ["input", "output"] {
            let format = self.session["audio"][side]["format"]["type"].as_str();
            if format != Some("audio/pcmu") {
                tracing::warn!(
                    side,
                    ?format,
                    "offline stand-in speaks and hears μ-law only (audio/pcmu)"
                );
            }
        }
        let updated = event("session.updated", json!({"session": self.session.clone()}));
        self.send(updated).await
    }

    async fn on_audio(&mut self, bytes: &[u8]) -> Result<(), ()> {
        self.report.audio_in_ms += bytes.len() as u64 / 8;
        if !self.vad_on {
            return Ok(());
        }
        for change in self.vad.push_mulaw(bytes) {
            match change {
                VadEvent::SpeechStarted { start_ms } => {
                    let item = new_id("item");
                    self.speaking = Some((item.clone(), start_ms));
                    let e = json!({"audio_start_ms": start_ms, "item_id": item});
                    self.send(event("input_audio_buffer.speech_started", e))
                        .await?;
                    if self.playback.is_some() && self.interrupt_response {
                        tracing::info!("offline stand-in: caller spoke over the reply (barge-in)");
                        self.report.barge_ins += 1;
                        self.finish_speech("cancelled", Some("turn_detected"))
                            .await?;
                    }
                }
                VadEvent::SpeechStopped { end_ms } => {
                    let Some((item, start)) = self.speaking.take() else {
                        continue;
                    };
                    let e = json!({"audio_end_ms": end_ms, "item_id": item});
                    self.send(event("input_audio_buffer.speech_stopped", e))
                        .await?;
                    self.commit(item, start, end_ms).await?;
                }
            }
        }
        Ok(())
    }

    /// Commits a caller turn, reports its scripted transcript and, with server VAD, replies.
    async fn commit(&mut self, item: String, start_ms: u64, end_ms: u64) -> Result<(), ()> {
        let committed = json!({"previous_item_id": self.previous_item, "item_id": item});
        self.send(event("input_audio_buffer.committed", committed))
            .await?;
        let added = json!({"previous_item_id": self.previous_item,
                           "item": events::user_item(&item, None)});
        self.send(event("conversation.item.added", added)).await?;
        self.previous_item = Some(item.clone());
        let index = self.turns;
        self.turns += 1;
        let spoken_ms = end_ms.saturating_sub(start_ms) + PREFIX_PADDING_MS;
        self.usage.caller_audio_ms += spoken_ms;
        let transcript = match self.shared.script.turn(index) {
            Some(turn) => turn.caller.clone(),
            None => "(speech past the end of the script)".to_owned(),
        };
        tracing::info!(turn = index + 1, %transcript, "offline stand-in: caller turn (scripted transcript)");
        self.report.caller_turns += 1;
        let done = json!({"item_id": item, "content_index": 0, "transcript": transcript,
                          "usage": {"type": "duration", "seconds": spoken_ms as f64 / 1000.0}});
        self.send(event(
            "conversation.item.input_audio_transcription.completed",
            done,
        ))
        .await?;
        if self.create_response && self.vad_on {
            self.reply_to_turn(index).await?;
        }
        Ok(())
    }

    async fn reply_to_turn(&mut self, index: usize) -> Result<(), ()> {
        if self.playback.is_some() {
            // One response at a time, as the API enforces.
            return Ok(());
        }
        match self.shared.script.turn(index).map(|t| t.reply.clone()) {
            Some(Reply::Say(text)) => self.start_speech(text).await,
            Some(Reply::CallTool { name, arguments }) => self.call_tool(&name, &arguments).await,
            None => self.start_speech(script::OFF_SCRIPT.to_owned()).await,
        }
    }

    async fn on_item_create(&mut self, value: &Value) -> Result<(), ()> {
        let mut item = value.get("item").cloned().unwrap_or(Value::Null);
        let id = item["id"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| new_id("item"));
        item["id"] = id.clone().into();
        if item["type"] == "function_call_output" {
            let call_id = item["call_id"].as_str().unwrap_or("");
            if self.pending_call.as_deref() == Some(call_id) {
                self.pending_call = None;
                let raw = item["output"].as_str().unwrap_or("");
                // The output is a JSON string; anything else is kept as text.
                let output = serde_json::from_str(raw).unwrap_or_else(|_| Value::from(raw));
                tracing::info!(%call_id, output = %raw, "offline stand-in: tool output received");
                self.report.tool_outputs.push(raw.to_owned());
                self.tool_output = Some(output);
            }
        }
        let added = json!({"previous_item_id": self.previous_item, "item": item});
        self.previous_item = Some(id);
        self.send(event("conversation.item.added", added.clone()))
            .await?;
        self.send(event("conversation.item.done", added)).await
    }

    async fn on_response_create(
        &mut self,
        event_id: Option<&str>,
        instructions: &str,
    ) -> Result<(), ()> {
        if self.playback.is_some() {
            self.request_tags = None;
            let e = events::error(
                "conversation_already_has_active_response",
                "Conversation already has an active response in progress.",
                event_id,
            );
            return self.send(e).await;
        }
        if let Some(output) = self.tool_output.take() {
            return self.start_speech(script::confirmation(&output)).await;
        }
        if let Some(words) = script::requested_words(instructions) {
            self.greeted = true;
            return self.start_speech(words).await;
        }
        if instructions.to_ascii_lowercase().contains("goodbye") {
            return self.start_speech(script::GOODBYE.to_owned()).await;
        }
        if !self.greeted && self.turns == 0 {
            self.greeted = true;
            let greeting = self.shared.script.greeting.clone();
            return self.start_speech(greeting).await;
        }
        self.reply_to_turn(self.turns.saturating_sub(1)).await
    }

    async fn on_truncate(&mut self, value: &Value, event_id: Option<&str>) -> Result<(), ()> {
        let item = value["item_id"].as_str().unwrap_or("").to_owned();
        let end_ms = value["audio_end_ms"].as_u64().unwrap_or(0);
        let Some(&sent) = self.sent_ms.get(&item) else {
            let e = events::error("item_not_found", "no assistant item with that id", event_id);
            return self.send(e).await;
        };
        if end_ms > sent {
            let msg = format!("audio_end_ms {end_ms} is past the {sent} ms of audio sent");
            return self
                .send(events::error("invalid_value", &msg, event_id))
                .await;
        }
        tracing::info!(%item, end_ms, "offline stand-in: reply truncated to what was heard");
        self.report.truncations += 1;
        let e = json!({"item_id": item, "content_index": 0, "audio_end_ms": end_ms});
        self.send(event("conversation.item.truncated", e)).await
    }
}

/// Refuses a client that sent `OpenAI-Beta: realtime=v1`, as the real API now does: an
/// `error` with code `beta_api_shape_disabled`, then close code 4000.
pub(super) async fn refuse_beta<S: AsyncRead + AsyncWrite + Unpin>(mut socket: WebSocketStream<S>) {
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    let e = events::error(
        "beta_api_shape_disabled",
        "The beta Realtime API shape is no longer available; use the GA shape.",
        None,
    );
    let _ = socket.send(Message::text(e.to_string())).await;
    let close = CloseFrame {
        code: 4000.into(),
        reason: "beta_api_shape_disabled".into(),
    };
    let _ = socket.close(Some(close)).await;
}
