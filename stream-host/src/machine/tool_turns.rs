//! Tool turns: the function calls of one model response run together, each answer goes back
//! as it comes, and the model is asked to go on once every answer of the turn is in (one
//! follow-up per turn, PROTOCOLS.md §2.4). `end_call` and `transfer_call` leave an effect that
//! turns that follow-up into the call's goodbye.
//!
//! Pure state, no I/O.

use std::collections::{HashMap, HashSet};

use phone_core::tools::CallEffect;

/// What a finished tool means for the turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answered {
    /// Not a turn of this session (it was replaced by a reconnect): drop the answer.
    Unknown,
    /// More answers of the turn are due.
    Pending,
    /// The turn's last answer: ask for the follow-up.
    TurnComplete,
}

/// The tool turns of one call.
#[derive(Debug, Default)]
pub struct ToolTurns {
    /// Answers still due per turn.
    running: HashMap<String, usize>,
    /// Turns that already had their "one moment".
    noticed: HashSet<String>,
    /// What a tool asked of the call, applied after its goodbye.
    effect: Option<CallEffect>,
}

impl ToolTurns {
    /// A turn of `calls` starts running.
    pub fn start(&mut self, turn: &str, calls: usize) {
        if calls > 0 {
            *self.running.entry(turn.to_owned()).or_default() += calls;
        }
    }

    /// A tool of `turn` finished; `effect` is what it asked of the call.
    pub fn answered(&mut self, turn: &str, effect: Option<CallEffect>) -> Answered {
        let Some(due) = self.running.get_mut(turn) else {
            return Answered::Unknown;
        };
        if effect.is_some() {
            self.effect = effect;
        }
        *due = due.saturating_sub(1);
        if *due > 0 {
            return Answered::Pending;
        }
        self.running.remove(turn);
        Answered::TurnComplete
    }

    /// Whether the turn should get a "one moment" now (once per turn, while it runs).
    pub fn notice_due(&mut self, turn: &str) -> bool {
        self.running.contains_key(turn) && self.noticed.insert(turn.to_owned())
    }

    /// The effect a tool asked for, if any.
    pub fn effect(&self) -> Option<&CallEffect> {
        self.effect.as_ref()
    }

    /// Takes the effect, to apply it once the call has ended.
    pub fn take_effect(&mut self) -> Option<CallEffect> {
        self.effect.take()
    }

    /// The session was replaced: answers of its turns have nowhere to go.
    pub fn session_replaced(&mut self) {
        self.running.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_follow_up_waits_for_every_answer_of_the_turn() {
        let mut t = ToolTurns::default();
        t.start("r1", 2);
        assert_eq!(t.answered("r1", None), Answered::Pending);
        assert_eq!(t.answered("r1", None), Answered::TurnComplete);
        assert_eq!(
            t.answered("r1", None),
            Answered::Unknown,
            "one follow-up per turn"
        );
    }

    #[test]
    fn an_effect_is_kept_for_after_the_goodbye() {
        let mut t = ToolTurns::default();
        t.start("r1", 1);
        assert_eq!(
            t.answered("r1", Some(CallEffect::EndCall)),
            Answered::TurnComplete
        );
        assert_eq!(t.effect(), Some(&CallEffect::EndCall));
        assert_eq!(t.take_effect(), Some(CallEffect::EndCall));
        assert_eq!(t.effect(), None);
    }

    #[test]
    fn a_slow_turn_gets_one_notice() {
        let mut t = ToolTurns::default();
        assert!(!t.notice_due("r1"), "not running");
        t.start("r1", 1);
        assert!(t.notice_due("r1"));
        assert!(!t.notice_due("r1"));
    }

    #[test]
    fn answers_of_a_replaced_session_are_dropped() {
        let mut t = ToolTurns::default();
        t.start("r1", 1);
        t.session_replaced();
        assert_eq!(t.answered("r1", None), Answered::Unknown);
    }
}
