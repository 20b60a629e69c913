//! The call core: one call as a state machine, with no sockets.
//!
//! The bridge's shell feeds it what happens — Twilio frames, engine events (already
//! translated by an [`crate::engine`] adapter), timers, tool results — and performs the
//! [`Action`]s it queues: frames to the engine or to Twilio, tools to run, turns to store,
//! a reconnect, the end. The two hot paths (caller audio to the engine, assistant audio to
//! Twilio) only ask it a question and send directly.
//!
//! Each concern is its own small part: `engine_events` (what the engine says), `answer` (an
//! outbound call's answering machine verdict), [`phase`] (where the call is and when it ends),
//! [`playback`] (what Twilio has played, what to truncate), [`tool_turns`], [`reconnect`],
//! [`latency`] (per-turn latency and tool runs),
//! [`keypad`] (the caller's key presses, collected into one entry).

use std::collections::HashSet;
use std::sync::Arc;

use phone_core::keypad::{Key, KeySequence};
use phone_core::tools::{CallEffect, ToolOutcome};
use phone_core::{CallStats, Role, Turn, Usage};
use serde_json::json;
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::config::StreamHostConfig;
use crate::engine::{EngineCommand, Purpose, ToolCall};

mod answer;
mod engine_events;
pub mod keypad;
pub mod latency;
pub mod phase;
pub mod playback;
pub mod reconnect;
pub mod tool_turns;

use answer::OutboundTurn;
use keypad::KeypadEntry;
use latency::{LatencyTracker, ToolTiming};
pub use phase::{EndReason, GOODBYE_GRACE, Phase};
use playback::Playback;
use reconnect::ReconnectBudget;
use tool_turns::{Answered, ToolTurns};

/// Something the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Translate and send to the engine.
    Engine(EngineCommand),
    /// Send the caller audio queued while the session was not ready.
    FlushCallerAudio,
    /// Drop the audio queued at Twilio (`clear`).
    ClearTwilio,
    /// Send a playback mark to Twilio.
    MarkTwilio(String),
    /// Play these keys' tones to Twilio, after the audio already sent (`press_digits`).
    PressKeys(KeySequence),
    /// Run these tools (one turn), off the audio path.
    RunTools {
        /// The turn.
        turn: String,
        /// Its calls.
        calls: Vec<ToolCall>,
    },
    /// Store a transcript turn.
    Record(Turn),
    /// Store a turn's latency.
    RecordLatency(phone_core::TurnLatency),
    /// Open a new engine connection after this pause.
    Reconnect(std::time::Duration),
    /// The call is over.
    End(EndReason),
}

/// Timers the shell runs for the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// The session was not confirmed in time.
    SessionSetup,
    /// The call's maximum duration.
    MaxDuration,
    /// The host's drain deadline.
    Drain,
    /// The goodbye's grace.
    GoodbyeGrace,
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
    /// The model the usage is priced at (the one the engine reported, else the configured one).
    pub model: String,
    /// What was said, in order, for the caller's memory.
    pub conversation: Vec<(Role, String)>,
    /// Each assistant turn's latency, in order (at most [`latency::MAX_KEPT`]).
    pub turn_latencies: Vec<phone_core::TurnLatency>,
    /// Each tool run, in order (at most [`latency::MAX_KEPT`]).
    pub tool_timings: Vec<ToolTiming>,
}

/// One call's state.
pub struct CallCore {
    config: Arc<StreamHostConfig>,
    instructions: String,
    phase: Phase,
    greeted: bool,
    playback: Playback,
    tools: ToolTurns,
    reconnect: ReconnectBudget,
    truncated_items: HashSet<String>,
    keypad: KeypadEntry,
    conversation: Vec<(Role, String)>,
    next_turn: u32,
    speech_stopped_at: Option<Instant>,
    latency: LatencyTracker,
    last_activity: Instant,
    outcome: Outcome,
    actions: Vec<Action>,
    /// An outbound call's words and what answered it; `None` on an inbound call.
    outbound: Option<OutboundTurn>,
}

impl CallCore {
    /// A call about to configure its first session; `mark_every_ms` is the engine's
    /// playback mark interval.
    pub fn new(
        config: Arc<StreamHostConfig>,
        instructions: String,
        mark_every_ms: u64,
        now: Instant,
    ) -> Self {
        let outcome = Outcome {
            model: config.model.clone(),
            ..Outcome::default()
        };
        Self {
            reconnect: ReconnectBudget::new(config.reconnect_attempts),
            phase: Phase::Configuring {
                deadline: now + config.session_timeout,
            },
            config,
            instructions,
            greeted: false,
            playback: Playback::new(mark_every_ms),
            tools: ToolTurns::default(),
            truncated_items: HashSet::new(),
            keypad: KeypadEntry::default(),
            conversation: Vec::new(),
            next_turn: 0,
            speech_stopped_at: None,
            latency: LatencyTracker::default(),
            last_activity: now,
            outcome,
            actions: Vec::new(),
            outbound: None,
        }
    }

    /// Starts the call: configure the engine's first session.
    pub fn start(&mut self, now: Instant) {
        self.configure(now, Vec::new());
    }

    /// Where the call is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether caller audio goes to the engine now (otherwise the shell queues it, or drops
    /// it while an outbound call waits for its answer: [`CallCore::awaiting_answer`]).
    pub fn audio_flows(&self) -> bool {
        self.phase.audio_flows() && !self.awaiting_answer()
    }

    /// Whether actions are queued (checked on every message: most messages queue none).
    pub fn has_actions(&self) -> bool {
        !self.actions.is_empty()
    }

    /// The actions queued since the last call, in order.
    pub fn take_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.actions)
    }

    /// Counters the shell updates on the hot paths.
    pub fn stats_mut(&mut self) -> &mut CallStats {
        &mut self.outcome.stats
    }

    /// When the session counts as not configured, while one is awaited.
    pub fn session_deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Configuring { deadline } => Some(deadline),
            _ => None,
        }
    }

    /// When an ending call ends regardless, while it ends.
    pub fn goodbye_deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Ending { deadline, .. } => Some(deadline),
            _ => None,
        }
    }

    /// When the caller's keypad entry ends by itself, while one is being typed.
    pub fn keypad_deadline(&self) -> Option<Instant> {
        self.keypad.deadline()
    }

    /// Whether assistant audio is still queued at Twilio.
    pub fn audio_unplayed(&self) -> bool {
        self.playback.has_unplayed_audio()
    }

    /// The effect a tool asked for (hang up, transfer), to apply after the call.
    pub fn take_effect(&mut self) -> Option<CallEffect> {
        self.tools.take_effect()
    }

    /// What the call measured and said.
    pub fn finish(mut self) -> Outcome {
        self.outcome.reason = self.phase.end_reason().unwrap_or_default();
        self.outcome.conversation = self.conversation;
        (self.outcome.turn_latencies, self.outcome.tool_timings) = self.latency.take();
        self.outcome
    }

    // ---- Latency ------------------------------------------------------------------------

    /// Caller audio (`bytes` of μ-law, arrived `now`) given to the engine's session, sent now
    /// or queued for it: the clock its speech-end positions are mapped through.
    pub fn caller_audio(&mut self, bytes: usize, now: Instant) {
        self.latency.caller_audio(bytes, now);
    }

    /// Whether a reply's first audio went out and [`CallCore::first_audio_sent`] is due.
    pub fn first_audio_due(&self) -> bool {
        self.latency.first_audio_due()
    }

    /// The reply's first audio frame left for Twilio at `sent`: its turn's latency is stored.
    pub fn first_audio_sent(&mut self, sent: Instant) {
        if let Some(turn) = self.latency.first_audio_sent(sent) {
            self.actions.push(Action::RecordLatency(turn));
        }
    }

    // ---- Twilio -------------------------------------------------------------------------

    /// Twilio echoed a mark.
    pub fn twilio_mark(&mut self, name: &str) {
        self.playback.mark_played(name);
        self.end_if_goodbye_finished();
    }

    /// The caller pressed a key (a Twilio `dtmf` message): collected until the entry is
    /// complete, then given to the engine as the caller's words with a reply asked for.
    pub fn caller_pressed(&mut self, key: Key, now: Instant, wall: OffsetDateTime) {
        self.last_activity = now;
        if let Some(keys) = self.keypad.press(key, &self.config.keypad, now) {
            self.keypad_entry(&keys, wall);
        }
    }

    /// The keypad timer fired: the entry is complete if the caller stopped typing.
    pub fn keypad_timer(&mut self, now: Instant, wall: OffsetDateTime) {
        if let Some(keys) = self.keypad.timer(now) {
            self.keypad_entry(&keys, wall);
        }
    }

    /// The caller hung up (`stop`, or Twilio's socket closed).
    pub fn caller_hung_up(&mut self) {
        self.end(EndReason::CallerHungUp);
    }

    // ---- Timers and tools ----------------------------------------------------------------

    /// A timer fired.
    pub fn timer(&mut self, timer: Timer, now: Instant) {
        match timer {
            Timer::SessionSetup => {
                if matches!(self.phase, Phase::Configuring { deadline } if deadline <= now) {
                    tracing::error!(timeout = ?self.config.session_timeout, "the engine did not confirm the session in time");
                    self.end(EndReason::SessionNotConfigured);
                }
            }
            Timer::MaxDuration => self.begin_goodbye(EndReason::MaxDuration, now),
            Timer::Drain => self.begin_goodbye(EndReason::Drain, now),
            Timer::GoodbyeGrace => {
                if let Phase::Ending {
                    reason, deadline, ..
                } = self.phase
                    && deadline <= now
                {
                    self.end(reason);
                }
            }
        }
    }

    /// The idle timer fired: returns when to check again, or `None` when the caller has been
    /// silent too long and the goodbye has begun.
    pub fn idle_check(&mut self, now: Instant) -> Option<Instant> {
        let idle = self.config.idle_timeout;
        let due = self.last_activity + idle;
        if due > now {
            return Some(due);
        }
        if self.playback.has_unplayed_audio() || self.phase.ending() {
            // Still talking (or already leaving): not silence.
            self.last_activity = now;
            return Some(now + idle);
        }
        self.begin_goodbye(EndReason::Idle, now);
        None
    }

    /// A tool of `turn` is still running after a while: a "one moment", once per turn.
    pub fn tool_slow(&mut self, turn: &str) {
        if self.phase.ending() || !self.tools.notice_due(turn) {
            return;
        }
        tracing::info!("tool is slow; telling the caller to hold on");
        self.say(Purpose::ToolWait, None);
    }

    /// A tool of `turn` finished.
    pub fn tool_done(
        &mut self,
        turn: &str,
        call_id: String,
        mut outcome: ToolOutcome,
        now: Instant,
    ) {
        self.latency.tool_finished(&call_id, outcome.is_error, now);
        // Keys are pressed now, not after the call: they are not the turn's effect.
        let press = match outcome.effect.take() {
            Some(CallEffect::PressKeys(keys)) => Some(keys),
            other => {
                outcome.effect = other;
                None
            }
        };
        let turn_complete = match self.tools.answered(turn, outcome.effect.clone()) {
            Answered::Unknown => {
                tracing::warn!(%call_id, "tool output dropped: its session is gone");
                return;
            }
            Answered::Pending => false,
            Answered::TurnComplete => true,
        };
        if let Some(keys) = press
            && !self.phase.ending()
        {
            tracing::info!(keys = keys.presses().len(), "pressing keys on the call");
            self.actions.push(Action::PressKeys(keys));
        }
        let output = if outcome.result.is_object() {
            outcome.result
        } else {
            json!({"result": outcome.result})
        };
        self.actions.push(Action::Engine(EngineCommand::ToolOutput {
            call_id,
            output,
        }));
        if turn_complete {
            self.follow_up(now);
        }
    }

    // ---- Inside ---------------------------------------------------------------------------

    fn configure(&mut self, now: Instant, history: Vec<(Role, String)>) {
        self.phase = Phase::Configuring {
            deadline: now + self.config.session_timeout,
        };
        self.actions.push(Action::Engine(EngineCommand::Configure {
            instructions: self.instructions.clone(),
            history,
        }));
    }

    /// One response after all outputs; if a tool asked to end or transfer the call, that
    /// response is the last words, and the call ends once they have played.
    fn follow_up(&mut self, now: Instant) {
        let reason = match self.tools.effect() {
            None => {
                self.say(Purpose::FollowUp, None);
                return;
            }
            Some(CallEffect::EndCall) => EndReason::AssistantHungUp,
            Some(CallEffect::Transfer(_)) => EndReason::Transferred,
            Some(CallEffect::PressKeys(_)) => {
                // Never kept as the turn's effect (played at once by `tool_done`).
                self.say(Purpose::FollowUp, None);
                return;
            }
        };
        self.phase = Phase::Ending {
            reason,
            deadline: now + GOODBYE_GRACE,
            said: false,
        };
        self.say(Purpose::Goodbye, None);
    }

    fn begin_goodbye(&mut self, reason: EndReason, now: Instant) {
        if self.phase.ending() {
            return;
        }
        if !matches!(self.phase, Phase::Talking) {
            // Nothing can be said on a session that is not configured (or not there).
            tracing::info!(?reason, "ending the call without a goodbye: no session");
            self.end(reason);
            return;
        }
        tracing::info!(?reason, "ending the call with a goodbye");
        self.phase = Phase::Ending {
            reason,
            deadline: now + GOODBYE_GRACE,
            said: false,
        };
        self.say(Purpose::Goodbye, reason.goodbye_words().map(str::to_owned));
    }

    fn say(&mut self, purpose: Purpose, instructions: Option<String>) {
        self.actions.push(Action::Engine(EngineCommand::Say {
            purpose,
            instructions,
        }));
    }

    fn end_if_goodbye_finished(&mut self) {
        if let Some(reason) = self
            .phase
            .goodbye_finished(self.playback.has_unplayed_audio())
        {
            self.end(reason);
        }
    }

    fn end(&mut self, reason: EndReason) {
        if matches!(self.phase, Phase::Ended(_)) {
            return;
        }
        self.phase = Phase::Ended(reason);
        self.actions.push(Action::End(reason));
    }

    /// A complete keypad entry: stored as the caller's turn and given to the engine as their
    /// words, with a reply asked for. Without a session to hear it, it is dropped (the caller
    /// can press again once the assistant speaks).
    fn keypad_entry(&mut self, keys: &[Key], wall: OffsetDateTime) {
        if !matches!(self.phase, Phase::Talking) {
            tracing::warn!(
                keys = keys.len(),
                phase = ?self.phase,
                "keypad entry dropped: no session to hear it"
            );
            return;
        }
        tracing::info!(keys = keys.len(), "keypad entry complete");
        self.record(Role::Caller, keypad::transcript_text(keys), false, wall);
        self.actions.push(Action::Engine(EngineCommand::CallerText {
            text: keypad::entry_text(keys),
        }));
    }

    fn record(&mut self, role: Role, text: String, interrupted: bool, wall: OffsetDateTime) {
        if text.trim().is_empty() {
            return;
        }
        let mut turn = Turn::new(self.next_turn, role, &text, wall);
        turn.interrupted = interrupted;
        self.next_turn += 1;
        self.conversation.push((role, turn.text.clone()));
        self.actions.push(Action::Record(turn));
    }

    /// Whether the model cost so far has reached `MAX_CALL_COST_USD`.
    fn over_cost_limit(&self) -> bool {
        let Some(cap) = self.config.max_cost_nano_usd else {
            return false;
        };
        self.config
            .prices
            .cost(&self.outcome.model, &self.outcome.usage)
            .is_some_and(|cost| cost.input_nano_usd + cost.output_nano_usd >= cap)
    }
}

#[cfg(test)]
mod keypad_tests;
#[cfg(test)]
mod tests;
