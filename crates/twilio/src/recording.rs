//! Call recording: the `<Start><Recording>` TwiML verb's status callback, typed.
//!
//! Twilio posts it (signed like every webhook) for each event the verb asked for
//! (`recordingStatusCallbackEvent`): `in-progress` when recording starts, `completed` when the
//! file is ready, `absent` when nothing was recorded (twilio.com/docs/voice/twiml/recording).

use phone_core::{CallRecording, CallSid};

use crate::webhook::WebhookError;

/// Longest `RecordingUrl` accepted.
const MAX_URL: usize = 2048;

/// The recording statuses Twilio reports.
const STATUSES: [&str; 4] = ["in-progress", "completed", "absent", "failed"];

/// `POST /voice/recording`: a recording's progress.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingCallback {
    /// The call recorded (the parent leg).
    pub call_sid: CallSid,
    /// What to store on the call row.
    pub recording: CallRecording,
}

impl RecordingCallback {
    /// Parses the form: `CallSid`, `RecordingSid` (`RE` + 32 hex digits), `RecordingUrl`
    /// (absolute `https://`), `RecordingStatus`, and, when present, `RecordingDuration` and
    /// `RecordingChannels`.
    pub fn from_form(form: &[(String, String)]) -> Result<Self, WebhookError> {
        let get = |field: &'static str| {
            form.iter()
                .find(|(k, _)| k == field)
                .map(|(_, v)| v.as_str())
        };
        let required = |field: &'static str| get(field).ok_or(WebhookError::Missing(field));
        let invalid = |field: &'static str, reason: &str| WebhookError::Invalid {
            field,
            reason: reason.into(),
        };
        let call_sid =
            CallSid::parse(required("CallSid")?).map_err(|e| invalid("CallSid", &e.to_string()))?;
        let sid = required("RecordingSid")?;
        if !(sid.len() == 34
            && sid.starts_with("RE")
            && sid[2..].bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(invalid(
                "RecordingSid",
                "expected RE followed by 32 hex digits",
            ));
        }
        let url = required("RecordingUrl")?;
        if url.len() > MAX_URL || !url.starts_with("https://") || url.contains(char::is_whitespace)
        {
            return Err(invalid("RecordingUrl", "expected an https URL"));
        }
        let status = required("RecordingStatus")?;
        if !STATUSES.contains(&status) {
            return Err(invalid("RecordingStatus", "not a recording status"));
        }
        let number = |field: &'static str| {
            get(field)
                .filter(|v| !v.is_empty())
                .map(|v| {
                    v.parse::<u64>()
                        .map_err(|_| invalid(field, "expected a whole number"))
                })
                .transpose()
        };
        let channels = match number("RecordingChannels")? {
            None => None,
            Some(n @ 1..=2) => Some(n as u8),
            Some(_) => return Err(invalid("RecordingChannels", "expected 1 or 2")),
        };
        Ok(Self {
            call_sid,
            recording: CallRecording {
                sid: sid.to_owned(),
                url: url.to_owned(),
                status: status.to_owned(),
                channels,
                duration_secs: number("RecordingDuration")?,
            },
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

    const CALL: &str = "CA0123456789abcdef0123456789abcdef";
    const REC: &str = "RE0123456789abcdef0123456789abcdef";
    const URL: &str = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE0123456789abcdef0123456789abcdef";

    #[test]
    fn a_completed_recording_is_read_whole() {
        let cb = RecordingCallback::from_form(&form(&[
            ("CallSid", CALL),
            ("RecordingSid", REC),
            ("RecordingUrl", URL),
            ("RecordingStatus", "completed"),
            ("RecordingDuration", "42"),
            ("RecordingChannels", "2"),
            ("RecordingSource", "StartCallRecordingTwiML"),
        ]))
        .unwrap();
        assert_eq!(cb.call_sid.as_str(), CALL);
        assert_eq!(cb.recording.channels, Some(2));
        assert_eq!(cb.recording.duration_secs, Some(42));
        assert_eq!(cb.recording.status, "completed");
    }

    #[test]
    fn bad_fields_are_named() {
        let base = [
            ("CallSid", CALL),
            ("RecordingSid", REC),
            ("RecordingUrl", URL),
            ("RecordingStatus", "in-progress"),
        ];
        assert!(RecordingCallback::from_form(&form(&base)).is_ok());
        for (field, bad) in [
            ("RecordingSid", "RE123"),
            ("RecordingUrl", "http://evil.example/x"),
            ("RecordingStatus", "done"),
            ("RecordingChannels", "3"),
            ("RecordingDuration", "-1"),
            ("CallSid", "nope"),
        ] {
            let mut pairs: Vec<(&str, &str)> =
                base.iter().copied().filter(|(k, _)| *k != field).collect();
            pairs.push((field, bad));
            let err = RecordingCallback::from_form(&form(&pairs)).unwrap_err();
            assert!(err.to_string().contains(field), "{field}: {err}");
        }
        let missing: Vec<(&str, &str)> = base[..3].to_vec();
        assert_eq!(
            RecordingCallback::from_form(&form(&missing)).unwrap_err(),
            WebhookError::Missing("RecordingStatus")
        );
    }
}
