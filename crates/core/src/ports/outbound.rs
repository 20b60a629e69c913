//! Placing calls: Twilio's `POST /Calls.json`, or the local dialer of the embedded stack.
//!
//! The port places one attempt and nothing else. Who may be called, when, and what is recorded
//! is [`crate::outbound::dialer::Dialer`]'s job, which `POST /calls`, retries (and later
//! reminders) go through.

use async_trait::async_trait;

use super::PortError;
use crate::call::{CallSid, CallStatus};
use crate::phone::PhoneNumber;

/// One attempt to place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundCallRequest {
    /// The callee.
    pub to: PhoneNumber,
    /// Absolute URL Twilio fetches the call's TwiML from once the callee answers.
    pub voice_url: String,
    /// Absolute URL of the call's status callbacks (initiated, ringing, answered, completed).
    pub status_callback: String,
    /// Absolute URL of the asynchronous answering-machine-detection callback.
    pub amd_callback: String,
    /// Seconds to let it ring before giving up (`no-answer`).
    pub ring_timeout_secs: u32,
}

/// What the carrier accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedCall {
    /// The attempt's CallSid.
    pub call_sid: CallSid,
    /// Its first status (`queued` as a rule).
    pub status: CallStatus,
}

/// The call-placing port.
#[async_trait]
pub trait OutboundCalls: Send + Sync + 'static {
    /// Places the call. [`PortError::Invalid`] when the carrier refuses the request (a bad
    /// number); nothing was dialled then.
    async fn place(&self, request: &OutboundCallRequest) -> Result<PlacedCall, PortError>;
    /// `twilio (AC…)` or `local dialer`.
    fn describe(&self) -> String;
}
