//! The phase of a call, and every way it ends.
//!
//! ```text
//!            session ready                     goodbye said and played
//! Configuring ───────────► Talking ──► Ending ─────────────────────────► Ended
//!      ▲  │                  │  ▲        │ grace passed ────────────────►
//!      │  │ engine lost      │  │        │ engine lost ─────────────────►
//!      │  ▼                  ▼  │
//!      Reconnecting ◄────────┘  └── (after a reconnect: Configuring, then Talking again)
//! ```
//!
//! **When does a call end?** Exactly in these cases, each an [`EndReason`]:
//! - the caller hangs up: Twilio sends `stop` or closes the socket ([`EndReason::CallerHungUp`]),
//!   in any phase, at once;
//! - a limit is reached — the call's maximum duration, the caller's silence, the cost cap, a
//!   host drain — while talking: the assistant is asked for a goodbye and the call ends once
//!   those words are said and Twilio has played them, or when [`GOODBYE_GRACE`] has passed,
//!   whichever comes first; outside the talking phase there is no one to say it, so it ends
//!   at once;
//! - the assistant's `end_call` or `transfer_call` ran: its next words are the goodbye, and the
//!   call ends the same way (then hang-up or transfer through call control);
//! - the session is refused, or not confirmed within the session timeout
//!   ([`EndReason::SessionNotConfigured`]);
//! - an outbound call's answering machine detection said machine: the assistant leaves one
//!   message, and the call ends once it is said and played, or when
//!   [`phone_core::outbound::VOICEMAIL_MAX_SECS`] has passed ([`EndReason::VoicemailLeft`]);
//!   a fax ends it at once ([`EndReason::FaxAnswered`]);
//! - the engine's connection drops and the call's reconnect budget is spent, or it drops while
//!   the call was ending anyway ([`EndReason::OpenAiLost`], or the ending's own reason).
//!
//! Pure state: [`super::CallCore`] moves between phases; this file names them and the rules.

use std::time::Duration;

use tokio::time::Instant;

/// Time a goodbye gets to be spoken and played.
pub const GOODBYE_GRACE: Duration = Duration::from_secs(10);

/// Why a call ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EndReason {
    /// Twilio sent `stop` or closed: the caller hung up.
    #[default]
    CallerHungUp,
    /// The call reached its maximum duration.
    MaxDuration,
    /// The call's model cost reached `MAX_CALL_COST_USD`.
    CostLimit,
    /// The caller was silent too long.
    Idle,
    /// The host is shutting down.
    Drain,
    /// The engine could not be reached again.
    OpenAiLost,
    /// The engine refused the session or did not confirm it in time.
    SessionNotConfigured,
    /// The assistant ended the call (`end_call`) after its goodbye.
    AssistantHungUp,
    /// The assistant transferred the caller (`transfer_call`) after announcing it.
    Transferred,
    /// An outbound call reached a machine: the assistant left its message after the beep
    /// (or its [`phone_core::outbound::VOICEMAIL_MAX_SECS`] ran out).
    VoicemailLeft,
    /// An outbound call was answered by a fax: ended at once.
    FaxAnswered,
}

impl EndReason {
    /// The words asked of the assistant when a limit ends the call (`None`: the assistant's
    /// own goodbye, or no goodbye at all).
    pub fn goodbye_words(self) -> Option<&'static str> {
        match self {
            Self::Idle => {
                Some("The caller has been silent for a while. Say a short, friendly goodbye.")
            }
            Self::CostLimit => {
                Some("The call has reached its spending limit. Apologise briefly and say goodbye.")
            }
            Self::MaxDuration => {
                Some("The call has reached its time limit. Apologise and say a short goodbye.")
            }
            Self::Drain => Some(
                "You must end the call now for maintenance. Apologise briefly and say goodbye.",
            ),
            _ => None,
        }
    }
}

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The engine was sent its configuration and has not confirmed it; no audio reaches
    /// Twilio (an unconfigured Realtime session speaks PCM16 at 24 kHz, which Twilio would play
    /// as noise) and caller audio is queued.
    Configuring {
        /// Past this, the call ends: [`EndReason::SessionNotConfigured`].
        deadline: Instant,
    },
    /// Audio flows both ways.
    Talking,
    /// The engine's connection dropped; a new one is being opened. Caller audio is queued and
    /// Twilio's socket is still read (a hang-up ends the call at once).
    Reconnecting,
    /// The goodbye is being said.
    Ending {
        /// Why the call ends.
        reason: EndReason,
        /// Past this, the call ends even if the goodbye never finished.
        deadline: Instant,
        /// The engine is done with the goodbye (said, or given up).
        said: bool,
    },
    /// Over.
    Ended(EndReason),
}

impl Phase {
    /// Whether the engine's session is configured and audio may flow.
    pub fn audio_flows(&self) -> bool {
        matches!(self, Self::Talking | Self::Ending { .. })
    }

    /// Whether the call is ending or over.
    pub fn ending(&self) -> bool {
        matches!(self, Self::Ending { .. } | Self::Ended(_))
    }

    /// The reason of an ending call.
    pub fn end_reason(&self) -> Option<EndReason> {
        match self {
            Self::Ending { reason, .. } | Self::Ended(reason) => Some(*reason),
            _ => None,
        }
    }

    /// An ending call whose goodbye is said and played is over.
    pub fn goodbye_finished(&self, audio_unplayed: bool) -> Option<EndReason> {
        match self {
            Self::Ending {
                reason, said: true, ..
            } if !audio_unplayed => Some(*reason),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_flows_only_on_a_configured_session() {
        let deadline = Instant::now();
        assert!(!Phase::Configuring { deadline }.audio_flows());
        assert!(!Phase::Reconnecting.audio_flows());
        assert!(Phase::Talking.audio_flows());
        let ending = Phase::Ending {
            reason: EndReason::Idle,
            deadline,
            said: false,
        };
        assert!(ending.audio_flows(), "the goodbye must be heard");
        assert!(!Phase::Ended(EndReason::Idle).audio_flows());
    }

    #[test]
    fn a_goodbye_ends_the_call_once_said_and_played() {
        let deadline = Instant::now();
        let unsaid = Phase::Ending {
            reason: EndReason::Idle,
            deadline,
            said: false,
        };
        assert_eq!(unsaid.goodbye_finished(false), None);
        let said = Phase::Ending {
            reason: EndReason::Idle,
            deadline,
            said: true,
        };
        assert_eq!(said.goodbye_finished(true), None, "still playing");
        assert_eq!(said.goodbye_finished(false), Some(EndReason::Idle));
        assert_eq!(Phase::Talking.goodbye_finished(false), None);
    }

    #[test]
    fn only_limits_ask_for_goodbye_words() {
        assert!(EndReason::Idle.goodbye_words().is_some());
        assert!(EndReason::Drain.goodbye_words().is_some());
        assert!(EndReason::AssistantHungUp.goodbye_words().is_none());
        assert!(EndReason::CallerHungUp.goodbye_words().is_none());
    }
}
