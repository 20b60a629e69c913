//! `POST /Calls.json`: an outbound call, with status callbacks and asynchronous answering
//! machine detection that waits for the end of a voicemail greeting (`DetectMessageEnd`), so
//! the AMD callback of a machine arrives at the beep.

use async_trait::async_trait;
use phone_core::ports::{OutboundCallRequest, OutboundCalls, PlacedCall, PortError};
use phone_core::{CallSid, CallStatus};
use serde::Deserialize;

use super::TwilioRest;

/// The status callbacks asked for, in Twilio's words; sent as one repeated field each, as
/// the official helper libraries do.
pub const STATUS_EVENTS: [&str; 4] = ["initiated", "ringing", "answered", "completed"];

/// The call resource Twilio answers with.
#[derive(Deserialize)]
struct WireCall {
    sid: String,
    #[serde(default)]
    status: Option<String>,
}

/// The form of `POST /Calls.json` for `request`, in the order it is sent.
pub fn call_form(request: &OutboundCallRequest, from: &str) -> Vec<(&'static str, String)> {
    let mut form = vec![
        ("To", request.to.as_str().to_owned()),
        ("From", from.to_owned()),
        ("Url", request.voice_url.clone()),
        ("Method", "POST".to_owned()),
        ("StatusCallback", request.status_callback.clone()),
        ("StatusCallbackMethod", "POST".to_owned()),
    ];
    form.extend(
        STATUS_EVENTS
            .iter()
            .map(|e| ("StatusCallbackEvent", (*e).to_owned())),
    );
    form.extend([
        ("MachineDetection", "DetectMessageEnd".to_owned()),
        ("AsyncAmd", "true".to_owned()),
        ("AsyncAmdStatusCallback", request.amd_callback.clone()),
        ("AsyncAmdStatusCallbackMethod", "POST".to_owned()),
        ("Timeout", request.ring_timeout_secs.to_string()),
    ]);
    form
}

#[async_trait]
impl OutboundCalls for TwilioRest {
    async fn place(&self, request: &OutboundCallRequest) -> Result<PlacedCall, PortError> {
        let from = self.our_number()?.as_str().to_owned();
        let form = call_form(request, &from);
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let value = self
            .request(reqwest::Method::POST, "/Calls.json", Some(&pairs), &[])
            .await?;
        let unreadable = |message: String| PortError::Upstream {
            service: "twilio",
            status: None,
            message,
        };
        let call: WireCall =
            serde_json::from_value(value).map_err(|e| unreadable(e.to_string()))?;
        let call_sid = CallSid::parse(&call.sid)
            .map_err(|e| unreadable(format!("call sid {:?}: {e}", call.sid)))?;
        let status = call
            .status
            .as_deref()
            .and_then(CallStatus::parse)
            .unwrap_or(CallStatus::Queued);
        Ok(PlacedCall { call_sid, status })
    }

    fn describe(&self) -> String {
        format!("twilio ({})", self.account_sid)
    }
}
