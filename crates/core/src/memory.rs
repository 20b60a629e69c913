//! What the assistant remembers about a caller between calls and channels.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The per-caller profile (`CALLER#<E.164>` / `MEMORY`): a rolling summary plus facts the caller
/// asked to be remembered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallerMemory {
    /// A short summary of past conversations, rewritten after each one.
    #[serde(default)]
    pub summary: String,
    /// The caller's name, if they gave it.
    #[serde(default)]
    pub name: Option<String>,
    /// When this was last updated.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

/// One remembered action or fact (`CALLER#<E.164>` / `NOTE#<ts>`), e.g. "created event
/// `abc123`, Team sync, Thu 15:00" so a later "that meeting" can be resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryNote {
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What kind of note: `event_created`, `sms_sent`, `summary`, …
    pub kind: String,
    /// Human- and model-readable text.
    pub text: String,
    /// Structured details (event id, times), for tools that act on "that meeting".
    #[serde(default)]
    pub data: serde_json::Value,
}

/// Most call summaries kept in [`CallerMemory::summary`], newest last.
pub const MAX_SUMMARY_LINES: usize = 5;

impl CallerMemory {
    /// Adds a one-line summary of a finished conversation, keeping the last few.
    pub fn add_summary(&mut self, line: &str, at: OffsetDateTime) {
        let mut lines: Vec<&str> = self
            .summary
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        lines.push(line);
        let skip = lines.len().saturating_sub(MAX_SUMMARY_LINES);
        self.summary = lines[skip..].join("\n");
        self.updated_at = Some(at);
    }
}

/// A one-line, deterministic summary of a conversation: when, what the caller first asked, and
/// how long it went. Made without a model so it costs nothing and cannot invent anything.
pub fn summarize(date: &str, channel: &str, caller_lines: &[&str], turns: usize) -> String {
    let first = caller_lines
        .iter()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim())
        .unwrap_or("(nothing transcribed)");
    let mut quoted: String = first.chars().take(120).collect();
    if first.chars().count() > 120 {
        quoted.push('…');
    }
    format!("{date}: {channel} — they said \"{quoted}\" ({turns} turns)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_are_bounded_and_newest_last() {
        let mut memory = CallerMemory::default();
        for i in 0..8 {
            memory.add_summary(&format!("call {i}"), OffsetDateTime::UNIX_EPOCH);
        }
        assert_eq!(
            memory.summary.lines().collect::<Vec<_>>(),
            ["call 3", "call 4", "call 5", "call 6", "call 7"]
        );
        let line = summarize("2026-11-24", "phone call", &["", &"x".repeat(200)], 6);
        assert!(line.contains("(6 turns)") && line.contains('…') && line.len() < 200);
    }
}
