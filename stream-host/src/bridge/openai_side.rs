//! OpenAI side: server events, barge-in and transcripts.

use axum::extract::ws::Message as TwilioMessage;
use futures_util::SinkExt;
use phone_core::{Role, Turn};
use phone_realtime::client;
use phone_realtime::server::{ServerEvent, parse_server_event};
use phone_twilio::media;
use tokio::time::Instant;

use super::{Bridge, EndReason, Step};

impl Bridge {
    pub(super) async fn on_openai(&mut self, text: &str) -> Step {
        self.outcome.stats.messages += 1;
        let event = match parse_server_event(text) {
            Ok(event) => event,
            Err(e) => {
                tracing::warn!(error = %e, "unreadable OpenAI event ignored");
                return Step::Continue;
            }
        };
        match event {
            ServerEvent::AudioDelta {
                response_id,
                item_id,
                content_index,
                delta,
            } => {
                if self.playback.is_cancelled(&response_id) {
                    return Step::Continue;
                }
                if let Some(stopped) = self.speech_stopped_at.take() {
                    self.outcome
                        .stats
                        .record_reply_latency(stopped.elapsed().as_millis() as u64);
                }
                let audio_bytes = delta.len() * 3 / 4;
                self.outcome.stats.frames_out += 1;
                self.outcome.stats.bytes_out += audio_bytes as u64;
                let media = media::media_message(&self.stream_sid, &delta);
                match self
                    .playback
                    .audio_sent(&item_id, content_index, audio_bytes)
                {
                    Some(mark) => {
                        // Queue the audio and send it with its mark in one write.
                        if self
                            .twilio
                            .feed(TwilioMessage::Text(media.into()))
                            .await
                            .is_err()
                        {
                            return Step::End(EndReason::CallerHungUp);
                        }
                        self.send_twilio(media::mark_message(&self.stream_sid, &mark))
                            .await
                    }
                    None => self.send_twilio(media).await,
                }
            }
            ServerEvent::AudioDone { item_id } => match self.playback.audio_done(&item_id) {
                Some(mark) => {
                    self.send_twilio(media::mark_message(&self.stream_sid, &mark))
                        .await
                }
                None => Step::Continue,
            },
            ServerEvent::SessionUpdated => Box::pin(self.on_session_ready()).await,
            ServerEvent::SpeechStarted { .. } => {
                self.last_activity = Instant::now();
                Box::pin(self.on_caller_speaking()).await
            }
            ServerEvent::SpeechStopped { .. } => {
                self.last_activity = Instant::now();
                self.speech_stopped_at = Some(Instant::now());
                Step::Continue
            }
            ServerEvent::ResponseCreated { response } => {
                self.playback.response_started(&response.id);
                Step::Continue
            }
            ServerEvent::ResponseDone { response } => {
                self.playback.response_finished(&response.id);
                if let Some(usage) = &response.usage {
                    self.outcome.usage.add(&usage.to_usage());
                    if self.ending.is_none() && self.over_cost_limit() {
                        tracing::warn!("call reached its cost limit");
                        return Box::pin(self.begin_goodbye(EndReason::CostLimit)).await;
                    }
                }
                if response.purpose() == Some(client::TOOL_WAIT_PURPOSE) {
                    Box::pin(self.on_wait_notice_done()).await;
                    return Step::Continue;
                }
                if self.ending.is_some() {
                    self.goodbye_response_done = true;
                    return self.maybe_finish_goodbye();
                }
                Box::pin(self.response_done_for_tools(&response.id)).await;
                Step::Continue
            }
            ServerEvent::InputTranscript { transcript, .. } => {
                self.record_turn(Role::Caller, transcript, false);
                Step::Continue
            }
            ServerEvent::OutputTranscript {
                item_id,
                transcript,
            } => {
                let interrupted = self.truncated_items.contains(&item_id);
                self.record_turn(Role::Assistant, transcript, interrupted);
                Step::Continue
            }
            ServerEvent::FunctionCall {
                response_id,
                call_id,
                name,
                arguments,
            } => {
                Box::pin(self.start_tool(response_id, call_id, name, arguments)).await;
                Step::Continue
            }
            ServerEvent::Error { error } => {
                tracing::warn!(code = ?error.code, message = %error.message, "OpenAI reported an error");
                if error.code.as_deref() == Some("conversation_already_has_active_response") {
                    // A "one moment" refused because the caller's own turn started a response:
                    // that response speaks instead, and a held-back follow-up must not wait
                    // for a notice that will never end.
                    Box::pin(self.on_wait_notice_done()).await;
                }
                Step::Continue
            }
            _ => Step::Continue,
        }
    }

    pub(super) async fn on_session_ready(&mut self) -> Step {
        self.session_ready = true;
        for append in std::mem::take(&mut self.queued) {
            if self.send_openai(append).await.is_err() {
                return Step::Continue;
            }
        }
        if !self.greeted {
            self.greeted = true;
            let greeting = format!(
                "Greet the caller now, saying exactly: \"{}\"",
                self.state.inner.config.greeting.replace('"', "'")
            );
            let _ = self
                .send_openai(client::response_create(Some(&greeting)))
                .await;
        }
        Step::Continue
    }

    pub(super) async fn on_caller_speaking(&mut self) -> Step {
        let Some(cut) = self.playback.caller_started_speaking() else {
            return Step::Continue;
        };
        self.outcome.stats.interruptions += 1;
        if let Step::End(r) = self
            .send_twilio(media::clear_message(&self.stream_sid))
            .await
        {
            return Step::End(r);
        }
        // Server VAD with interrupt_response already cancels; cancel only if still generating,
        // since cancelling nothing is an error event.
        if cut.response_active && self.state.inner.config.semantic_vad {
            let _ = self.send_openai(client::response_cancel()).await;
        }
        let _ = self
            .send_openai(client::truncate(
                &cut.item_id,
                cut.content_index,
                cut.audio_end_ms,
            ))
            .await;
        self.truncated_items.insert(cut.item_id);
        Step::Continue
    }

    pub(super) fn record_turn(&mut self, role: Role, text: String, interrupted: bool) {
        if text.trim().is_empty() {
            return;
        }
        let now = self.state.inner.store.clock().now();
        let mut turn = Turn::new(self.next_turn, role, &text, now);
        turn.interrupted = interrupted;
        self.next_turn += 1;
        self.conversation.push((role, turn.text.clone()));
        let store = self.state.inner.store.clone();
        let sid = self.call_sid.clone();
        // Off the audio path: a slow store write must not delay a frame.
        self.writes.spawn(async move {
            if let Err(e) = store.append_turn(&sid, &turn).await {
                tracing::error!(error = %e, seq = turn.seq, "could not store a transcript turn");
            }
        });
    }

    /// Whether the model cost so far has reached `MAX_CALL_COST_USD`.
    fn over_cost_limit(&self) -> bool {
        let config = &self.state.inner.config;
        let Some(cap) = config.max_cost_nano_usd else {
            return false;
        };
        config
            .prices
            .cost(&config.model, &self.outcome.usage)
            .is_some_and(|cost| cost.input_nano_usd + cost.output_nano_usd >= cap)
    }
}
