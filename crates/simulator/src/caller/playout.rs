//! Twilio's play-out buffer for the audio a bridge sends back: media is queued and played at
//! 8 bytes per millisecond; a mark is echoed once the audio queued before it has played (at
//! once if nothing is queued); `clear` drops the queue and echoes every pending mark
//! (PROTOCOLS.md §1.2–1.3).

use std::collections::VecDeque;

use crate::audio::mulaw;

/// The queue of audio and marks waiting to play.
#[derive(Debug, Default)]
pub struct Playout {
    audio: VecDeque<u8>,
    /// Marks with the number of queued bytes that must play before each is echoed, counted
    /// from the front of the queue.
    marks: VecDeque<(u64, String)>,
    /// Bytes played since the start.
    played: u64,
}

impl Playout {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues audio.
    pub fn push_audio(&mut self, bytes: &[u8]) {
        self.audio.extend(bytes);
    }

    /// Queues a mark; returns it at once if nothing is queued ahead of it.
    pub fn push_mark(&mut self, name: String) -> Option<String> {
        if self.audio.is_empty() && self.marks.is_empty() {
            return Some(name);
        }
        let at = self.played + self.audio.len() as u64;
        self.marks.push_back((at, name));
        None
    }

    /// Plays up to `len` bytes (one 20 ms frame is 160): returns what the caller hears, padded
    /// with silence when the queue runs dry, whether it was the assistant's voice (μ-law
    /// silence is not: GPT-Live sends a continuous track, silence between replies), and the
    /// marks now due.
    pub fn play(&mut self, len: usize) -> (Vec<u8>, bool, Vec<String>) {
        let take = len.min(self.audio.len());
        let mut heard: Vec<u8> = self.audio.drain(..take).collect();
        self.played += take as u64;
        let had_audio = heard.iter().any(|&b| b != mulaw::SILENCE && b != 0x7F);
        heard.resize(len, mulaw::SILENCE);
        let mut due = Vec::new();
        while let Some((at, _)) = self.marks.front() {
            if *at > self.played {
                break;
            }
            if let Some((_, name)) = self.marks.pop_front() {
                due.push(name);
            }
        }
        (heard, had_audio, due)
    }

    /// `clear`: drops queued audio; returns the dropped byte count and every pending mark.
    pub fn clear(&mut self) -> (usize, Vec<String>) {
        let dropped = self.audio.len();
        self.audio.clear();
        self.played += dropped as u64;
        (dropped, self.marks.drain(..).map(|(_, n)| n).collect())
    }

    /// Bytes waiting to play.
    pub fn queued(&self) -> usize {
        self.audio.len()
    }

    /// Whether a mark is still waiting for its audio to play.
    pub fn has_pending_marks(&self) -> bool {
        !self.marks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mark_is_echoed_after_the_audio_before_it_plays() {
        let mut p = Playout::new();
        p.push_audio(&[1; 300]);
        assert_eq!(p.push_mark("a".into()), None);
        p.push_audio(&[2; 100]);
        let (heard, had, due) = p.play(160);
        assert!(had && due.is_empty());
        assert_eq!(heard, vec![1; 160]);
        let (_, _, due) = p.play(160);
        assert_eq!(due, vec!["a".to_string()]);
        let (heard, _, _) = p.play(160);
        assert_eq!(&heard[..80], &[2; 80]);
        assert_eq!(heard[80], mulaw::SILENCE);
    }

    #[test]
    fn mark_with_nothing_queued_is_echoed_at_once() {
        let mut p = Playout::new();
        assert_eq!(p.push_mark("now".into()), Some("now".into()));
    }

    #[test]
    fn clear_drops_audio_and_echoes_every_pending_mark() {
        let mut p = Playout::new();
        p.push_audio(&[1; 800]);
        p.push_mark("m1".into());
        p.push_audio(&[1; 800]);
        p.push_mark("m2".into());
        p.play(160);
        let (dropped, marks) = p.clear();
        assert_eq!(dropped, 1440);
        assert_eq!(marks, vec!["m1".to_string(), "m2".to_string()]);
        let (heard, had, due) = p.play(160);
        assert!(!had && due.is_empty());
        assert!(heard.iter().all(|&b| b == mulaw::SILENCE));
    }
}
