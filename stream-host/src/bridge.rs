//! The bridge loop of one call: Twilio audio to OpenAI, OpenAI audio and marks to Twilio,
//! barge-in, transcripts, usage, timers, reconnection and the goodbye.
//!
//! One task owns both sockets; no lock is shared with other calls. Audio payloads pass through
//! as base64 strings and are never decoded.

use std::collections::HashSet;
use std::time::Duration;

use axum::extract::ws::{Message as TwilioMessage, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use phone_core::{CallStats, Role, Turn, Usage};
use phone_realtime::client;
use phone_realtime::connect::RealtimeSocket;
use phone_realtime::server::{ServerEvent, parse_server_event};
use phone_twilio::media::{self, MediaError, StreamEvent, parse_stream_event};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message as OpenAiMessage;

use crate::HostState;
use crate::bargein::Playback;
use crate::call::StreamStart;
use crate::openai;

/// Why a call ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EndReason {
    /// Twilio sent `stop` or closed: the caller hung up.
    #[default]
    CallerHungUp,
    /// The call reached its maximum duration.
    MaxDuration,
    /// The caller was silent too long.
    Idle,
    /// The host is shutting down.
    Drain,
    /// OpenAI could not be reached again.
    OpenAiLost,
}

/// What the bridge measured.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Why it ended.
    pub reason: EndReason,
    /// Counters.
    pub stats: CallStats,
    /// Tokens.
    pub usage: Usage,
}

/// Most caller frames held while the session is not ready (30 s of audio).
const MAX_QUEUED_FRAMES: usize = 1500;
/// Time a goodbye gets to be spoken and played.
const GOODBYE_GRACE: Duration = Duration::from_secs(10);
/// Turns replayed to a new OpenAI session after a reconnect.
const REPLAYED_TURNS: usize = 50;

type OpenAiSink = SplitSink<RealtimeSocket, OpenAiMessage>;
type OpenAiStream = SplitStream<RealtimeSocket>;

/// One call's bridge.
pub(crate) struct Bridge {
    state: HostState,
    stream_sid: String,
    call_sid: phone_core::CallSid,
    twilio_tx: SplitSink<WebSocket, TwilioMessage>,
    twilio_rx: SplitStream<WebSocket>,
    openai_tx: OpenAiSink,
    openai_rx: OpenAiStream,
    instructions: String,
    session_ready: bool,
    greeted: bool,
    queued: Vec<String>,
    playback: Playback,
    truncated_items: HashSet<String>,
    conversation: Vec<(Role, String)>,
    next_turn: u32,
    speech_stopped_at: Option<Instant>,
    last_activity: Instant,
    ending: Option<(EndReason, Instant)>,
    goodbye_response_done: bool,
    writes: JoinSet<()>,
    outcome: Outcome,
}

enum Step {
    Continue,
    End(EndReason),
}

impl Bridge {
    pub(crate) fn new(
        state: HostState,
        start: StreamStart,
        twilio: WebSocket,
        openai: RealtimeSocket,
        instructions: String,
    ) -> Self {
        let (twilio_tx, twilio_rx) = twilio.split();
        let (openai_tx, openai_rx) = openai.split();
        Self {
            state,
            stream_sid: start.stream_sid,
            call_sid: start.call_sid,
            twilio_tx,
            twilio_rx,
            openai_tx,
            openai_rx,
            instructions,
            session_ready: false,
            greeted: false,
            queued: Vec::new(),
            playback: Playback::default(),
            truncated_items: HashSet::new(),
            conversation: Vec::new(),
            next_turn: 0,
            speech_stopped_at: None,
            last_activity: Instant::now(),
            ending: None,
            goodbye_response_done: false,
            writes: JoinSet::new(),
            outcome: Outcome::default(),
        }
    }

    /// Runs until the call ends, then closes both sockets and waits for pending store writes.
    pub(crate) async fn run(mut self) -> Outcome {
        let config = self.state.inner.config.clone();
        let reason = match self
            .send_openai(openai::session_update(&config, &self.instructions))
            .await
        {
            Err(()) => self
                .reconnect()
                .await
                .err()
                .unwrap_or(EndReason::OpenAiLost),
            Ok(()) => self.pump(config.max_call, config.idle_timeout).await,
        };
        self.outcome.reason = reason;
        let _ = self.twilio_tx.send(TwilioMessage::Close(None)).await;
        let _ = self.openai_tx.send(OpenAiMessage::Close(None)).await;
        while let Some(joined) = self.writes.join_next().await {
            if let Err(e) = joined {
                tracing::error!(error = %e, "store write task failed");
            }
        }
        self.outcome
    }

    /// Moves messages both ways until the call ends. The timers live across iterations: a
    /// timer created per message would be registered and dropped 100 times a second per call.
    async fn pump(&mut self, max_call: Duration, idle_timeout: Duration) -> EndReason {
        let mut drain = self.state.inner.drain.clone();
        let drain_deadline = drain.deadline_passed();
        let max_timer = sleep_until(Instant::now() + max_call);
        // The idle timer is checked lazily: when it fires early because of activity since it
        // was set, it is pushed back instead of being reset on every frame.
        let idle_timer = sleep_until(self.last_activity + idle_timeout);
        let goodbye_timer = sleep_until(Instant::now() + max_call);
        tokio::pin!(drain_deadline, max_timer, idle_timer, goodbye_timer);
        loop {
            let was_ending = self.ending.is_some();
            let step = tokio::select! {
                message = self.twilio_rx.next() => match message {
                    Some(Ok(TwilioMessage::Text(text))) => self.on_twilio(text.as_str()).await,
                    Some(Ok(TwilioMessage::Close(_))) | None | Some(Err(_)) => Step::End(EndReason::CallerHungUp),
                    Some(Ok(TwilioMessage::Binary(_))) => {
                        self.outcome.stats.dropped_frames += 1;
                        Step::Continue
                    }
                    Some(Ok(_)) => Step::Continue,
                },
                message = self.openai_rx.next() => match message {
                    Some(Ok(OpenAiMessage::Text(text))) => self.on_openai(text.as_str()).await,
                    Some(Ok(OpenAiMessage::Close(_))) | None | Some(Err(_)) => match self.reconnect().await {
                        Ok(()) => Step::Continue,
                        Err(reason) => Step::End(reason),
                    },
                    Some(Ok(_)) => Step::Continue,
                },
                _ = &mut max_timer, if !was_ending => self.begin_goodbye(EndReason::MaxDuration).await,
                _ = &mut idle_timer, if !was_ending => {
                    let due = self.last_activity + idle_timeout;
                    if due > Instant::now() {
                        idle_timer.as_mut().reset(due);
                        Step::Continue
                    } else if self.playback.has_unplayed_audio() {
                        self.last_activity = Instant::now();
                        idle_timer.as_mut().reset(self.last_activity + idle_timeout);
                        Step::Continue
                    } else {
                        self.begin_goodbye(EndReason::Idle).await
                    }
                }
                _ = &mut drain_deadline, if !was_ending => self.begin_goodbye(EndReason::Drain).await,
                _ = &mut goodbye_timer, if was_ending => Step::End(self.ending.map(|(r, _)| r).unwrap_or_default()),
            };
            if let Step::End(reason) = step {
                return reason;
            }
            if let (false, Some((_, at))) = (was_ending, self.ending) {
                goodbye_timer.as_mut().reset(at);
            }
        }
    }

    async fn send_openai(&mut self, text: String) -> Result<(), ()> {
        self.outcome.stats.messages += 1;
        self.openai_tx
            .send(OpenAiMessage::Text(text.into()))
            .await
            .map_err(|_| ())
    }

    async fn send_twilio(&mut self, text: String) -> Step {
        match self.twilio_tx.send(TwilioMessage::Text(text.into())).await {
            Ok(()) => Step::Continue,
            Err(_) => Step::End(EndReason::CallerHungUp),
        }
    }

    async fn on_twilio(&mut self, text: &str) -> Step {
        self.outcome.stats.messages += 1;
        if text.len() > self.state.inner.config.max_frame_bytes {
            self.outcome.stats.dropped_frames += 1;
            tracing::debug!(bytes = text.len(), "oversized Twilio frame dropped");
            return Step::Continue;
        }
        match parse_stream_event(text) {
            Ok(StreamEvent::Media { media }) => {
                self.outcome.stats.frames_in += 1;
                self.outcome.stats.bytes_in += media.payload.len() as u64 * 3 / 4;
                let append = client::append_audio(&media.payload);
                if self.session_ready {
                    if self.send_openai(append).await.is_err() {
                        // The OpenAI reader will see the failure and reconnect; keep the frame.
                        self.queue(client::append_audio(&media.payload));
                    }
                } else {
                    self.queue(append);
                }
                Step::Continue
            }
            Ok(StreamEvent::Mark { mark }) => {
                self.playback.mark_played(&mark.name);
                self.maybe_finish_goodbye()
            }
            Ok(StreamEvent::Stop) => Step::End(EndReason::CallerHungUp),
            Ok(StreamEvent::Dtmf { dtmf }) => {
                tracing::info!(digit = %dtmf.digit, "dtmf");
                Step::Continue
            }
            Ok(_) | Err(MediaError::UnknownEvent) => Step::Continue,
            Err(e) => {
                self.outcome.stats.dropped_frames += 1;
                if self.outcome.stats.dropped_frames <= 5 {
                    tracing::warn!(error = %e, "malformed Twilio frame dropped");
                }
                Step::Continue
            }
        }
    }

    fn queue(&mut self, append: String) {
        if self.queued.len() == MAX_QUEUED_FRAMES {
            self.queued.remove(0);
            self.outcome.stats.dropped_frames += 1;
        }
        self.queued.push(append);
    }

    async fn on_openai(&mut self, text: &str) -> Step {
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
                            .twilio_tx
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
            ServerEvent::SessionUpdated => self.on_session_ready().await,
            ServerEvent::SpeechStarted { .. } => {
                self.last_activity = Instant::now();
                self.on_caller_speaking().await
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
                }
                if self.ending.is_some() {
                    self.goodbye_response_done = true;
                    return self.maybe_finish_goodbye();
                }
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
            ServerEvent::FunctionCall { call_id, name, .. } => {
                // Tools are wired by the tools issue; until then the model gets a clear refusal.
                let output = serde_json::json!({"error": format!("tool {name} is not available on this line")});
                let _ = self
                    .send_openai(client::function_call_output(&call_id, &output))
                    .await;
                let _ = self.send_openai(client::response_create(None)).await;
                Step::Continue
            }
            ServerEvent::Error { error } => {
                tracing::warn!(code = ?error.code, message = %error.message, "OpenAI reported an error");
                Step::Continue
            }
            _ => Step::Continue,
        }
    }

    async fn on_session_ready(&mut self) -> Step {
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

    async fn on_caller_speaking(&mut self) -> Step {
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

    fn record_turn(&mut self, role: Role, text: String, interrupted: bool) {
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

    async fn begin_goodbye(&mut self, reason: EndReason) -> Step {
        tracing::info!(?reason, "ending the call with a goodbye");
        self.ending = Some((reason, Instant::now() + GOODBYE_GRACE));
        let words = match reason {
            EndReason::Idle => {
                "The caller has been silent for a while. Say a short, friendly goodbye."
            }
            EndReason::MaxDuration => {
                "The call has reached its time limit. Apologise and say a short goodbye."
            }
            _ => "You must end the call now for maintenance. Apologise briefly and say goodbye.",
        };
        let _ = self.send_openai(client::response_create(Some(words))).await;
        Step::Continue
    }

    fn maybe_finish_goodbye(&mut self) -> Step {
        match self.ending {
            Some((reason, _))
                if self.goodbye_response_done && !self.playback.last_mark_pending() =>
            {
                Step::End(reason)
            }
            _ => Step::Continue,
        }
    }

    /// Opens a new OpenAI session after a drop, replays the conversation, and has the assistant
    /// excuse the pause. Caller audio arriving meanwhile is queued, not lost.
    async fn reconnect(&mut self) -> Result<(), EndReason> {
        let config = self.state.inner.config.clone();
        self.session_ready = false;
        self.playback = Playback::default();
        for attempt in 1..=config.reconnect_attempts {
            tracing::warn!(attempt, "OpenAI connection lost; reconnecting");
            tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt - 1))).await;
            let socket = match openai::connect(&config).await {
                Ok(socket) => socket,
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "reconnect failed");
                    continue;
                }
            };
            let (tx, rx) = socket.split();
            self.openai_tx = tx;
            self.openai_rx = rx;
            self.outcome.stats.reconnects += 1;
            let mut setup = vec![openai::session_update(&config, &self.instructions)];
            let skip = self.conversation.len().saturating_sub(REPLAYED_TURNS);
            for (role, text) in &self.conversation[skip..] {
                setup.push(match role {
                    Role::Caller => client::user_text(text),
                    Role::Assistant => client::assistant_text(text),
                });
            }
            setup.push(client::response_create(Some(
                "The line dropped for a moment. Say one short sentence of apology and continue the conversation.",
            )));
            let mut sent = true;
            for text in setup {
                if self.send_openai(text).await.is_err() {
                    sent = false;
                    break;
                }
            }
            if sent {
                // The greeting was given already; do not repeat it.
                self.greeted = true;
                return Ok(());
            }
        }
        tracing::error!("OpenAI could not be reached again; ending the call");
        Err(EndReason::OpenAiLost)
    }
}
