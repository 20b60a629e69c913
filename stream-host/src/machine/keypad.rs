//! The caller's keypad: keys pressed (Twilio `dtmf` messages) are collected into one entry,
//! which ends with `#`, with the [`KeypadSettings::max_keys`]th key, or
//! [`KeypadSettings::timeout`] after the last key. The finished entry goes to the engine as the
//! caller's words (see [`entry_text`]).
//!
//! Pure state, no I/O: the core feeds it presses and the timer, and says what it returns.

use std::time::Duration;

use phone_core::keypad::Key;
use tokio::time::Instant;

/// When a keypad entry is complete (`KEYPAD_TIMEOUT_MS`, `KEYPAD_MAX_KEYS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeypadSettings {
    /// Quiet after the last key that ends the entry.
    pub timeout: Duration,
    /// Keys that end the entry without waiting.
    pub max_keys: usize,
}

impl Default for KeypadSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(3),
            max_keys: 16,
        }
    }
}

/// The keys of the entry being typed.
#[derive(Debug, Default)]
pub struct KeypadEntry {
    keys: Vec<Key>,
    deadline: Option<Instant>,
}

impl KeypadEntry {
    /// A key was pressed: returns the entry if this key completed it.
    pub fn press(&mut self, key: Key, settings: &KeypadSettings, now: Instant) -> Option<Vec<Key>> {
        self.keys.push(key);
        if key == Key::Pound || self.keys.len() >= settings.max_keys.max(1) {
            return self.finish();
        }
        self.deadline = Some(now + settings.timeout);
        None
    }

    /// When the entry ends by itself, while one is being typed.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The timer fired: returns the entry if its time is up.
    pub fn timer(&mut self, now: Instant) -> Option<Vec<Key>> {
        match self.deadline {
            Some(deadline) if deadline <= now => self.finish(),
            _ => None,
        }
    }

    fn finish(&mut self) -> Option<Vec<Key>> {
        self.deadline = None;
        let keys = std::mem::take(&mut self.keys);
        (!keys.is_empty()).then_some(keys)
    }
}

/// What the engine is told the caller typed, e.g. "The caller pressed 1 2 3 4 # on their
/// phone's keypad." Keys are spaced so the model reads them as keys, not as a number.
pub fn entry_text(keys: &[Key]) -> String {
    let spaced: Vec<String> = keys.iter().map(Key::to_string).collect();
    format!(
        "The caller pressed {} on their phone's keypad.",
        spaced.join(" ")
    )
}

/// The transcript line for an entry, e.g. "[keypad] 1234#".
pub fn transcript_text(keys: &[Key]) -> String {
    let typed: String = keys.iter().map(|k| k.as_char()).collect();
    format!("[keypad] {typed}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> KeypadSettings {
        KeypadSettings {
            timeout: Duration::from_secs(3),
            max_keys: 4,
        }
    }

    fn text(keys: Option<Vec<Key>>) -> Option<String> {
        keys.map(|k| k.iter().map(|k| k.as_char()).collect())
    }

    #[test]
    fn pound_ends_the_entry_at_once() {
        let (mut entry, now) = (KeypadEntry::default(), Instant::now());
        assert_eq!(entry.press(Key::Digit(1), &settings(), now), None);
        assert_eq!(entry.deadline(), Some(now + Duration::from_secs(3)));
        assert_eq!(
            text(entry.press(Key::Pound, &settings(), now)),
            Some("1#".into())
        );
        assert_eq!(entry.deadline(), None);
        assert_eq!(entry.timer(now + Duration::from_secs(10)), None, "once");
    }

    #[test]
    fn the_key_count_ends_the_entry() {
        let (mut entry, now) = (KeypadEntry::default(), Instant::now());
        for d in 1..4 {
            assert_eq!(entry.press(Key::Digit(d), &settings(), now), None);
        }
        assert_eq!(
            text(entry.press(Key::Digit(4), &settings(), now)),
            Some("1234".into())
        );
    }

    #[test]
    fn quiet_after_the_last_key_ends_the_entry_and_each_key_restarts_the_wait() {
        let (mut entry, t0) = (KeypadEntry::default(), Instant::now());
        entry.press(Key::Digit(7), &settings(), t0);
        let t1 = t0 + Duration::from_secs(2);
        entry.press(Key::Star, &settings(), t1);
        assert_eq!(entry.timer(t0 + Duration::from_secs(3)), None, "restarted");
        assert_eq!(
            text(entry.timer(t1 + Duration::from_secs(3))),
            Some("7*".into())
        );
        assert_eq!(entry.timer(t1 + Duration::from_secs(9)), None);
    }

    #[test]
    fn the_engine_reads_keys_spaced_and_the_transcript_keeps_them_typed() {
        let keys = [Key::Digit(1), Key::Digit(2), Key::Pound];
        assert_eq!(
            entry_text(&keys),
            "The caller pressed 1 2 # on their phone's keypad."
        );
        assert_eq!(transcript_text(&keys), "[keypad] 12#");
    }
}
