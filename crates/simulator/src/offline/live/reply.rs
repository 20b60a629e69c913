//! The assistant's side of a Live session: the output track (a reply's audio or silence, its
//! transcript as deltas keeping pace with the audio) and the delegated tool call.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{DELTA_BYTES, LiveSession, PendingCall};
use crate::audio::mulaw;
use crate::offline::events::new_id;

/// A reply being spoken.
pub(super) struct Speech {
    words: Vec<String>,
    audio: Arc<Vec<u8>>,
    sent: usize,
    words_sent: usize,
}

impl<S: AsyncRead + AsyncWrite + Unpin> LiveSession<S> {
    /// Starts speaking `text` on the track (replacing what was being said).
    pub(super) async fn say(&mut self, text: String) {
        tracing::info!(%text, "offline stand-in: scripted reply");
        let audio = self.shared.voice.render(&text).await;
        self.report.responses += 1;
        self.speech = Some(Speech {
            words: text.split_inclusive(' ').map(str::to_owned).collect(),
            audio,
            sent: 0,
            words_sent: 0,
        });
    }

    /// 100 ms of the track: the reply's next audio (padded with silence), else silence, and
    /// the reply's words reached so far as an output transcript delta.
    pub(super) async fn send_output_step(&mut self) -> Result<(), ()> {
        let start_ms = self.timeline_ms().saturating_sub(DELTA_BYTES as u64 / 8);
        let mut chunk = Vec::with_capacity(DELTA_BYTES);
        let mut transcript = None;
        if let Some(speech) = self.speech.as_mut() {
            let end = (speech.sent + DELTA_BYTES).min(speech.audio.len());
            chunk.extend_from_slice(&speech.audio[speech.sent..end]);
            speech.sent = end;
            self.report.audio_out_ms += chunk.len() as u64 / 8;
            // Words keep pace with the audio, so a reply cut short has a cut-short transcript.
            let due = (speech.words.len() * end).div_ceil(speech.audio.len().max(1));
            if due > speech.words_sent {
                transcript = Some(speech.words[speech.words_sent..due].concat());
                speech.words_sent = due;
            }
            if end == speech.audio.len() {
                self.speech = None;
            }
        }
        chunk.resize(DELTA_BYTES, mulaw::SILENCE);
        let delta = json!({"type": "session.output_audio.delta", "delta": STANDARD.encode(&chunk)});
        self.send(delta).await?;
        if let Some(text) = transcript {
            let body = json!({"delta": text, "start_ms": start_ms,
                              "end_ms": start_ms + DELTA_BYTES as u64 / 8});
            self.emit("session.output_transcript.delta", body, None)
                .await?;
        }
        Ok(())
    }

    /// The script's tool call through Responses delegation: `session.delegation.created`, then
    /// the backend's `response.created`, the completed `function_call` item and
    /// `response.completed`. The result is spoken once the output and `response.create` come.
    pub(super) async fn delegate(&mut self, name: &str, arguments: &Value) -> Result<(), ()> {
        let delegation_id = new_id("dlg");
        let call_id = new_id("call");
        let args = arguments.to_string();
        tracing::info!(tool = name, arguments = %args, "offline stand-in: scripted tool call (delegated)");
        let created = json!({"offset_ms": self.timeline_ms(), "delegation": {
            "id": delegation_id, "target": "responses", "type": "delegation",
            "response_id": new_id("resp")}});
        self.emit("session.delegation.created", created, None)
            .await?;
        let item = json!({"type": "function_call", "id": new_id("fc"), "call_id": call_id,
                          "name": name, "arguments": args, "status": "completed"});
        self.backend_response(Some(&delegation_id), Some(item), None)
            .await?;
        self.report.tool_calls += 1;
        self.call = Some(PendingCall {
            delegation_id,
            call_id,
            output: None,
        });
        Ok(())
    }

    /// One backend response as nested `response.event`s, with token usage on its completion.
    pub(super) async fn backend_response(
        &mut self,
        delegation_id: Option<&str>,
        item: Option<Value>,
        client: Option<&str>,
    ) -> Result<(), ()> {
        let response_id = new_id("resp");
        let snapshot = |status: &str, usage: Value| {
            json!({"id": response_id, "object": "response", "created_at": 0,
                   "model": self.backend_model, "status": status, "output": [], "tools": [],
                   "tool_choice": "auto", "parallel_tool_calls": false, "usage": usage})
        };
        let mut nested = vec![json!({"type": "response.created",
                                     "response": snapshot("in_progress", Value::Null)})];
        if let Some(item) = item {
            nested.push(
                json!({"type": "response.output_item.done", "output_index": 0, "item": item}),
            );
        }
        let usage = json!({"input_tokens": 900, "input_tokens_details": {"cached_tokens": 600,
                           "cache_write_tokens": 0}, "output_tokens": 40,
                           "output_tokens_details": {"reasoning_tokens": 16}, "total_tokens": 940});
        nested
            .push(json!({"type": "response.completed", "response": snapshot("completed", usage)}));
        for (sequence, mut event) in nested.into_iter().enumerate() {
            event["sequence_number"] = sequence.into();
            let body = json!({"delegation_id": delegation_id, "event": event});
            self.emit("response.event", body, client).await?;
        }
        Ok(())
    }
}
