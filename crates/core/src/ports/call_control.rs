//! Call control port: hang up or transfer a live call (Twilio REST `POST /Calls/{sid}.json`).

use async_trait::async_trait;

use super::PortError;
use crate::call::CallSid;
use crate::phone::PhoneNumber;

/// What a hang-up found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangUpOutcome {
    /// The call was live and is now ended.
    Ended,
    /// The call had already ended (Twilio answered 404): not an error.
    AlreadyEnded,
}

/// The call control port.
#[async_trait]
pub trait CallControl: Send + Sync + 'static {
    /// Ends the call (`Status=completed`).
    async fn hang_up(&self, call: &CallSid) -> Result<HangUpOutcome, PortError>;
    /// Sends the caller to `to` with `<Dial>`; the AI leaves the call.
    async fn transfer(&self, call: &CallSid, to: &PhoneNumber) -> Result<(), PortError>;
    /// `twilio` or `local`.
    fn describe(&self) -> String;
}
