//! The assistant's side of a session: spoken responses streamed as audio deltas, the scripted
//! tool call, and each response's usage.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{CHUNK_BYTES, Session};
use crate::offline::events::{self, UsageCounts, event, new_id};

/// A spoken response in progress.
pub(super) struct Playback {
    response_id: String,
    item_id: String,
    text: String,
    audio: Arc<Vec<u8>>,
    sent: usize,
    /// Echoed from the `response.create` that asked for it (see `Session::request_tags`).
    tags: Value,
}

/// What the conversation so far has cost, to bill each response as the API does.
#[derive(Debug, Default)]
pub(super) struct Usage {
    /// Caller speech committed so far.
    pub(super) caller_audio_ms: u64,
    /// Assistant audio sent so far.
    assistant_audio_ms: u64,
    /// Text of earlier turns (transcripts, tool calls) in tokens.
    history_text_tokens: u64,
    /// Input billed by the previous response: cached for the next one.
    previous_input: UsageCounts,
}

/// Rough tokens of a text: about four characters each.
fn text_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    /// The tags of the response starting now: the client's, or none for a response that
    /// server VAD started.
    fn take_tags(&mut self) -> Value {
        self.request_tags
            .take()
            .unwrap_or_else(|| json!({"metadata": null, "conversation_id": "conv_offline"}))
    }

    /// Usage of a response that produced `audio_ms` of audio and `text` of transcript or
    /// arguments; the conversation so far is billed again as input.
    fn bill(&mut self, audio_ms: u64, text: &str) -> Value {
        let u = &mut self.usage;
        let prompt = self.session["instructions"].as_str().unwrap_or("").len()
            + self.session["tools"].to_string().len();
        let input = UsageCounts {
            input_text: (prompt as u64).div_ceil(4) + u.history_text_tokens,
            input_audio: u.caller_audio_ms / 100 + u.assistant_audio_ms / 50,
            ..UsageCounts::default()
        };
        let counts = UsageCounts {
            cached_text: u.previous_input.input_text.min(input.input_text),
            cached_audio: u.previous_input.input_audio.min(input.input_audio),
            output_text: text_tokens(text),
            output_audio: audio_ms / 50,
            ..input
        };
        u.previous_input = input;
        u.assistant_audio_ms += audio_ms;
        u.history_text_tokens += text_tokens(text);
        self.report.responses += 1;
        counts.to_json()
    }

    /// Starts speaking `text`: `response.created` and the item and part announcements; the
    /// audio follows tick by tick.
    pub(super) async fn start_speech(&mut self, text: String) -> Result<(), ()> {
        let audio = self.shared.voice.render(&text).await;
        let response_id = new_id("resp");
        let item_id = new_id("item");
        tracing::info!(%text, "offline stand-in: scripted reply");
        let tags = self.take_tags();
        let mut response = events::response(&response_id, "in_progress", None, vec![], None);
        events::merge(&mut response, &tags);
        self.send(event("response.created", json!({"response": response})))
            .await?;
        let item = events::assistant_item(&item_id, "in_progress", None);
        let at = json!({"response_id": response_id, "output_index": 0, "item": item});
        self.send(event("response.output_item.added", at)).await?;
        let added = json!({"previous_item_id": self.previous_item, "item": item});
        self.send(event("conversation.item.added", added)).await?;
        self.previous_item = Some(item_id.clone());
        let part = json!({"response_id": response_id, "item_id": item_id, "output_index": 0,
                          "content_index": 0, "part": {"type": "audio", "transcript": ""}});
        self.send(event("response.content_part.added", part))
            .await?;
        let delta = json!({"response_id": response_id, "item_id": item_id, "output_index": 0,
                           "content_index": 0, "delta": text});
        self.send(event("response.output_audio_transcript.delta", delta))
            .await?;
        self.sent_ms.insert(item_id.clone(), 0);
        self.playback = Some(Playback {
            response_id,
            item_id,
            text,
            audio,
            sent: 0,
            tags,
        });
        Ok(())
    }

    /// Sends the next 100 ms of reply audio, and completes the response after the last.
    pub(super) async fn send_next_chunk(&mut self) -> Result<(), ()> {
        let Some(p) = self.playback.as_mut() else {
            return Ok(());
        };
        let end = (p.sent + CHUNK_BYTES).min(p.audio.len());
        if p.sent >= end {
            return self.finish_speech("completed", None).await;
        }
        let chunk_ms = (end - p.sent) as u64 / 8;
        let delta = json!({"response_id": p.response_id, "item_id": p.item_id,
                           "output_index": 0, "content_index": 0,
                           "delta": STANDARD.encode(&p.audio[p.sent..end])});
        p.sent = end;
        let (item, sent_ms) = (p.item_id.clone(), end as u64 / 8);
        self.sent_ms.insert(item, sent_ms);
        self.report.audio_out_ms += chunk_ms;
        self.send(event("response.output_audio.delta", delta)).await
    }

    /// Ends the spoken response: `completed`, or `cancelled` with the reason; audio not yet
    /// sent is dropped.
    pub(super) async fn finish_speech(
        &mut self,
        status: &str,
        reason: Option<&str>,
    ) -> Result<(), ()> {
        let Some(p) = self.playback.take() else {
            return Ok(());
        };
        let ids = json!({"response_id": p.response_id, "item_id": p.item_id,
                         "output_index": 0, "content_index": 0});
        let with = |extra: Value| {
            let mut v = ids.clone();
            events::merge(&mut v, &extra);
            v
        };
        if status == "completed" {
            self.send(event("response.output_audio.done", with(json!({}))))
                .await?;
        }
        let transcript = with(json!({"transcript": p.text}));
        self.send(event("response.output_audio_transcript.done", transcript))
            .await?;
        let part = with(json!({"part": {"type": "audio", "transcript": p.text}}));
        self.send(event("response.content_part.done", part)).await?;
        let item_status = if status == "completed" {
            "completed"
        } else {
            "incomplete"
        };
        let item = events::assistant_item(&p.item_id, item_status, Some(&p.text));
        let done = json!({"response_id": p.response_id, "output_index": 0, "item": item});
        self.send(event("response.output_item.done", done)).await?;
        self.send(event("conversation.item.done", json!({"item": item})))
            .await?;
        let usage = self.bill(p.sent as u64 / 8, &p.text);
        let mut response =
            events::response(&p.response_id, status, reason, vec![item], Some(usage));
        events::merge(&mut response, &p.tags);
        self.send(event("response.done", json!({"response": response})))
            .await
    }

    /// Answers with a function call; the spoken confirmation waits for its output and the
    /// bridge's `response.create`.
    pub(super) async fn call_tool(&mut self, name: &str, arguments: &Value) -> Result<(), ()> {
        let response_id = new_id("resp");
        let item_id = new_id("item");
        let call_id = new_id("call");
        let args = arguments.to_string();
        tracing::info!(tool = name, arguments = %args, "offline stand-in: scripted tool call");
        let tags = self.take_tags();
        let mut response = events::response(&response_id, "in_progress", None, vec![], None);
        events::merge(&mut response, &tags);
        self.send(event("response.created", json!({"response": response})))
            .await?;
        let pending = events::function_call_item(&item_id, &call_id, name, "", "in_progress");
        let added = json!({"response_id": response_id, "output_index": 0, "item": pending});
        self.send(event("response.output_item.added", added))
            .await?;
        let ids = json!({"response_id": response_id, "item_id": item_id, "output_index": 0,
                         "call_id": call_id});
        let mut delta = ids.clone();
        delta["delta"] = args.clone().into();
        self.send(event("response.function_call_arguments.delta", delta))
            .await?;
        let mut done = ids;
        done["name"] = name.into();
        done["arguments"] = args.clone().into();
        self.send(event("response.function_call_arguments.done", done))
            .await?;
        let item = events::function_call_item(&item_id, &call_id, name, &args, "completed");
        let item_done = json!({"response_id": response_id, "output_index": 0, "item": item});
        self.send(event("response.output_item.done", item_done))
            .await?;
        let conv = json!({"previous_item_id": self.previous_item, "item": item});
        self.send(event("conversation.item.done", conv)).await?;
        self.previous_item = Some(item_id);
        self.pending_call = Some(call_id);
        self.report.tool_calls += 1;
        let usage = self.bill(0, &args);
        let mut response =
            events::response(&response_id, "completed", None, vec![item], Some(usage));
        events::merge(&mut response, &tags);
        self.send(event("response.done", json!({"response": response})))
            .await
    }
}
