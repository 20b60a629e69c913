//! An outbound call's answer: the call stays silent until Twilio's answering machine detection
//! says who answered, then a person hears the greeting, a machine one message after its beep
//! (bounded by [`VOICEMAIL_MAX_SECS`]), and a fax nothing.

use phone_core::outbound::{AnsweredBy, VOICEMAIL_MAX_SECS};
use tokio::time::Instant;

use super::{CallCore, EndReason, Phase};
use crate::engine::Purpose;

/// the greeting, a machine hears one message after its beep.
#[derive(Debug)]
pub(super) struct OutboundTurn {
    /// Said exactly to a person.
    greeting: String,
    /// Instructions for the one voicemail message.
    voicemail: String,
    answer: Answer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// No verdict yet: the assistant is silent, the callee's audio is not the conversation.
    Waiting,
    /// A verdict that came before the session was ready.
    Known(AnsweredBy),
    /// Acted on.
    Acted,
}

impl CallCore {
    /// Makes this an outbound call: silent until [`CallCore::answered`], then `greeting` (said
    /// exactly) for a person, or one message made with `voicemail` (instructions) for a
    /// machine.
    pub fn expect_answer(&mut self, greeting: String, voicemail: String) {
        self.outbound = Some(OutboundTurn {
            greeting,
            voicemail,
            answer: Answer::Waiting,
        });
    }

    /// Whether an outbound call still waits for the detection's verdict.
    pub fn awaiting_answer(&self) -> bool {
        self.outbound
            .as_ref()
            .is_some_and(|o| o.answer != Answer::Acted)
    }

    /// What answered an outbound call (Twilio's answering machine detection).
    pub fn answered(&mut self, by: AnsweredBy, now: Instant) {
        let Some(outbound) = self.outbound.as_mut() else {
            return;
        };
        if outbound.answer != Answer::Waiting || self.phase.ending() {
            return;
        }
        if matches!(self.phase, Phase::Talking) {
            self.act_on_answer(by, now);
        } else {
            outbound.answer = Answer::Known(by);
        }
    }

    /// A session of an outbound call not yet greeted is ready: a verdict that came before it
    /// is acted on now. Whether the call is outbound (so the inbound greeting is not said).
    pub(super) fn outbound_session_ready(&mut self, now: Instant) -> bool {
        let Some(outbound) = &self.outbound else {
            return false;
        };
        if let Answer::Known(by) = outbound.answer {
            self.act_on_answer(by, now);
        }
        true
    }

    /// A person hears the greeting; a machine one message, then the call ends; a fax nothing.
    fn act_on_answer(&mut self, by: AnsweredBy, now: Instant) {
        let Some(outbound) = self.outbound.as_mut() else {
            return;
        };
        outbound.answer = Answer::Acted;
        self.greeted = true;
        if by == AnsweredBy::Fax {
            tracing::info!("outbound call answered by a fax; hanging up");
            self.end(EndReason::FaxAnswered);
        } else if by.is_machine() {
            tracing::info!(?by, "outbound call reached a machine; leaving the message");
            let voicemail = outbound.voicemail.clone();
            self.phase = Phase::Ending {
                reason: EndReason::VoicemailLeft,
                // The message's bound, whatever the model says: the call ends here.
                deadline: now + std::time::Duration::from_secs(VOICEMAIL_MAX_SECS),
                said: false,
            };
            self.say(Purpose::Goodbye, Some(voicemail));
        } else {
            tracing::info!(?by, "outbound call answered; greeting");
            let greeting = format!(
                "The person you called has answered. Say exactly: \"{}\" Then pursue the purpose of the call.",
                outbound.greeting.replace('"', "'")
            );
            self.say(Purpose::Greeting, Some(greeting));
        }
    }
}
