//! Transcript turns: what the caller and the assistant said.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Who spoke a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The person on the phone.
    Caller,
    /// The AI.
    Assistant,
}

/// One transcript turn (`CALL#<sid>` / `TURN#<seq>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Turn {
    /// Order within the call, from 0.
    pub seq: u32,
    /// Who spoke.
    pub role: Role,
    /// What was said, as transcribed.
    pub text: String,
    /// When the turn was recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// True when the caller cut the assistant off; `text` is then what was generated, of which
    /// only part was heard.
    #[serde(default)]
    pub interrupted: bool,
}

impl Turn {
    /// Longest transcript text kept per turn, in bytes; longer text is cut at a char boundary.
    pub const MAX_TEXT_BYTES: usize = 16 * 1024;

    /// Builds a turn, bounding the text to [`Turn::MAX_TEXT_BYTES`].
    pub fn new(seq: u32, role: Role, text: &str, at: OffsetDateTime) -> Self {
        let mut end = text.len().min(Self::MAX_TEXT_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        Self {
            seq,
            role,
            text: text[..end].to_owned(),
            at,
            interrupted: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_at_char_boundary() {
        let text = "é".repeat(Turn::MAX_TEXT_BYTES);
        let turn = Turn::new(0, Role::Caller, &text, OffsetDateTime::UNIX_EPOCH);
        assert!(turn.text.len() <= Turn::MAX_TEXT_BYTES);
        assert!(turn.text.chars().all(|c| c == 'é'));
    }
}
