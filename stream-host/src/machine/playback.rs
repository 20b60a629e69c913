//! Barge-in bookkeeping (PROTOCOLS.md §2.6): how much assistant audio was sent and how much
//! Twilio has played, so that when the caller interrupts, the model is told exactly what was
//! heard (`conversation.item.truncate`) and audio still queued is dropped (`clear`).
//!
//! Twilio plays what it is sent in order, and audio of two items can be queued there at once
//! (a "let me check" preamble still playing while the tool's answer streams in). So playback
//! is a FIFO of items in the order their first audio was sent: the front item is the one the
//! caller hears; a mark echoed for a later item means every item before it has played out.
//! On barge-in the front item is truncated where the caller stopped hearing it, and the items
//! queued behind it, never heard, are truncated to nothing.
//!
//! Pure state, no I/O: the call loop feeds it events and sends what it returns.

use std::collections::VecDeque;

/// One item to truncate after an interruption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// The assistant item.
    pub item_id: String,
    /// Its content part.
    pub content_index: u32,
    /// Milliseconds of it the caller heard.
    pub audio_end_ms: u64,
}

/// Audio sent to Twilio for one assistant item.
#[derive(Debug)]
struct Queued {
    item_id: String,
    content_index: u32,
    response_id: String,
    /// Out-of-band items (the "one moment" notice) are not in the conversation: there is
    /// nothing to truncate, only audio to clear.
    in_conversation: bool,
    sent_ms: u64,
    played_ms: u64,
    marked_ms: u64,
    /// `response.output_audio.done` came: no more audio will be added.
    complete: bool,
}

/// One audio delta as it goes to Twilio.
#[derive(Debug, Clone, Copy)]
pub struct AudioOut<'a> {
    /// The response it belongs to.
    pub response_id: &'a str,
    /// The assistant item.
    pub item_id: &'a str,
    /// Its content part.
    pub content_index: u32,
    /// Bytes of μ-law.
    pub audio_bytes: usize,
    /// Whether the item is part of the conversation (not an out-of-band response).
    pub in_conversation: bool,
}

/// Playback state of one call.
#[derive(Debug)]
pub struct Playback {
    queue: VecDeque<Queued>,
    generation: u64,
    mark_seq: u64,
    cancelled: VecDeque<String>,
    mark_every_ms: u64,
}

impl Default for Playback {
    fn default() -> Self {
        Self::new(MARK_EVERY_MS)
    }
}

/// Bytes of μ-law per millisecond at 8 kHz.
const BYTES_PER_MS: u64 = 8;

/// By default, a mark is sent once at least this much audio has gone out since the last one
/// (and at the end of each item). One mark per delta would double the messages to Twilio for little
/// precision: a truncate lands within this much of what was heard, and the model is told the
/// caller heard slightly less, never more.
pub const MARK_EVERY_MS: u64 = 100;

/// How many cancelled response ids to remember (late deltas arrive within a second).
const CANCELLED_KEPT: usize = 8;

/// Twilio reports marks a little late: the caller is assumed to have heard this much past the
/// last echoed mark (never beyond what was sent).
const MARK_SLACK_MS: u64 = 50;

impl Playback {
    /// Playback with a mark every `mark_every_ms` of audio.
    pub fn new(mark_every_ms: u64) -> Self {
        Self {
            queue: VecDeque::new(),
            generation: 0,
            mark_seq: 0,
            cancelled: VecDeque::new(),
            mark_every_ms: mark_every_ms.max(1),
        }
    }

    /// Milliseconds of audio between marks.
    pub fn mark_every_ms(&self) -> u64 {
        self.mark_every_ms
    }

    /// Whether deltas of this response must be dropped (its audio was cleared).
    pub fn is_cancelled(&self, response_id: &str) -> bool {
        self.cancelled.iter().any(|r| r == response_id)
    }

    /// Drops every later delta of this response (e.g. an out-of-band notice cancelled because
    /// the caller's own turn started a response) and forgets its queued audio.
    pub fn cancel_response(&mut self, response_id: &str) {
        self.queue.retain(|q| q.response_id != response_id);
        self.remember_cancelled(response_id);
    }

    fn remember_cancelled(&mut self, response_id: &str) {
        if self.is_cancelled(response_id) {
            return;
        }
        if self.cancelled.len() == CANCELLED_KEPT {
            self.cancelled.pop_front();
        }
        self.cancelled.push_back(response_id.to_owned());
    }

    /// Records audio sent to Twilio. Returns the name of a mark to send after it,
    /// `{item}:{sent_ms}:g{generation}:m{seq}`, when the mark interval's worth of the item's
    /// audio has gone out since its last mark.
    pub fn audio_sent(&mut self, out: AudioOut<'_>) -> Option<String> {
        let position = self
            .queue
            .iter()
            .rposition(|q| q.item_id == out.item_id && q.content_index == out.content_index);
        let index = match position {
            Some(index) => index,
            None => {
                self.queue.push_back(Queued {
                    item_id: out.item_id.to_owned(),
                    content_index: out.content_index,
                    response_id: out.response_id.to_owned(),
                    in_conversation: out.in_conversation,
                    sent_ms: 0,
                    played_ms: 0,
                    marked_ms: 0,
                    complete: false,
                });
                self.queue.len() - 1
            }
        };
        let entry = &mut self.queue[index];
        entry.sent_ms += out.audio_bytes as u64 / BYTES_PER_MS;
        (entry.sent_ms - entry.marked_ms >= self.mark_every_ms).then(|| self.mark(index))
    }

    /// All audio of `item_id` has been sent: the mark for whatever is not marked yet.
    pub fn audio_done(&mut self, item_id: &str) -> Option<String> {
        let index = self.queue.iter().rposition(|q| q.item_id == item_id)?;
        let entry = &mut self.queue[index];
        entry.complete = true;
        (entry.sent_ms > entry.marked_ms).then(|| self.mark(index))
    }

    fn mark(&mut self, index: usize) -> String {
        self.mark_seq += 1;
        let entry = &mut self.queue[index];
        entry.marked_ms = entry.sent_ms;
        format!(
            "{}:{}:g{}:m{}",
            entry.item_id, entry.sent_ms, self.generation, self.mark_seq
        )
    }

    /// Twilio echoed a mark: the audio before it has played, including every item queued
    /// before its item. Marks of an earlier generation (echoed by a `clear`) or of an item no
    /// longer queued are ignored.
    pub fn mark_played(&mut self, name: &str) {
        let mut parts = name.rsplitn(4, ':');
        let (Some(_seq), Some(generation), Some(sent), Some(item)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return;
        };
        let (Some(generation), Ok(ms)) = (
            generation
                .strip_prefix('g')
                .and_then(|g| g.parse::<u64>().ok()),
            sent.parse::<u64>(),
        ) else {
            return;
        };
        if generation != self.generation {
            return;
        }
        let Some(index) = self.queue.iter().position(|q| q.item_id == item) else {
            return;
        };
        self.queue.drain(..index);
        if let Some(front) = self.queue.front_mut() {
            front.played_ms = front.played_ms.max(ms);
            if front.complete && front.played_ms >= front.sent_ms {
                self.queue.pop_front();
            }
        }
    }

    /// Whether assistant audio is still queued at Twilio, unplayed.
    pub fn has_unplayed_audio(&self) -> bool {
        self.queue.iter().any(|q| q.played_ms < q.sent_ms)
    }

    /// The caller started speaking over queued audio: returns what to truncate (the item being
    /// heard at the point heard, the ones queued behind it at zero; out-of-band items need no
    /// truncate) and forgets the queue. `active` are the responses still generating: their late
    /// deltas are dropped from now on. The caller must send `clear` when this returns `Some`.
    /// Marks echoed afterwards belong to the old generation and are ignored.
    pub fn interrupt(&mut self, active: &[&str]) -> Option<Vec<Cut>> {
        if !self.has_unplayed_audio() && active.is_empty() {
            return None;
        }
        for id in active {
            self.remember_cancelled(id);
        }
        let queued: Vec<Queued> = self.queue.drain(..).collect();
        for q in &queued {
            if q.played_ms < q.sent_ms {
                self.remember_cancelled(&q.response_id);
            }
        }
        self.generation += 1;
        let cuts = queued
            .into_iter()
            .enumerate()
            .filter(|(_, q)| q.in_conversation && q.played_ms < q.sent_ms)
            .map(|(position, q)| Cut {
                audio_end_ms: if position == 0 {
                    q.sent_ms.min(q.played_ms + MARK_SLACK_MS)
                } else {
                    0
                },
                item_id: q.item_id,
                content_index: q.content_index,
            })
            .collect();
        Some(cuts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(response_id: &str, item_id: &str, audio_bytes: usize) -> AudioOut<'static> {
        AudioOut {
            response_id: Box::leak(response_id.to_owned().into_boxed_str()),
            item_id: Box::leak(item_id.to_owned().into_boxed_str()),
            content_index: 0,
            audio_bytes,
            in_conversation: true,
        }
    }

    #[test]
    fn truncate_is_at_played_audio_plus_slack_clamped_to_sent() {
        let mut p = Playback::default();
        let m1 = p.audio_sent(out("r1", "item_a", 1600)).unwrap(); // 200 ms
        let _m2 = p.audio_sent(out("r1", "item_a", 1600)).unwrap(); // 400 ms
        p.mark_played(&m1);
        let cuts = p.interrupt(&["r1"]).unwrap();
        assert_eq!(
            cuts,
            [Cut {
                item_id: "item_a".into(),
                content_index: 0,
                audio_end_ms: 250,
            }]
        );
        assert!(p.is_cancelled("r1"));

        let mut p = Playback::default();
        assert_eq!(
            p.audio_sent(out("r2", "item_b", 80)),
            None,
            "10 ms: no mark yet"
        );
        assert_eq!(
            p.interrupt(&[]).unwrap()[0].audio_end_ms,
            10,
            "never beyond what was sent"
        );
    }

    #[test]
    fn marks_come_every_hundred_ms_of_audio() {
        let mut p = Playback::default();
        let marks: Vec<Option<String>> = (0..10)
            .map(|_| p.audio_sent(out("r1", "item_a", 160)))
            .collect();
        let names: Vec<&str> = marks.iter().flatten().map(String::as_str).collect();
        assert_eq!(names, ["item_a:100:g0:m1", "item_a:200:g0:m2"]);
    }

    #[test]
    fn marks_of_an_old_generation_are_ignored() {
        let mut p = Playback::default();
        let old = p.audio_sent(out("r1", "item_a", 800)).unwrap();
        p.interrupt(&["r1"]).unwrap();
        p.audio_sent(out("r2", "item_b", 800));
        p.mark_played(&old);
        assert!(
            p.has_unplayed_audio(),
            "the echoed old mark must not count for the new item"
        );
        p.mark_played("garbage");
        p.mark_played("a:b:c:d");
        p.mark_played("item_b:x:g1:m1");
    }

    #[test]
    fn silence_from_the_assistant_is_not_an_interruption() {
        let mut p = Playback::default();
        assert_eq!(p.interrupt(&[]), None);
        assert_eq!(p.audio_sent(out("r1", "item_a", 160)), None);
        let m = p.audio_done("item_a").unwrap();
        assert_eq!(p.audio_done("item_a"), None, "one mark for the tail");
        p.mark_played(&m);
        assert_eq!(p.interrupt(&[]), None, "everything sent was played");
    }

    #[test]
    fn barge_in_truncates_the_item_playing_not_the_newest_one() {
        // A preamble (item_a, 600 ms) is still playing when the tool's answer (item_b) streams.
        let mut p = Playback::default();
        for _ in 0..6 {
            p.audio_sent(out("r1", "item_a", 800));
        }
        p.audio_done("item_a");
        let first_b = p.audio_sent(out("r2", "item_b", 800)).unwrap();
        p.audio_sent(out("r2", "item_b", 800));
        // Twilio has played 300 ms of item_a.
        p.mark_played("item_a:300:g0:m3");
        let cuts = p.interrupt(&["r2"]).unwrap();
        assert_eq!(
            cuts,
            [
                Cut {
                    item_id: "item_a".into(),
                    content_index: 0,
                    audio_end_ms: 350
                },
                Cut {
                    item_id: "item_b".into(),
                    content_index: 0,
                    audio_end_ms: 0
                },
            ],
            "the item heard is cut where the caller stopped hearing it; the one behind it was never heard"
        );
        assert!(p.is_cancelled("r2"));
        p.mark_played(&first_b);
        assert!(!p.has_unplayed_audio(), "the queue was cleared");
    }

    #[test]
    fn a_mark_of_a_later_item_means_the_earlier_ones_played_out() {
        let mut p = Playback::default();
        p.audio_sent(out("r1", "item_a", 800));
        p.audio_done("item_a");
        let b = p.audio_sent(out("r2", "item_b", 800)).unwrap();
        p.mark_played(&b);
        assert!(!p.has_unplayed_audio());
        let cuts = p.interrupt(&["r2"]).unwrap();
        assert!(cuts.is_empty(), "nothing unheard is left to truncate");
    }

    #[test]
    fn out_of_band_audio_is_cleared_but_never_truncated() {
        let mut p = Playback::default();
        let mut notice = out("r_notice", "item_n", 800);
        notice.in_conversation = false;
        p.audio_sent(notice);
        let cuts = p.interrupt(&[]).unwrap();
        assert!(cuts.is_empty());
        assert!(p.is_cancelled("r_notice"));
    }

    #[test]
    fn a_cancelled_response_leaves_the_queue() {
        let mut p = Playback::default();
        let mut notice = out("r_notice", "item_n", 800);
        notice.in_conversation = false;
        p.audio_sent(notice);
        p.cancel_response("r_notice");
        assert!(!p.has_unplayed_audio());
        assert!(p.is_cancelled("r_notice"));
    }
}
