//! Transcript deltas grouped into turns per speaker (PROTOCOLS-LIVE.md §A.7).
//!
//! GPT-Live sends transcript fragments with timeline times and never says where a turn ends.
//! This follows the policy of the SDK's `TranscriptGrouper`, with its defaults: a speaker's
//! fragments join one segment; another speaker's fragment ends it once it is at least
//! `min_turn_separation_ms` away; an assistant segment closes after `assistant_silence_ms` of
//! silence; a short assistant acknowledgment ("mhm", "okay") said over the caller is dropped as
//! a backchannel rather than splitting the caller's turn.
//!
//! It is pure: no clock, no I/O. Time is the session timeline, given by the caller to
//! [`TranscriptGrouper::advance`] (e.g. the latest transcript `end_ms`, or the output audio
//! forwarded so far), so a test can replay a call exactly.

mod grouping;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use crate::server::TranscriptDelta;
use grouping::{Fragment, Grouping};

/// Who is speaking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    /// The caller (`session.input_transcript.delta`).
    User,
    /// The assistant (`session.output_transcript.delta`).
    Assistant,
}

/// Why a segment was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentEnd {
    /// The other speaker took the turn.
    SpeakerChange,
    /// The assistant has been silent for `assistant_silence_ms`.
    Inactivity,
    /// The timeline went backwards (a new session).
    TimestampReset,
    /// The session closed.
    SessionClosed,
    /// The caller closed the grouper.
    Manual,
}

/// A display snapshot of one turn so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Local id, in order of first display.
    pub id: u64,
    /// The segment displayed before this one.
    pub previous_id: Option<u64>,
    /// Who.
    pub speaker: Speaker,
    /// Everything said in the turn so far.
    pub text: String,
    /// Timeline start, in milliseconds.
    pub start_ms: u64,
    /// Timeline end, in milliseconds.
    pub end_ms: u64,
}

/// A change to the grouped transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// A segment was opened or grew: replace its displayed text.
    Changed(Segment),
    /// A segment is final.
    Closed(Segment, SegmentEnd),
}

/// Timing thresholds, in milliseconds of session timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrouperOptions {
    /// A gap shorter than this between speakers is an overlap, not a new turn.
    pub min_turn_separation_ms: u64,
    /// Assistant silence that closes its segment.
    pub assistant_silence_ms: u64,
    /// An assistant fragment shorter than this can be a backchannel (0 disables dropping).
    pub backchannel_max_duration_ms: u64,
    /// How far a backchannel must be from other assistant speech.
    pub backchannel_isolation_ms: u64,
    /// Acknowledgments beyond the built-in ones, matched like them.
    pub additional_acknowledgments: Vec<String>,
}

impl Default for GrouperOptions {
    /// The SDK's defaults.
    fn default() -> Self {
        Self {
            min_turn_separation_ms: 500,
            assistant_silence_ms: 2000,
            backchannel_max_duration_ms: 1000,
            backchannel_isolation_ms: 2000,
            additional_acknowledgments: Vec::new(),
        }
    }
}

/// Event ids remembered to drop repeated deliveries; bounded so a long call stays small.
const SEEN_IDS: usize = 256;

/// Groups one session's transcript; use one per session.
#[derive(Debug)]
pub struct TranscriptGrouper {
    grouping: Grouping,
    seen: VecDeque<String>,
    /// Fragments with the same interval as the first, waiting for the other speaker's
    /// fragment of that interval, if any, so both are ordered together.
    pending: Vec<Fragment>,
    last_start_ms: Option<i64>,
    /// Latest timeline time seen in a fragment.
    latest_ms: i64,
    closed: bool,
}

impl Default for TranscriptGrouper {
    fn default() -> Self {
        Self::new(GrouperOptions::default())
    }
}

impl TranscriptGrouper {
    /// A grouper with these thresholds.
    pub fn new(options: GrouperOptions) -> Self {
        Self {
            grouping: Grouping::new(options),
            seen: VecDeque::new(),
            pending: Vec::new(),
            last_start_ms: None,
            latest_ms: 0,
            closed: false,
        }
    }

    /// Takes one transcript delta. Repeated deliveries (same `event_id`), empty text, an end
    /// before the start and anything after [`close`](Self::close) are ignored.
    pub fn push(&mut self, speaker: Speaker, delta: &TranscriptDelta) -> Vec<Update> {
        if self.closed || delta.end_ms < delta.start_ms {
            return Vec::new();
        }
        if let Some(id) = &delta.event_id {
            if self.seen.contains(id) {
                return Vec::new();
            }
            if self.seen.len() == SEEN_IDS {
                self.seen.pop_front();
            }
            self.seen.push_back(id.clone());
        }
        if delta.delta.is_empty() {
            return Vec::new();
        }
        let fragment = Fragment {
            speaker,
            text: delta.delta.clone(),
            start_ms: delta.start_ms as i64,
            end_ms: delta.end_ms as i64,
        };
        let mut updates = Vec::new();
        let same_interval = self.pending.first().is_some_and(|first| {
            first.start_ms == fragment.start_ms && first.end_ms == fragment.end_ms
        });
        if same_interval {
            self.pending.push(fragment);
            if self.pending.iter().any(|f| f.speaker != speaker) {
                updates.extend(self.flush_pending());
            }
        } else {
            updates.extend(self.flush_pending());
            if self.grouping.speaker() == Some(speaker) {
                updates.extend(self.commit(vec![fragment]));
            } else {
                self.pending.push(fragment);
            }
        }
        updates
    }

    /// Moves the timeline to `now_ms`: closes what has timed out (assistant silence, a
    /// separated turn change) and releases a fragment held for its interval.
    pub fn advance(&mut self, now_ms: u64) -> Vec<Update> {
        if self.closed {
            return Vec::new();
        }
        let mut updates = self.flush_pending();
        let now = now_ms as i64;
        // Each step changes what is due next; a handful covers every chain of the policy.
        for _ in 0..4 {
            match self.grouping.deadline() {
                Some(due) if due <= now => {
                    let step = self.grouping.advance(now, false);
                    if step.is_empty() {
                        break;
                    }
                    updates.extend(step);
                }
                _ => break,
            }
        }
        updates
    }

    /// When [`advance`](Self::advance) next has something to do, on the timeline.
    pub fn deadline_ms(&self) -> Option<u64> {
        if let Some(first) = self.pending.first() {
            return Some(first.end_ms.max(0) as u64);
        }
        self.grouping.deadline().map(|due| due.max(0) as u64)
    }

    /// Closes every open segment (at `session.closed`, or when the call ends). Later pushes
    /// are ignored.
    pub fn close(&mut self, now_ms: u64, reason: SegmentEnd) -> Vec<Update> {
        if self.closed {
            return Vec::new();
        }
        self.closed = true;
        let mut updates = self.flush_pending();
        let now = (now_ms as i64).max(self.latest_ms);
        updates.extend(self.grouping.close(now, reason));
        updates
    }

    fn flush_pending(&mut self) -> Vec<Update> {
        let pending = std::mem::take(&mut self.pending);
        self.commit(pending)
    }

    fn commit(&mut self, fragments: Vec<Fragment>) -> Vec<Update> {
        let Some(first) = fragments.first() else {
            return Vec::new();
        };
        let mut updates = Vec::new();
        if self.last_start_ms.is_some_and(|last| first.start_ms < last) {
            updates.extend(
                self.grouping
                    .close(self.latest_ms, SegmentEnd::TimestampReset),
            );
            self.latest_ms = 0;
        }
        self.last_start_ms = Some(first.start_ms);
        let end = fragments.iter().map(|f| f.end_ms).max().unwrap_or(0);
        self.latest_ms = self.latest_ms.max(end);
        updates.extend(self.grouping.process(fragments));
        updates
    }
}
