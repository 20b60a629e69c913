//! The telephone keypad: the sixteen DTMF keys (`0`–`9`, `*`, `#`, `A`–`D`) and a sequence of
//! presses to send, parsed from untrusted text (a model's tool arguments, a Twilio `dtmf`
//! message) and bounded.
//!
//! Audio (the tones themselves) lives in `phone_twilio::dtmf`; this is only what a key is.

use std::fmt;

/// Most presses (keys and pauses) in one [`KeySequence`]: an IVR path plus an extension and a
/// PIN fits; a sequence longer than this is more likely a model's mistake than a menu.
pub const MAX_PRESSES: usize = 32;

/// One key of a DTMF keypad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// A digit, `0`–`9` (the value is the digit).
    Digit(u8),
    /// `*`.
    Star,
    /// `#`, which ends an entry by convention.
    Pound,
    /// `A`–`D`, the fourth column (military and some PBX menus; the value is 0–3).
    Letter(u8),
}

impl Key {
    /// The key written as a character (`0`–`9`, `*`, `#`, `A`–`D`; lower-case letters are
    /// accepted too); `None` for anything else.
    pub fn from_char(c: char) -> Option<Self> {
        match c {
            '0'..='9' => Some(Self::Digit(c as u8 - b'0')),
            '*' => Some(Self::Star),
            '#' => Some(Self::Pound),
            'A'..='D' => Some(Self::Letter(c as u8 - b'A')),
            'a'..='d' => Some(Self::Letter(c as u8 - b'a')),
            _ => None,
        }
    }

    /// A key as Twilio names it in a `dtmf` message: exactly one such character.
    pub fn parse(text: &str) -> Option<Self> {
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Self::from_char(c),
            _ => None,
        }
    }

    /// The key's character (letters upper-case).
    pub fn as_char(self) -> char {
        match self {
            Self::Digit(d) => char::from(b'0' + d.min(9)),
            Self::Star => '*',
            Self::Pound => '#',
            Self::Letter(l) => char::from(b'A' + l.min(3)),
        }
    }

    /// Row (0–3, top to bottom) and column (0–3, left to right) on the keypad, which pick the
    /// key's two DTMF frequencies.
    pub fn position(self) -> (usize, usize) {
        match self {
            Self::Digit(0) => (3, 1),
            Self::Digit(d) => {
                let d = usize::from(d.min(9)) - 1;
                (d / 3, d % 3)
            }
            Self::Star => (3, 0),
            Self::Pound => (3, 2),
            Self::Letter(l) => (usize::from(l.min(3)), 3),
        }
    }

    /// The key at a keypad position, the inverse of [`Key::position`].
    pub fn at(row: usize, column: usize) -> Option<Self> {
        const LAYOUT: [[char; 4]; 4] = [
            ['1', '2', '3', 'A'],
            ['4', '5', '6', 'B'],
            ['7', '8', '9', 'C'],
            ['*', '0', '#', 'D'],
        ];
        LAYOUT
            .get(row)
            .and_then(|r| r.get(column))
            .and_then(|c| Self::from_char(*c))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// One step of a [`KeySequence`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Press {
    /// Press and release a key.
    Key(Key),
    /// Wait half a second (`w`, as in Twilio's `sendDigits`), e.g. for a menu to start.
    Pause,
}

/// Why a key sequence was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeypadError {
    /// Nothing to press.
    #[error("no keys to press")]
    Empty,
    /// Longer than [`MAX_PRESSES`].
    #[error("more than {MAX_PRESSES} keys and pauses")]
    TooLong,
    /// A character that is not a key nor `w`.
    #[error("`{0}` is not a keypad key (use 0-9, *, #, A-D, and w for a half-second pause)")]
    NotAKey(char),
}

/// Keys and pauses to send, in order: at least one press, at most [`MAX_PRESSES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySequence(Vec<Press>);

impl KeySequence {
    /// Parses `0`–`9`, `*`, `#`, `A`–`D` and `w`/`W` (a pause); spaces, dashes and commas are
    /// ignored so "1, 2, 3" and "555-1234" read as meant.
    pub fn parse(text: &str) -> Result<Self, KeypadError> {
        let mut presses = Vec::new();
        for c in text.chars() {
            let press = match c {
                ' ' | '-' | ',' => continue,
                'w' | 'W' => Press::Pause,
                c => Press::Key(Key::from_char(c).ok_or(KeypadError::NotAKey(c))?),
            };
            if presses.len() == MAX_PRESSES {
                return Err(KeypadError::TooLong);
            }
            presses.push(press);
        }
        if !presses.iter().any(|p| matches!(p, Press::Key(_))) {
            return Err(KeypadError::Empty);
        }
        Ok(Self(presses))
    }

    /// The presses, in order.
    pub fn presses(&self) -> &[Press] {
        &self.0
    }

    /// The keys only, in order.
    pub fn keys(&self) -> impl Iterator<Item = Key> + '_ {
        self.0.iter().filter_map(|p| match p {
            Press::Key(k) => Some(*k),
            Press::Pause => None,
        })
    }
}

impl fmt::Display for KeySequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for press in &self.0 {
            match press {
                Press::Key(k) => write!(f, "{k}")?,
                Press::Pause => f.write_str("w")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_one_position_and_back() {
        let all = "0123456789*#ABCD";
        let mut seen = std::collections::HashSet::new();
        for c in all.chars() {
            let key = Key::from_char(c).unwrap();
            assert_eq!(key.as_char(), c);
            let (row, column) = key.position();
            assert!(seen.insert((row, column)), "{c} shares a position");
            assert_eq!(Key::at(row, column), Some(key));
        }
        assert_eq!(Key::Digit(5).position(), (1, 1));
        assert_eq!(Key::Digit(0).position(), (3, 1));
        assert_eq!(Key::at(4, 0), None);
    }

    #[test]
    fn twilio_digits_are_one_key_exactly() {
        assert_eq!(Key::parse("1"), Some(Key::Digit(1)));
        assert_eq!(Key::parse("#"), Some(Key::Pound));
        assert_eq!(Key::parse("d"), Some(Key::Letter(3)));
        for bad in ["", "12", "x", "w", " 1", "é"] {
            assert_eq!(Key::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn sequences_are_parsed_and_bounded() {
        let s = KeySequence::parse("1w2, 3-#").unwrap();
        assert_eq!(s.to_string(), "1w23#");
        assert_eq!(s.presses().len(), 5);
        assert_eq!(s.keys().map(Key::as_char).collect::<String>(), "123#");
        assert_eq!(KeySequence::parse(""), Err(KeypadError::Empty));
        assert_eq!(KeySequence::parse("ww"), Err(KeypadError::Empty));
        assert_eq!(KeySequence::parse("12x"), Err(KeypadError::NotAKey('x')));
        assert!(KeySequence::parse(&"1".repeat(MAX_PRESSES)).is_ok());
        assert_eq!(
            KeySequence::parse(&"1".repeat(MAX_PRESSES + 1)),
            Err(KeypadError::TooLong)
        );
    }
}
