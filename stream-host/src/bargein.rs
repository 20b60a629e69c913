//! Barge-in bookkeeping (PROTOCOLS.md §2.6): how much assistant audio was sent and how much
//! Twilio has played, so that when the caller interrupts, the model is told exactly what was
//! heard (`conversation.item.truncate`) and audio still queued is dropped (`clear`).
//!
//! Pure state, no I/O: the call loop feeds it events and sends what it returns.

/// What to do when the caller starts speaking over the assistant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interruption {
    /// The assistant item being played.
    pub item_id: String,
    /// Its content part.
    pub content_index: u32,
    /// Milliseconds of it the caller heard.
    pub audio_end_ms: u64,
    /// Whether a response was still generating (worth a `response.cancel`).
    pub response_active: bool,
}

/// Playback state of one call.
#[derive(Debug, Default)]
pub struct Playback {
    item_id: Option<String>,
    content_index: u32,
    sent_ms: u64,
    played_ms: u64,
    generation: u64,
    mark_seq: u64,
    marked_ms: u64,
    active_response: Option<String>,
    cancelled: Vec<String>,
}

/// Bytes of μ-law per millisecond at 8 kHz.
const BYTES_PER_MS: u64 = 8;

/// A mark is sent once at least this much audio has gone out since the last one (and at the
/// end of each item). One mark per delta would double the messages to Twilio for little
/// precision: a truncate lands within this much of what was heard, and the model is told the
/// caller heard slightly less, never more.
pub const MARK_EVERY_MS: u64 = 100;

/// How many cancelled response ids to remember (late deltas arrive within a second).
const CANCELLED_KEPT: usize = 8;

impl Playback {
    /// A response started generating.
    pub fn response_started(&mut self, response_id: &str) {
        self.active_response = Some(response_id.to_owned());
    }

    /// A response finished (any status).
    pub fn response_finished(&mut self, response_id: &str) {
        if self.active_response.as_deref() == Some(response_id) {
            self.active_response = None;
        }
    }

    /// Whether deltas of this response must be dropped (it was interrupted).
    pub fn is_cancelled(&self, response_id: &str) -> bool {
        self.cancelled.iter().any(|r| r == response_id)
    }

    /// Records `audio_bytes` of μ-law sent to Twilio for `item_id`. Returns the name of a mark
    /// to send after it, `{item}:{sent_ms}:g{generation}:m{seq}`, when [`MARK_EVERY_MS`] of
    /// audio has gone out since the last mark.
    pub fn audio_sent(
        &mut self,
        item_id: &str,
        content_index: u32,
        audio_bytes: usize,
    ) -> Option<String> {
        if self.item_id.as_deref() != Some(item_id) || self.content_index != content_index {
            self.item_id = Some(item_id.to_owned());
            self.content_index = content_index;
            self.sent_ms = 0;
            self.played_ms = 0;
            self.marked_ms = 0;
        }
        self.sent_ms += audio_bytes as u64 / BYTES_PER_MS;
        (self.sent_ms - self.marked_ms >= MARK_EVERY_MS).then(|| self.mark())
    }

    /// All audio of `item_id` has been sent: the mark for whatever is not marked yet.
    pub fn audio_done(&mut self, item_id: &str) -> Option<String> {
        (self.item_id.as_deref() == Some(item_id) && self.sent_ms > self.marked_ms)
            .then(|| self.mark())
    }

    fn mark(&mut self) -> String {
        self.mark_seq += 1;
        self.marked_ms = self.sent_ms;
        let item = self.item_id.as_deref().unwrap_or_default();
        format!(
            "{item}:{}:g{}:m{}",
            self.sent_ms, self.generation, self.mark_seq
        )
    }

    /// Twilio echoed a mark: the audio before it has played. Marks of an earlier generation
    /// (echoed by a `clear`) or of another item are ignored.
    pub fn mark_played(&mut self, name: &str) {
        let mut parts = name.rsplitn(4, ':');
        let (Some(_seq), Some(generation), Some(sent), Some(item)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return;
        };
        let current = format!("g{}", self.generation);
        if generation != current || self.item_id.as_deref() != Some(item) {
            return;
        }
        if let Ok(ms) = sent.parse::<u64>() {
            self.played_ms = self.played_ms.max(ms);
        }
    }

    /// Whether assistant audio is still queued at Twilio, unplayed.
    pub fn has_unplayed_audio(&self) -> bool {
        self.item_id.is_some() && self.played_ms < self.sent_ms
    }

    /// The caller started speaking. If the assistant was talking (audio unplayed or a response
    /// generating), returns what to truncate; the caller must send `clear` and the truncate.
    /// Marks echoed afterwards belong to the old generation and are ignored.
    pub fn caller_started_speaking(&mut self) -> Option<Interruption> {
        let response_active = self.active_response.is_some();
        if !self.has_unplayed_audio() && !response_active {
            return None;
        }
        if let Some(id) = self.active_response.take() {
            if self.cancelled.len() == CANCELLED_KEPT {
                self.cancelled.remove(0);
            }
            self.cancelled.push(id);
        }
        self.generation += 1;
        let item_id = self.item_id.take()?;
        // Twilio reports marks a little late; 50 ms of slack, never beyond what was generated.
        let audio_end_ms = self.sent_ms.min(self.played_ms + 50);
        self.sent_ms = 0;
        self.played_ms = 0;
        Some(Interruption {
            item_id,
            content_index: self.content_index,
            audio_end_ms,
            response_active,
        })
    }

    /// The item currently playing and how much was sent, for the goodbye wait.
    pub fn last_mark_pending(&self) -> bool {
        self.has_unplayed_audio()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_is_at_played_audio_plus_slack_clamped_to_sent() {
        let mut p = Playback::default();
        p.response_started("r1");
        let m1 = p.audio_sent("item_a", 0, 1600).unwrap(); // 200 ms
        let _m2 = p.audio_sent("item_a", 0, 1600).unwrap(); // 400 ms
        p.mark_played(&m1);
        let cut = p.caller_started_speaking().unwrap();
        assert_eq!(
            cut,
            Interruption {
                item_id: "item_a".into(),
                content_index: 0,
                audio_end_ms: 250,
                response_active: true
            }
        );
        assert!(p.is_cancelled("r1"));

        let mut p = Playback::default();
        assert_eq!(p.audio_sent("item_b", 0, 80), None, "10 ms: no mark yet");
        p.mark_played("item_b:5:g0:m0");
        assert_eq!(
            p.caller_started_speaking().unwrap().audio_end_ms,
            10,
            "never beyond what was sent"
        );
    }

    #[test]
    fn marks_come_every_hundred_ms_of_audio() {
        let mut p = Playback::default();
        let marks: Vec<Option<String>> = (0..10).map(|_| p.audio_sent("item_a", 0, 160)).collect();
        let names: Vec<&str> = marks.iter().flatten().map(String::as_str).collect();
        assert_eq!(names, ["item_a:100:g0:m1", "item_a:200:g0:m2"]);
    }

    #[test]
    fn marks_of_an_old_generation_are_ignored() {
        let mut p = Playback::default();
        let old = p.audio_sent("item_a", 0, 800).unwrap();
        p.response_started("r1");
        p.caller_started_speaking().unwrap();
        p.audio_sent("item_b", 0, 800);
        p.mark_played(&old);
        assert!(
            p.has_unplayed_audio(),
            "the echoed old mark must not count for the new item"
        );
        p.mark_played("garbage");
        p.mark_played("a:b:c:d");
    }

    #[test]
    fn silence_from_the_assistant_is_not_an_interruption() {
        let mut p = Playback::default();
        assert_eq!(p.caller_started_speaking(), None);
        assert_eq!(p.audio_sent("item_a", 0, 160), None);
        let m = p.audio_done("item_a").unwrap();
        assert_eq!(p.audio_done("item_a"), None, "one mark for the tail");
        p.mark_played(&m);
        assert_eq!(
            p.caller_started_speaking(),
            None,
            "everything sent was played"
        );
    }
}
