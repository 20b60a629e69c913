//! Local call control: with no Twilio account, "hanging up" or "transferring" a simulated call
//! means closing its media stream. The stream host subscribes to these requests.

use std::collections::HashSet;
use std::sync::Mutex;

use async_trait::async_trait;
use phone_core::ports::{CallControl, HangUpOutcome, PortError};
use phone_core::{CallSid, PhoneNumber};
use tokio::sync::broadcast;

/// What was asked of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallAction {
    /// End it.
    HangUp(CallSid),
    /// Send it to a number.
    Transfer(CallSid, PhoneNumber),
}

/// Records hang-ups and transfers and announces them to subscribers.
#[derive(Debug)]
pub struct LocalCallControl {
    ended: Mutex<HashSet<CallSid>>,
    events: broadcast::Sender<CallAction>,
}

impl Default for LocalCallControl {
    fn default() -> Self {
        Self {
            ended: Mutex::new(HashSet::new()),
            events: broadcast::channel(64).0,
        }
    }
}

impl LocalCallControl {
    /// Subscribes to actions.
    pub fn subscribe(&self) -> broadcast::Receiver<CallAction> {
        self.events.subscribe()
    }

    fn end(&self, call: &CallSid) -> bool {
        self.ended
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(call.clone())
    }
}

#[async_trait]
impl CallControl for LocalCallControl {
    async fn hang_up(&self, call: &CallSid) -> Result<HangUpOutcome, PortError> {
        if !self.end(call) {
            return Ok(HangUpOutcome::AlreadyEnded);
        }
        let _ = self.events.send(CallAction::HangUp(call.clone()));
        tracing::info!(call_sid = %call, "local call control: hang up");
        Ok(HangUpOutcome::Ended)
    }

    async fn transfer(&self, call: &CallSid, to: &PhoneNumber) -> Result<(), PortError> {
        if !self.end(call) {
            return Err(PortError::NotFound(format!("call {call} (already ended)")));
        }
        let _ = self
            .events
            .send(CallAction::Transfer(call.clone(), to.clone()));
        tracing::info!(call_sid = %call, to = %to, "local call control: transfer");
        Ok(())
    }

    fn describe(&self) -> String {
        "local (closes the simulated call's stream)".into()
    }
}
