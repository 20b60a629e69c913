//! Per-turn latency (docs/observability.md, "Latency"): from the end of the caller's speech to
//! the first assistant audio of the reply sent to Twilio, split into model, tool and transport
//! time; and each tool's run, for tracing.
//!
//! **Where the speech ended.** The engine says where on the session's input audio the caller
//! stopped (Realtime: `speech_stopped.audio_end_ms`, milliseconds of the audio appended to the
//! session). That position is mapped onto the call's clock through the caller audio the
//! bridge appended: the newest frame arrived at `last_input_at` and ended at position
//! `input_ms`, so position `p` arrived `input_ms − p` earlier (Twilio's frames arrive in real
//! time). An engine that reports no position (GPT-Live, see [`LatencyTracker::speech_ended`])
//! gets the instant its event arrived.
//!
//! **Tool time** is the time in which at least one tool of the turn was running, before the
//! first audio: tools of one turn run in parallel, and a sum would count their overlap twice.
//!
//! Pure state, no I/O: instants in, [`TurnLatency`] rows out.

use phone_core::TurnLatency;
use time::OffsetDateTime;
use tokio::time::Instant;

/// Most turns and tool runs kept per call (for the metric line and the trace; the rows are
/// stored as they come).
pub const MAX_KEPT: usize = 256;

/// μ-law at 8 kHz.
const INPUT_BYTES_PER_MS: u64 = 8;

/// One tool's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolTiming {
    /// The model's id for the call.
    pub call_id: String,
    /// The tool.
    pub name: String,
    /// The latency turn it ran in (`None`: the caller had not spoken yet).
    pub turn: Option<u32>,
    /// When it started.
    pub started_at: OffsetDateTime,
    /// When it finished (`None`: it never did, the call ended first).
    pub ended_at: Option<OffsetDateTime>,
    /// Whether it failed.
    pub is_error: bool,
}

/// A turn waiting for its first audio.
#[derive(Debug, Clone, Copy)]
struct Pending {
    speech_ended: Instant,
    /// Tool time already closed in this turn.
    tool_ms: u64,
    /// When the reply's first audio arrived from the engine (set once).
    first_received: Option<Instant>,
}

/// The latency bookkeeping of one call.
#[derive(Debug, Default)]
pub struct LatencyTracker {
    /// Instant ↔ wall clock, taken once; every timestamp is derived from it so that the
    /// turn's times stay ordered whatever the wall clock does.
    anchor: Option<(Instant, OffsetDateTime)>,
    input_bytes: u64,
    last_input_at: Option<Instant>,
    pending: Option<Pending>,
    tools_running: usize,
    tools_busy_since: Option<Instant>,
    next_index: u32,
    turns: Vec<TurnLatency>,
    tools: Vec<ToolTiming>,
}

impl LatencyTracker {
    /// Ties the call's monotonic clock to the wall clock (`now` and `wall` are the same
    /// moment), once: the first engine event does, before any speech or audio.
    pub fn anchor(&mut self, now: Instant, wall: OffsetDateTime) {
        if self.anchor.is_none() {
            self.anchor = Some((now, wall));
        }
    }

    /// Caller audio (`bytes` of μ-law) given to the current session, arrived at `now` (sent
    /// now, or queued and flushed to the session once it is ready).
    pub fn caller_audio(&mut self, bytes: usize, now: Instant) {
        self.input_bytes += bytes as u64;
        self.last_input_at = Some(now);
    }

    /// The engine's session was replaced: its input audio starts again at 0, and a reply to
    /// speech the old session heard will not come.
    pub fn session_replaced(&mut self) {
        self.input_bytes = 0;
        self.last_input_at = None;
        self.pending = None;
    }

    /// The caller stopped speaking, by the engine's event arriving at `now` (the engine gave
    /// no position on its input audio; [`LatencyTracker::speech_ended_at_input`] refines it).
    pub fn speech_ended(&mut self, now: Instant) {
        self.pending = Some(Pending {
            speech_ended: now,
            tool_ms: 0,
            first_received: None,
        });
        if self.tools_running > 0 {
            // Only the tool time after the speech counts for this turn.
            self.tools_busy_since = Some(now);
        }
    }

    /// The caller's speech ended at `input_ms` of the session's input audio; `now` is when the
    /// engine said so. Mapped through the newest caller frame; never after `now`.
    pub fn speech_ended_at_input(&mut self, input_ms: u64, now: Instant) {
        let at = match self.last_input_at {
            Some(last) => {
                let appended_ms = self.input_bytes / INPUT_BYTES_PER_MS;
                let behind = std::time::Duration::from_millis(appended_ms.saturating_sub(input_ms));
                last.checked_sub(behind).unwrap_or(last).min(now)
            }
            None => now,
        };
        self.speech_ended(at);
    }

    /// Tools started at `now`: `calls` are `(call_id, name)`.
    pub fn tools_started(&mut self, calls: &[(String, String)], now: Instant) {
        if calls.is_empty() {
            return;
        }
        if self.tools_running == 0 {
            self.tools_busy_since = Some(now);
        }
        self.tools_running += calls.len();
        // The turn waiting for its reply, else the one whose reply has begun (a preamble).
        let turn = match self.pending {
            Some(_) => Some(self.next_index),
            None => self.next_index.checked_sub(1),
        };
        let started_at = self.wall(now);
        for (call_id, name) in calls {
            if self.tools.len() < MAX_KEPT {
                self.tools.push(ToolTiming {
                    call_id: call_id.clone(),
                    name: name.clone(),
                    turn,
                    started_at,
                    ended_at: None,
                    is_error: false,
                });
            }
        }
    }

    /// A tool finished at `now`.
    pub fn tool_finished(&mut self, call_id: &str, is_error: bool, now: Instant) {
        let ended_at = self.wall(now);
        if let Some(tool) = self
            .tools
            .iter_mut()
            .rev()
            .find(|t| t.call_id == call_id && t.ended_at.is_none())
        {
            tool.ended_at = Some(ended_at);
            tool.is_error = is_error;
        }
        if self.tools_running == 0 {
            return;
        }
        self.tools_running -= 1;
        if self.tools_running == 0
            && let Some(since) = self.tools_busy_since.take()
            && let Some(pending) = &mut self.pending
            && pending.first_received.is_none()
        {
            pending.tool_ms += millis(now.saturating_duration_since(since));
        }
    }

    /// Assistant audio arrived from the engine at `received` and goes to Twilio: whether it is
    /// the first of a reply ([`LatencyTracker::first_audio_sent`] is then due).
    pub fn audio_received(&mut self, received: Instant) -> bool {
        match &mut self.pending {
            Some(pending) if pending.first_received.is_none() => {
                pending.first_received = Some(received);
                true
            }
            _ => false,
        }
    }

    /// Whether a reply's first audio was received and not yet reported sent.
    pub fn first_audio_due(&self) -> bool {
        self.pending.is_some_and(|p| p.first_received.is_some())
    }

    /// The reply's first audio left for Twilio at `sent`: the turn's latency, to store.
    pub fn first_audio_sent(&mut self, sent: Instant) -> Option<TurnLatency> {
        let pending = self.pending.take()?;
        let received = pending.first_received?;
        let mut tool_ms = pending.tool_ms;
        if self.tools_running > 0
            && let Some(since) = self.tools_busy_since
        {
            // A "one moment" spoken while the tool runs is what the caller hears first.
            tool_ms += millis(received.saturating_duration_since(since));
            self.tools_busy_since = Some(received);
        }
        let total_ms = millis(sent.saturating_duration_since(pending.speech_ended));
        let transport_ms = millis(sent.saturating_duration_since(received));
        let engine_ms = millis(received.saturating_duration_since(pending.speech_ended));
        let turn = TurnLatency {
            index: self.next_index,
            speech_ended_at: self.wall(pending.speech_ended),
            first_audio_at: self.wall(sent),
            total_ms,
            model_ms: engine_ms.saturating_sub(tool_ms),
            tool_ms: tool_ms.min(engine_ms),
            transport_ms,
        };
        self.next_index += 1;
        if self.turns.len() < MAX_KEPT {
            self.turns.push(turn.clone());
        }
        Some(turn)
    }

    /// The turns measured (at most [`MAX_KEPT`]).
    pub fn turns(&self) -> &[TurnLatency] {
        &self.turns
    }

    /// Takes the turns and tool runs measured, at the end of the call.
    pub fn take(&mut self) -> (Vec<TurnLatency>, Vec<ToolTiming>) {
        (
            std::mem::take(&mut self.turns),
            std::mem::take(&mut self.tools),
        )
    }

    fn wall(&self, at: Instant) -> OffsetDateTime {
        let Some((origin, wall)) = self.anchor else {
            return OffsetDateTime::UNIX_EPOCH;
        };
        if at >= origin {
            wall + at.duration_since(origin)
        } else {
            wall - origin.duration_since(at)
        }
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn tracker() -> (LatencyTracker, Instant) {
        let t0 = Instant::now();
        let mut l = LatencyTracker::default();
        l.anchor(
            t0,
            OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap(),
        );
        (l, t0)
    }

    #[test]
    fn a_plain_turn_splits_into_model_and_transport() {
        let (mut l, t0) = tracker();
        // 1 s of caller audio arrived by t0+1000; the engine says speech ended at 800 ms.
        for i in 1..=50 {
            l.caller_audio(160, t0 + ms(i * 20));
        }
        l.speech_ended_at_input(800, t0 + ms(1300));
        assert!(!l.first_audio_due());
        assert!(l.audio_received(t0 + ms(1500)));
        assert!(!l.audio_received(t0 + ms(1520)), "only the first audio");
        let turn = l.first_audio_sent(t0 + ms(1502)).unwrap();
        assert_eq!(turn.index, 0);
        assert_eq!(
            turn.total_ms, 702,
            "from 800 ms of input audio, heard at t0+800"
        );
        assert_eq!(turn.model_ms, 700);
        assert_eq!(turn.tool_ms, 0);
        assert_eq!(turn.transport_ms, 2);
        assert_eq!(
            turn.first_audio_at - turn.speech_ended_at,
            time::Duration::milliseconds(702)
        );
        assert_eq!(l.first_audio_sent(t0 + ms(1600)), None, "one row per turn");
    }

    #[test]
    fn tool_time_is_taken_out_of_the_model_time() {
        let (mut l, t0) = tracker();
        l.speech_ended(t0);
        l.tools_started(
            &[
                ("c1".into(), "list_events".into()),
                ("c2".into(), "create_event".into()),
            ],
            t0 + ms(400),
        );
        l.tool_finished("c1", false, t0 + ms(600));
        l.tool_finished("c2", true, t0 + ms(900));
        l.audio_received(t0 + ms(1200));
        let turn = l.first_audio_sent(t0 + ms(1201)).unwrap();
        assert_eq!(turn.tool_ms, 500, "the two tools overlapped: 400..900");
        assert_eq!(turn.model_ms, 700);
        assert_eq!(
            turn.total_ms,
            turn.model_ms + turn.tool_ms + turn.transport_ms
        );
        let (_, tools) = l.take();
        assert_eq!(tools.len(), 2);
        assert_eq!(tools[1].turn, Some(0));
        assert!(tools[1].is_error && !tools[0].is_error);
        assert!(tools.iter().all(|t| t.ended_at > Some(t.started_at)));
    }

    #[test]
    fn a_notice_during_a_tool_ends_the_wait() {
        let (mut l, t0) = tracker();
        l.speech_ended(t0);
        l.tools_started(&[("c1".into(), "slow".into())], t0 + ms(300));
        l.audio_received(t0 + ms(2800));
        let turn = l.first_audio_sent(t0 + ms(2800)).unwrap();
        assert_eq!(turn.tool_ms, 2500);
        assert_eq!(turn.model_ms, 300);
        // The tool ends after: the next turn does not inherit its time.
        l.tool_finished("c1", false, t0 + ms(4000));
        l.speech_ended(t0 + ms(5000));
        l.audio_received(t0 + ms(5500));
        assert_eq!(l.first_audio_sent(t0 + ms(5500)).unwrap().tool_ms, 0);
    }

    #[test]
    fn audio_without_speech_is_no_turn_and_a_replaced_session_forgets() {
        let (mut l, t0) = tracker();
        assert!(!l.audio_received(t0), "the greeting answers no speech");
        l.caller_audio(1600, t0 + ms(200));
        l.speech_ended_at_input(100, t0 + ms(300));
        l.session_replaced();
        assert!(!l.audio_received(t0 + ms(400)));
        assert!(l.turns().is_empty());
    }

    #[test]
    fn a_speech_end_is_never_placed_after_the_event() {
        let (mut l, t0) = tracker();
        l.caller_audio(160, t0 + ms(20));
        // A position past the audio appended (it cannot be): clamped to the newest frame.
        l.speech_ended_at_input(5_000, t0 + ms(10));
        l.audio_received(t0 + ms(30));
        let turn = l.first_audio_sent(t0 + ms(30)).unwrap();
        assert_eq!(turn.total_ms, 20);
    }
}
