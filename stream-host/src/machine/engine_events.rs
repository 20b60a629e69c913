//! How the call core reacts to the engine: assistant audio (played or dropped), the engine's
//! events (session, speech, tool calls, transcripts, usage), and a lost or replaced
//! connection.

use time::OffsetDateTime;
use tokio::time::Instant;

use super::playback::{AudioOut, Playback};
use super::{Action, CallCore, EndReason, Phase};
use crate::engine::{EngineAudio, EngineCommand, EngineEvent, Purpose};

/// Turns replayed to a new session after a reconnect.
const REPLAYED_TURNS: usize = 50;

impl CallCore {
    /// Assistant audio: returns `None` to drop it, else whether to send a mark after it.
    pub fn engine_audio(
        &mut self,
        audio: &EngineAudio<'_>,
        now: Instant,
    ) -> Option<Option<String>> {
        // Once the goodbye is said, what follows (a continuous track's silence) is not played:
        // the call ends when what was sent has played.
        let goodbye_said = matches!(self.phase, Phase::Ending { said: true, .. });
        if !self.phase.audio_flows()
            || goodbye_said
            || self.playback.is_cancelled(&audio.response_id)
        {
            self.outcome.stats.dropped_frames += 1;
            return None;
        }
        if let Some(stopped) = self.speech_stopped_at.take() {
            self.outcome
                .stats
                .record_reply_latency(now.saturating_duration_since(stopped).as_millis() as u64);
        }
        self.latency.audio_received(now);
        let audio_bytes = audio.payload.len() * 3 / 4;
        self.outcome.stats.frames_out += 1;
        self.outcome.stats.bytes_out += audio_bytes as u64;
        Some(self.playback.audio_sent(AudioOut {
            response_id: &audio.response_id,
            item_id: &audio.item_id,
            content_index: audio.content_index,
            audio_bytes,
            in_conversation: audio.in_conversation,
        }))
    }

    /// An event from the engine.
    pub fn engine_event(&mut self, event: EngineEvent, now: Instant, wall: OffsetDateTime) {
        self.latency.anchor(now, wall);
        match event {
            EngineEvent::SessionOpened { model } => {
                if let Some(model) = model {
                    if model != self.outcome.model {
                        tracing::warn!(configured = %self.outcome.model, reported = %model, "the engine runs another model than configured; pricing the one it reports");
                    }
                    self.outcome.model = model;
                }
            }
            EngineEvent::SessionReady => self.session_ready(now),
            EngineEvent::SessionRefused { reason } => {
                tracing::error!(%reason, "the engine refused the session configuration");
                self.end(EndReason::SessionNotConfigured);
            }
            EngineEvent::CallerStartedSpeaking { active } => {
                self.last_activity = now;
                self.caller_started_speaking(active);
            }
            EngineEvent::CallerStoppedSpeaking => {
                self.last_activity = now;
                self.speech_stopped_at = Some(now);
                self.latency.speech_ended(now);
            }
            EngineEvent::SpeechEnd { input_ms } => {
                self.latency.speech_ended_at_input(input_ms, now);
            }
            EngineEvent::AudioDone { item_id } => {
                if let Some(mark) = self.playback.audio_done(&item_id) {
                    self.actions.push(Action::MarkTwilio(mark));
                }
            }
            EngineEvent::DropAudio { response_id } => self.playback.cancel_response(&response_id),
            EngineEvent::Spoke(purpose) => {
                if purpose == Purpose::Goodbye
                    && let Phase::Ending { said, .. } = &mut self.phase
                {
                    *said = true;
                    self.end_if_goodbye_finished();
                }
            }
            EngineEvent::ToolCalls { turn, calls } => {
                if self.phase.ending() {
                    tracing::warn!(
                        calls = calls.len(),
                        "tool calls ignored: the call is ending"
                    );
                    return;
                }
                self.tools.start(&turn, calls.len());
                let started: Vec<(String, String)> = calls
                    .iter()
                    .map(|c| (c.call_id.clone(), c.name.clone()))
                    .collect();
                self.latency.tools_started(&started, now);
                self.actions.push(Action::RunTools { turn, calls });
            }
            EngineEvent::Transcript {
                role,
                item_id,
                text,
            } => {
                let interrupted = item_id.is_some_and(|id| self.truncated_items.contains(&id));
                self.record(role, text, interrupted, wall);
            }
            EngineEvent::Usage(usage) => {
                self.outcome.usage.add(&usage);
                if !self.phase.ending() && self.over_cost_limit() {
                    tracing::warn!("call reached its cost limit");
                    self.begin_goodbye(EndReason::CostLimit, now);
                }
            }
        }
    }

    /// The engine's connection closed or failed (or a reconnect attempt failed).
    pub fn engine_lost(&mut self) {
        if let Some(reason) = self.phase.end_reason() {
            tracing::warn!(?reason, "engine connection lost while the call was ending");
            self.end(reason);
            return;
        }
        self.playback = Playback::new(self.playback.mark_every_ms());
        self.tools.session_replaced();
        self.latency.session_replaced();
        match self.reconnect.next_attempt() {
            Some(pause) => {
                tracing::warn!(
                    attempt = self.reconnect.used(),
                    ?pause,
                    "engine connection lost; reconnecting"
                );
                self.phase = Phase::Reconnecting;
                self.actions.push(Action::Reconnect(pause));
            }
            None => {
                tracing::error!(
                    attempts = self.reconnect.used(),
                    "the engine could not be reached again; ending the call"
                );
                self.end(EndReason::OpenAiLost);
            }
        }
    }

    /// A new engine connection is open: configure it with the conversation so far.
    pub fn engine_connected(&mut self, now: Instant) {
        self.outcome.stats.reconnects += 1;
        let skip = self.conversation.len().saturating_sub(REPLAYED_TURNS);
        let history = self.conversation[skip..].to_vec();
        self.configure(now, history);
    }

    /// The session is configured: send the audio queued meanwhile, then greet (or, on a
    /// session that replaced a dropped one, apologise for the pause).
    fn session_ready(&mut self, now: Instant) {
        if !matches!(self.phase, Phase::Configuring { .. }) {
            return;
        }
        self.phase = Phase::Talking;
        self.actions.push(Action::FlushCallerAudio);
        // An outbound call speaks once it knows who answered.
        if !self.greeted && self.outbound_session_ready(now) {
            return;
        }
        if self.greeted {
            self.say(
                Purpose::Apology,
                Some("The line dropped for a moment. Say one short sentence of apology and continue the conversation.".into()),
            );
        } else {
            self.greeted = true;
            let greeting = format!(
                "Greet the caller now, saying exactly: \"{}\"",
                self.config.greeting.replace('"', "'")
            );
            self.say(Purpose::Greeting, Some(greeting));
        }
    }

    fn caller_started_speaking(&mut self, active: Vec<String>) {
        let active_refs: Vec<&str> = active.iter().map(String::as_str).collect();
        let Some(cuts) = self.playback.interrupt(&active_refs) else {
            return;
        };
        self.outcome.stats.interruptions += 1;
        self.actions.push(Action::ClearTwilio);
        self.truncated_items
            .extend(cuts.iter().map(|c| c.item_id.clone()));
        self.actions
            .push(Action::Engine(EngineCommand::Interrupted { cuts, active }));
    }
}
