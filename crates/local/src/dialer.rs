//! The local dialer: outbound calls on the embedded stack, with no carrier.
//!
//! Placing a call gives it a fresh CallSid and `queued`; nothing rings by itself. Whoever plays
//! the callee (`phone-agent call`, a test) does what Twilio would: requests the call's voice
//! URL (signed with the auth token) for its TwiML, opens the media stream it names, and posts
//! the status and AMD callbacks. The requests are kept here, newest last, so the callee can
//! find the URLs of the call it answers.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use phone_core::ports::{OutboundCallRequest, OutboundCalls, PlacedCall, PortError};
use phone_core::{CallSid, CallStatus};
use rand::RngCore;

/// A call the local dialer placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialedCall {
    /// Its CallSid.
    pub call_sid: CallSid,
    /// What was asked.
    pub request: OutboundCallRequest,
}

/// Places calls locally; clones share the list of calls placed.
#[derive(Debug, Clone, Default)]
pub struct LocalDialer {
    dialed: Arc<Mutex<Vec<DialedCall>>>,
}

/// Most calls remembered; the oldest are forgotten first.
const MAX_KEPT: usize = 1000;

impl LocalDialer {
    /// The calls placed so far, oldest first (at most the last 1000).
    pub fn dialed(&self) -> Vec<DialedCall> {
        self.dialed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[async_trait]
impl OutboundCalls for LocalDialer {
    async fn place(&self, request: &OutboundCallRequest) -> Result<PlacedCall, PortError> {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        let call_sid = CallSid::parse(&format!("CA{}", hex::encode(bytes)))
            .map_err(|e| PortError::Invalid(e.to_string()))?;
        tracing::info!(
            %call_sid,
            to = ?request.to,
            voice_url = %request.voice_url,
            "local dialer: call queued; the simulated callee answers it by requesting the voice URL"
        );
        let mut dialed = self.dialed.lock().unwrap_or_else(|p| p.into_inner());
        if dialed.len() >= MAX_KEPT {
            dialed.remove(0);
        }
        dialed.push(DialedCall {
            call_sid: call_sid.clone(),
            request: request.clone(),
        });
        Ok(PlacedCall {
            call_sid,
            status: CallStatus::Queued,
        })
    }

    fn describe(&self) -> String {
        "local dialer".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phone_core::PhoneNumber;

    #[tokio::test]
    async fn each_call_gets_its_own_sid_and_is_kept() {
        let dialer = LocalDialer::default();
        let request = OutboundCallRequest {
            to: PhoneNumber::parse("+14155550123").unwrap(),
            voice_url: "http://127.0.0.1/voice/outbound?outbound=OB1".into(),
            status_callback: "http://127.0.0.1/s".into(),
            amd_callback: "http://127.0.0.1/a".into(),
            ring_timeout_secs: 30,
        };
        let a = dialer.place(&request).await.unwrap();
        let b = dialer.clone().place(&request).await.unwrap();
        assert_ne!(a.call_sid, b.call_sid);
        assert_eq!(a.status, CallStatus::Queued);
        let dialed = dialer.dialed();
        assert_eq!(dialed.len(), 2);
        assert_eq!(dialed[1].call_sid, b.call_sid);
    }
}
