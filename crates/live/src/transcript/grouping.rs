//! The grouping policy itself: turns, the buffered other-speaker fragment, backchannels. Times
//! are signed milliseconds so gaps between overlapping fragments can be negative.

use super::{GrouperOptions, Segment, SegmentEnd, Speaker, Update};

/// Acknowledgments that can be backchannels, normalised (see [`normalize`]).
const ACKNOWLEDGMENTS: [&str; 16] = [
    "aha", "alright", "gotcha", "hm", "hmm", "mhm", "mm", "mm hmm", "okay", "ok", "right", "sure",
    "uh huh", "yeah", "yep", "yes",
];

/// One transcript fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fragment {
    pub(super) speaker: Speaker,
    pub(super) text: String,
    pub(super) start_ms: i64,
    pub(super) end_ms: i64,
}

#[derive(Debug, Clone)]
struct Turn {
    id: u64,
    previous_id: Option<u64>,
    speaker: Speaker,
    text: String,
    start_ms: i64,
    end_ms: i64,
    /// Displayed at least once (so its close is reported).
    shown: bool,
    /// Whether, as an assistant fragment over the caller, it may be dropped as a backchannel.
    droppable: bool,
}

impl Turn {
    fn snapshot(&self) -> Segment {
        Segment {
            id: self.id,
            previous_id: self.previous_id,
            speaker: self.speaker,
            text: self.text.clone(),
            start_ms: self.start_ms.max(0) as u64,
            end_ms: self.end_ms.max(0) as u64,
        }
    }

    /// Appends a fragment; `separate` puts a space between two words that would otherwise run
    /// together (fragments of one stream carry their own spacing).
    fn append(&mut self, fragment: &Fragment, separate: bool) {
        let joins_words = self.text.chars().last().is_some_and(char::is_alphanumeric)
            && fragment
                .text
                .chars()
                .next()
                .is_some_and(char::is_alphanumeric);
        if separate && joins_words {
            self.text.push(' ');
        }
        self.text.push_str(&fragment.text);
        self.end_ms = self.end_ms.max(fragment.end_ms);
    }
}

/// Lower case, hyphens as spaces, surrounding punctuation and spaces trimmed, inner runs of
/// whitespace as one space: "Mm-hmm." and "mm hmm" are the same acknowledgment.
fn normalize(text: &str) -> String {
    let lowered = text.to_lowercase().replace('-', " ");
    let trimmed =
        lowered.trim_matches(|c: char| c.is_whitespace() || ".,!?;:\"'()[]{}".contains(c));
    trimmed.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The policy's state: the current turn and, at most, one buffered fragment run of the other
/// speaker that may become the next turn or be dropped as a backchannel.
#[derive(Debug)]
pub(super) struct Grouping {
    options: GrouperOptions,
    acknowledgments: Vec<String>,
    current: Option<Turn>,
    buffered: Option<Turn>,
    last_shown: Option<u64>,
    next_id: u64,
    last_assistant_end: Option<i64>,
}

impl Grouping {
    pub(super) fn new(options: GrouperOptions) -> Self {
        let mut acknowledgments: Vec<String> =
            ACKNOWLEDGMENTS.iter().map(|a| (*a).to_owned()).collect();
        acknowledgments.extend(
            options
                .additional_acknowledgments
                .iter()
                .map(|a| normalize(a))
                .filter(|a| !a.is_empty()),
        );
        Self {
            options,
            acknowledgments,
            current: None,
            buffered: None,
            last_shown: None,
            next_id: 0,
            last_assistant_end: None,
        }
    }

    fn ms(value: u64) -> i64 {
        value as i64
    }

    pub(super) fn speaker(&self) -> Option<Speaker> {
        self.current.as_ref().map(|t| t.speaker)
    }

    /// Fragments of one interval, the current speaker's first.
    pub(super) fn process(&mut self, fragments: Vec<Fragment>) -> Vec<Update> {
        let preferred = self.speaker().unwrap_or(Speaker::User);
        let (mut ordered, others): (Vec<_>, Vec<_>) =
            fragments.into_iter().partition(|f| f.speaker == preferred);
        ordered.extend(others);
        let Some(first) = ordered.first() else {
            return Vec::new();
        };
        let (first_start, has_user) = (
            first.start_ms,
            ordered.iter().any(|f| f.speaker == Speaker::User),
        );
        let mut updates = Vec::new();
        // Let what fell due before this fragment happen first.
        for _ in 0..4 {
            match self.deadline() {
                Some(due) if due < first_start => updates.extend(self.advance(due, false)),
                _ => break,
            }
        }
        let current = self.speaker();
        if current.is_some() && !ordered.iter().any(|f| Some(f.speaker) == current) {
            updates.extend(self.advance(first_start, has_user));
        }
        for fragment in &ordered {
            updates.extend(self.ingest(fragment));
        }
        updates
    }

    /// The timeline reached `time`.
    pub(super) fn advance(&mut self, time: i64, has_incoming_user: bool) -> Vec<Update> {
        if let (Some(current), Some(_)) = (&self.current, &self.buffered)
            && time >= current.end_ms + Self::ms(self.options.min_turn_separation_ms)
            && !self.keep_backchannel(time)
        {
            if !self.backchannel_kept(Some(time), None) {
                self.buffered = None;
            }
            if self.buffered.is_some() {
                return self.promote();
            }
        }
        if let Some(current) = &self.current
            && current.speaker == Speaker::Assistant
            && !has_incoming_user
            && time >= current.end_ms + Self::ms(self.options.assistant_silence_ms)
        {
            return self.finish_current(SegmentEnd::Inactivity);
        }
        Vec::new()
    }

    /// When [`advance`](Self::advance) next changes something.
    pub(super) fn deadline(&self) -> Option<i64> {
        let current = self.current.as_ref()?;
        if let Some(buffered) = &self.buffered {
            let separation = current.end_ms + Self::ms(self.options.min_turn_separation_ms);
            if self.might_be_backchannel()
                && buffered.droppable
                && !self.user_continued()
                && !self.recent_assistant()
            {
                let isolated = buffered.end_ms + Self::ms(self.options.backchannel_isolation_ms);
                return Some(separation.max(isolated));
            }
            return Some(separation);
        }
        (current.speaker == Speaker::Assistant)
            .then(|| current.end_ms + Self::ms(self.options.assistant_silence_ms))
    }

    /// Closes everything open.
    pub(super) fn close(&mut self, time: i64, reason: SegmentEnd) -> Vec<Update> {
        let keep_buffered = self.backchannel_kept(Some(time), None);
        let buffered = self.buffered.take().filter(|_| keep_buffered);
        let mut updates = self.finish_current(reason);
        if let Some(mut turn) = buffered.filter(|t| !t.text.is_empty()) {
            updates.extend(self.show(&mut turn));
            updates.extend(self.finish(&turn, reason));
        }
        if reason == SegmentEnd::TimestampReset {
            self.last_assistant_end = None;
        }
        updates
    }

    fn ingest(&mut self, fragment: &Fragment) -> Vec<Update> {
        let Some(current) = &mut self.current else {
            let mut turn = self.new_turn(fragment);
            let updates = self.show(&mut turn);
            self.current = Some(turn);
            return updates;
        };
        if fragment.speaker == current.speaker {
            current.append(fragment, self.buffered.is_some());
            return self.show_current();
        }
        let current_speaker = current.speaker;
        let separation = fragment.start_ms - current.end_ms;
        if current_speaker == Speaker::User && self.user_continued() {
            self.buffered = None;
        }
        if current_speaker == Speaker::Assistant {
            self.buffer(fragment, None);
            return self.promote();
        }
        if separation < Self::ms(self.options.min_turn_separation_ms) {
            let possible = self.possible_acknowledgment(fragment);
            self.buffer(fragment, Some(possible));
            return Vec::new();
        }
        if self.buffered.is_some() && self.standalone_acknowledgment(fragment, true) {
            self.buffer(fragment, Some(true));
            return Vec::new();
        }
        if self.buffered.is_none() && self.standalone_acknowledgment(fragment, false) {
            self.buffer(fragment, Some(false));
            return Vec::new();
        }
        if !self.backchannel_kept(None, Some(fragment)) {
            self.buffered = None;
        }
        let mut updates = self.finish_current(SegmentEnd::SpeakerChange);
        let turn = match self.buffered.take() {
            Some(mut turn) => {
                turn.append(fragment, false);
                turn
            }
            None => self.new_turn(fragment),
        };
        self.current = Some(turn);
        updates.extend(self.show_current());
        updates
    }

    fn new_turn(&mut self, fragment: &Fragment) -> Turn {
        let id = self.next_id;
        self.next_id += 1;
        Turn {
            id,
            previous_id: None,
            speaker: fragment.speaker,
            text: fragment.text.clone(),
            start_ms: fragment.start_ms,
            end_ms: fragment.end_ms,
            shown: false,
            droppable: true,
        }
    }

    fn buffer(&mut self, fragment: &Fragment, droppable: Option<bool>) {
        match &mut self.buffered {
            Some(turn) => turn.append(fragment, false),
            None => self.buffered = Some(self.new_turn(fragment)),
        }
        if let (Some(turn), Some(droppable)) = (&mut self.buffered, droppable) {
            turn.droppable = droppable;
        }
    }

    /// The buffered fragments become the current turn.
    fn promote(&mut self) -> Vec<Update> {
        let Some(turn) = self.buffered.take() else {
            return Vec::new();
        };
        let mut updates = self.finish_current(SegmentEnd::SpeakerChange);
        self.current = Some(turn);
        updates.extend(self.show_current());
        updates
    }

    fn finish_current(&mut self, reason: SegmentEnd) -> Vec<Update> {
        match self.current.take() {
            Some(turn) => self.finish(&turn, reason),
            None => Vec::new(),
        }
    }

    fn finish(&mut self, turn: &Turn, reason: SegmentEnd) -> Vec<Update> {
        if turn.speaker == Speaker::Assistant {
            self.last_assistant_end = Some(turn.end_ms);
        }
        if turn.shown {
            vec![Update::Closed(turn.snapshot(), reason)]
        } else {
            Vec::new()
        }
    }

    fn show_current(&mut self) -> Vec<Update> {
        let Some(mut turn) = self.current.take() else {
            return Vec::new();
        };
        let updates = self.show(&mut turn);
        self.current = Some(turn);
        updates
    }

    fn show(&mut self, turn: &mut Turn) -> Vec<Update> {
        if turn.text.is_empty() {
            return Vec::new();
        }
        if !turn.shown {
            turn.previous_id = self.last_shown;
            self.last_shown = Some(turn.id);
            turn.shown = true;
        }
        vec![Update::Changed(turn.snapshot())]
    }

    /// The caller holds the turn and the buffered assistant fragments are short enough to be
    /// an acknowledgment.
    fn might_be_backchannel(&self) -> bool {
        match (&self.current, &self.buffered) {
            (Some(current), Some(buffered)) => {
                current.speaker == Speaker::User
                    && buffered.speaker == Speaker::Assistant
                    && buffered.end_ms - buffered.start_ms
                        < Self::ms(self.options.backchannel_max_duration_ms)
            }
            _ => false,
        }
    }

    /// The caller kept speaking past a droppable backchannel.
    fn user_continued(&self) -> bool {
        match (&self.current, &self.buffered) {
            (Some(current), Some(buffered)) => {
                self.might_be_backchannel()
                    && buffered.droppable
                    && current.end_ms > buffered.end_ms
            }
            _ => false,
        }
    }

    /// The assistant spoke shortly before the buffered fragments: they continue it.
    fn recent_assistant(&self) -> bool {
        match (&self.current, &self.buffered, self.last_assistant_end) {
            (Some(current), Some(buffered), Some(end)) => {
                buffered.start_ms - end < Self::ms(self.options.backchannel_isolation_ms)
                    && buffered.start_ms <= current.start_ms
            }
            _ => false,
        }
    }

    fn keep_backchannel(&self, time: i64) -> bool {
        self.buffered.as_ref().is_some_and(|buffered| {
            self.might_be_backchannel()
                && buffered.droppable
                && !self.user_continued()
                && !self.recent_assistant()
                && time < buffered.end_ms + Self::ms(self.options.backchannel_isolation_ms)
        })
    }

    /// Whether the buffered fragments stay (rather than being dropped as a backchannel), at
    /// `time` or when `next` arrives.
    fn backchannel_kept(&self, time: Option<i64>, next: Option<&Fragment>) -> bool {
        let Some(buffered) = &self.buffered else {
            return true;
        };
        if !self.might_be_backchannel() {
            return true;
        }
        if self.user_continued() {
            return false;
        }
        if self.recent_assistant() {
            return true;
        }
        let isolation = Self::ms(self.options.backchannel_isolation_ms);
        match next {
            Some(next) if next.start_ms - buffered.end_ms < isolation => return true,
            None if time.is_none_or(|t| t < buffered.end_ms + isolation) => return true,
            _ => {}
        }
        !buffered.droppable
    }

    /// `fragment` (after the buffered text, when `after_buffered`) is a whole acknowledgment.
    fn standalone_acknowledgment(&self, fragment: &Fragment, after_buffered: bool) -> bool {
        let previous = self.buffered.as_ref().filter(|_| after_buffered);
        let start = previous.map_or(fragment.start_ms, |p| p.start_ms);
        let text = format!(
            "{}{}",
            previous.map_or("", |p| p.text.as_str()),
            fragment.text
        );
        fragment.end_ms - start < Self::ms(self.options.backchannel_max_duration_ms)
            && self.acknowledgments.contains(&normalize(&text))
    }

    /// `fragment` (after the buffered text) could still grow into an acknowledgment.
    fn possible_acknowledgment(&self, fragment: &Fragment) -> bool {
        let previous = self.buffered.as_ref();
        let start = previous.map_or(fragment.start_ms, |p| p.start_ms);
        let text = normalize(&format!(
            "{}{}",
            previous.map_or("", |p| p.text.as_str()),
            fragment.text
        ));
        fragment.end_ms - start < Self::ms(self.options.backchannel_max_duration_ms)
            && !text.is_empty()
            && self.acknowledgments.iter().any(|a| a.starts_with(&text))
    }
}
