//! OpenAI side: server events, the session, barge-in and transcripts.

use axum::extract::ws::Message as TwilioMessage;
use futures_util::SinkExt;
use phone_core::{Role, Turn};
use phone_realtime::client;
use phone_realtime::server::{ApiError, ResponseInfo, ServerEvent, parse_server_event};
use phone_twilio::media;
use tokio::time::Instant;

use super::{Bridge, EndReason, Step};
use crate::bargein::AudioOut;
use crate::responses::{Purpose, Refusal};

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
                // Before `session.updated` the output format is the server's default (PCM16 at
                // 24 kHz), which Twilio would play as loud noise.
                if !self.session.ready || self.playback.is_cancelled(&response_id) {
                    self.outcome.stats.dropped_frames += 1;
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
                let out = AudioOut {
                    in_conversation: !self.responses.is_out_of_band(&response_id),
                    response_id: &response_id,
                    item_id: &item_id,
                    content_index,
                    audio_bytes,
                };
                match self.playback.audio_sent(out) {
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
                Box::pin(self.on_response_created(response)).await
            }
            ServerEvent::ResponseDone { response } => {
                Box::pin(self.on_response_done(response)).await
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
                self.hold_call(response_id, call_id, name, arguments);
                Step::Continue
            }
            ServerEvent::Error { error } => Box::pin(self.on_error(error)).await,
            _ => Step::Continue,
        }
    }

    /// `session.updated`: send the audio queued meanwhile, then greet (or, on a session that
    /// replaced a dropped one, apologise for the pause).
    async fn on_session_ready(&mut self) -> Step {
        if self.session.ready {
            return Step::Continue;
        }
        self.session.ready = true;
        for append in std::mem::take(&mut self.queued) {
            if self.send_openai(append).await.is_err() {
                return Step::Continue;
            }
        }
        if self.session.greeted {
            self.request_response(
                Purpose::Apology,
                Some("The line dropped for a moment. Say one short sentence of apology and continue the conversation."),
            )
            .await;
        } else {
            self.session.greeted = true;
            let greeting = format!(
                "Greet the caller now, saying exactly: \"{}\"",
                self.state.inner.config.greeting.replace('"', "'")
            );
            self.request_response(Purpose::Greeting, Some(&greeting))
                .await;
        }
        Step::Continue
    }

    /// An `error` event: a refused session ends the call (the caller hears the fallback); a
    /// refused `response.create` is retried or given up as [`crate::responses`] decides.
    async fn on_error(&mut self, error: ApiError) -> Step {
        tracing::warn!(code = ?error.code, event_id = ?error.event_id, message = %error.message, "OpenAI reported an error");
        if error.event_id.as_deref() == Some(self.session.update_id.as_str()) {
            tracing::error!(code = ?error.code, "OpenAI refused the session configuration");
            return Step::End(EndReason::SessionNotConfigured);
        }
        let (refusal, send) = self
            .responses
            .refused(error.event_id.as_deref(), error.code.as_deref());
        match refusal {
            Refusal::WillRetry(purpose) => {
                tracing::info!(
                    ?purpose,
                    "response refused while another runs; will ask again after it"
                );
            }
            Refusal::Dropped(Purpose::Goodbye) => {
                // Nothing more will be said: end once what is queued has played.
                self.goodbye_response_done = true;
            }
            Refusal::Dropped(purpose) => tracing::warn!(?purpose, "response request given up"),
            Refusal::NotOurs => {}
        }
        if let Some(event) = send {
            let _ = self.send_openai(event).await;
        }
        self.maybe_finish_goodbye()
    }

    async fn on_response_created(&mut self, response: ResponseInfo) -> Step {
        let started = self.responses.created(&response);
        if let Some(notice) = started.cancel_notice {
            // The caller's own turn speaks now: the "one moment" must not talk over it.
            self.playback.cancel_response(&notice);
            let _ = self
                .send_openai(client::response_cancel(Some(&notice)))
                .await;
        }
        Step::Continue
    }

    async fn on_response_done(&mut self, response: ResponseInfo) -> Step {
        if let Some(usage) = &response.usage {
            self.outcome.usage.add(&usage.to_usage());
        }
        let finished = self.responses.finished(&response);
        if let Some(event) = finished.send {
            let _ = self.send_openai(event).await;
        }
        self.release_calls(&response).await;
        if finished.purpose == Some(Purpose::Goodbye) {
            self.goodbye_response_done = true;
        }
        if self.ending.is_none() && self.over_cost_limit() {
            tracing::warn!("call reached its cost limit");
            return Box::pin(self.begin_goodbye(EndReason::CostLimit)).await;
        }
        self.maybe_finish_goodbye()
    }

    async fn on_caller_speaking(&mut self) -> Step {
        let active: Vec<String> = self
            .responses
            .active()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let active_refs: Vec<&str> = active.iter().map(String::as_str).collect();
        let Some(cuts) = self.playback.interrupt(&active_refs) else {
            return Step::Continue;
        };
        self.outcome.stats.interruptions += 1;
        if let Step::End(r) = self
            .send_twilio(media::clear_message(&self.stream_sid))
            .await
        {
            return Step::End(r);
        }
        for id in &active {
            // Server VAD with interrupt_response cancels the conversation's response itself; an
            // out-of-band one, and any response under semantic VAD, is cancelled here.
            if self.responses.is_out_of_band(id) || self.state.inner.config.semantic_vad {
                let _ = self.send_openai(client::response_cancel(Some(id))).await;
            }
        }
        for cut in cuts {
            let _ = self
                .send_openai(client::truncate(
                    &cut.item_id,
                    cut.content_index,
                    cut.audio_end_ms,
                ))
                .await;
            self.truncated_items.insert(cut.item_id);
        }
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
