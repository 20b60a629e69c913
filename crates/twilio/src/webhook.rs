//! Typed Twilio webhook forms (PROTOCOLS.md §1.6), parsed from the decoded form pairs with
//! errors that name the field.

use phone_core::{CallSid, CallStatus, PhoneNumber};

/// A field that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A required field is absent.
    #[error("missing form field {0}")]
    Missing(&'static str),
    /// A field's value is not usable.
    #[error("form field {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

struct Form<'a>(&'a [(String, String)]);

impl Form<'_> {
    fn get(&self, field: &'static str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, field: &'static str) -> Result<&str, WebhookError> {
        self.get(field).ok_or(WebhookError::Missing(field))
    }

    fn call_sid(&self) -> Result<CallSid, WebhookError> {
        CallSid::parse(self.required("CallSid")?).map_err(|e| WebhookError::Invalid {
            field: "CallSid",
            reason: e.to_string(),
        })
    }

    fn call_status(&self) -> Result<CallStatus, WebhookError> {
        let raw = self.required("CallStatus")?;
        CallStatus::parse(raw).ok_or_else(|| WebhookError::Invalid {
            field: "CallStatus",
            reason: "not a Twilio call status".into(),
        })
    }

    /// A party that may legitimately not be a phone number (`anonymous`, `client:alice`, SIP):
    /// `None` then, never an error, so such calls are still answered.
    fn party(&self, field: &'static str) -> Option<PhoneNumber> {
        self.get(field).and_then(|v| PhoneNumber::parse(v).ok())
    }

    fn number(&self, field: &'static str) -> Result<u64, WebhookError> {
        self.required(field)?
            .parse()
            .map_err(|_| WebhookError::Invalid {
                field,
                reason: "expected a whole number".into(),
            })
    }
}

/// `POST /voice/incoming`: a call rings in.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceWebhook {
    /// The call.
    pub call_sid: CallSid,
    /// Twilio account.
    pub account_sid: String,
    /// Caller, when it is a phone number.
    pub from: Option<PhoneNumber>,
    /// Called number, when it is a phone number.
    pub to: Option<PhoneNumber>,
    /// Status (`ringing` on arrival).
    pub call_status: CallStatus,
    /// `inbound`, `outbound-api`, …
    pub direction: Option<String>,
    /// Twilio's STIR/SHAKEN verdict on the caller ID (`TN-Validation-Passed-A`, …), sent only
    /// for calls that came with a SHAKEN PASSporT; bounded to 64 characters.
    pub stir_verstat: Option<String>,
}

impl VoiceWebhook {
    /// Parses the form.
    pub fn from_form(form: &[(String, String)]) -> Result<Self, WebhookError> {
        let f = Form(form);
        Ok(Self {
            call_sid: f.call_sid()?,
            account_sid: f.required("AccountSid")?.to_owned(),
            from: f.party("From"),
            to: f.party("To"),
            call_status: f.call_status()?,
            direction: f.get("Direction").map(str::to_owned),
            stir_verstat: f
                .get("StirVerstat")
                .filter(|v| v.len() <= 64)
                .map(str::to_owned),
        })
    }
}

/// The `<Gather>` callback of the owner-PIN prompt (`POST /voice/pin`).
#[derive(Debug, Clone, PartialEq)]
pub struct PinDigits {
    /// The call.
    pub call_sid: CallSid,
    /// The keys pressed before `#` or the timeout; empty when none.
    pub digits: String,
}

impl PinDigits {
    /// Most keys kept: a PIN has at most 12 digits; more is not a PIN.
    pub const MAX_DIGITS: usize = 32;

    /// Parses the form.
    pub fn from_form(form: &[(String, String)]) -> Result<Self, WebhookError> {
        let f = Form(form);
        let digits = f.get("Digits").unwrap_or_default();
        if digits.len() > Self::MAX_DIGITS
            || !digits
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
        {
            return Err(WebhookError::Invalid {
                field: "Digits",
                reason: "expected up to 32 keypad keys".into(),
            });
        }
        Ok(Self {
            call_sid: f.call_sid()?,
            digits: digits.to_owned(),
        })
    }
}

/// `POST /voice/status`: a call status callback.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusCallback {
    /// The call.
    pub call_sid: CallSid,
    /// New status.
    pub call_status: CallStatus,
    /// Seconds, sent with `completed`.
    pub call_duration: Option<u64>,
    /// Order of callbacks for this call.
    pub sequence_number: Option<u64>,
}

impl StatusCallback {
    /// Parses the form.
    pub fn from_form(form: &[(String, String)]) -> Result<Self, WebhookError> {
        let f = Form(form);
        Ok(Self {
            call_sid: f.call_sid()?,
            call_status: f.call_status()?,
            call_duration: f
                .get("CallDuration")
                .map(|_| f.number("CallDuration"))
                .transpose()?,
            sequence_number: f
                .get("SequenceNumber")
                .map(|_| f.number("SequenceNumber"))
                .transpose()?,
        })
    }
}

/// The asynchronous answering-machine-detection callback of an outbound call
/// (`AsyncAmdStatusCallback`): what answered.
#[derive(Debug, Clone, PartialEq)]
pub struct AmdCallback {
    /// The call.
    pub call_sid: CallSid,
    /// Twilio's verdict.
    pub answered_by: phone_core::outbound::AnsweredBy,
    /// Milliseconds detection took, when sent.
    pub detection_ms: Option<u64>,
}

impl AmdCallback {
    /// Parses the form.
    pub fn from_form(form: &[(String, String)]) -> Result<Self, WebhookError> {
        let f = Form(form);
        let raw = f.required("AnsweredBy")?;
        let answered_by =
            phone_core::outbound::AnsweredBy::parse(raw).ok_or_else(|| WebhookError::Invalid {
                field: "AnsweredBy",
                reason: "not a Twilio AMD verdict".into(),
            })?;
        Ok(Self {
            call_sid: f.call_sid()?,
            answered_by,
            detection_ms: f
                .get("MachineDetectionDuration")
                .map(|_| f.number("MachineDetectionDuration"))
                .transpose()?,
        })
    }
}

/// `POST /sms/incoming`: an SMS arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct SmsWebhook {
    /// Twilio's id of the message (`SM…`/`MM…`), the idempotency key of the webhook.
    pub message_sid: String,
    /// Twilio account.
    pub account_sid: String,
    /// Sender.
    pub from: PhoneNumber,
    /// Our number.
    pub to: String,
    /// Text (bounded by Twilio to 1600 characters).
    pub body: String,
    /// Attached media count.
    pub num_media: u64,
}

impl SmsWebhook {
    /// Parses the form.
    pub fn from_form(form: &[(String, String)]) -> Result<Self, WebhookError> {
        let f = Form(form);
        let message_sid = f.required("MessageSid")?;
        if !(message_sid.starts_with("SM") || message_sid.starts_with("MM")) {
            return Err(WebhookError::Invalid {
                field: "MessageSid",
                reason: "expected SM… or MM…".into(),
            });
        }
        Ok(Self {
            message_sid: message_sid.to_owned(),
            account_sid: f.required("AccountSid")?.to_owned(),
            from: PhoneNumber::parse(f.required("From")?).map_err(|e| WebhookError::Invalid {
                field: "From",
                reason: e.to_string(),
            })?,
            to: f.required("To")?.to_owned(),
            body: f.get("Body").unwrap_or_default().to_owned(),
            num_media: f
                .get("NumMedia")
                .map(|_| f.number("NumMedia"))
                .transpose()?
                .unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const SID: &str = "CA0123456789abcdef0123456789abcdef";

    #[test]
    fn anonymous_caller_is_answered_without_a_number() {
        let w = VoiceWebhook::from_form(&form(&[
            ("CallSid", SID),
            ("AccountSid", "AC1"),
            ("From", "anonymous"),
            ("To", "+14155550999"),
            ("CallStatus", "ringing"),
        ]))
        .unwrap();
        assert_eq!(w.from, None);
        assert_eq!(w.to.unwrap().as_str(), "+14155550999");
    }

    #[test]
    fn errors_name_the_field() {
        let err = VoiceWebhook::from_form(&form(&[("CallSid", "nope")])).unwrap_err();
        assert!(err.to_string().contains("CallSid"));
        let err = StatusCallback::from_form(&form(&[("CallSid", SID), ("CallStatus", "done")]))
            .unwrap_err();
        assert!(err.to_string().contains("CallStatus"));
        let err = StatusCallback::from_form(&form(&[
            ("CallSid", SID),
            ("CallStatus", "completed"),
            ("CallDuration", "x"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("CallDuration"));
    }

    #[test]
    fn amd_callback_parses_the_verdict() {
        let w = AmdCallback::from_form(&form(&[
            ("CallSid", SID),
            ("AccountSid", "AC1"),
            ("AnsweredBy", "machine_end_beep"),
            ("MachineDetectionDuration", "4120"),
        ]))
        .unwrap();
        assert_eq!(
            w.answered_by,
            phone_core::outbound::AnsweredBy::MachineEndBeep
        );
        assert_eq!(w.detection_ms, Some(4120));
        let err = AmdCallback::from_form(&form(&[("CallSid", SID), ("AnsweredBy", "robot")]))
            .unwrap_err();
        assert!(err.to_string().contains("AnsweredBy"));
    }

    #[test]
    fn sms_webhook_parses() {
        let w = SmsWebhook::from_form(&form(&[
            ("MessageSid", "SM123"),
            ("AccountSid", "AC1"),
            ("From", "+14155550123"),
            ("To", "+14155550999"),
            ("Body", "hi"),
            ("NumMedia", "0"),
        ]))
        .unwrap();
        assert_eq!(w.body, "hi");
    }
}
