//! The HTTP half of a simulated call: Twilio's signed voice webhook and status callback, and
//! reading the TwiML answer.

use std::time::Duration;

use phone_twilio::signature::compute_signature;
use rand::RngCore;

use super::CallError;

/// `prefix` and 32 lowercase hex digits: Twilio's SID shape (`CA…`, `AC…`, `MZ…`).
pub fn new_sid(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

/// The `<Connect><Stream>` of a TwiML answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInstruction {
    /// `wss://` (or `ws://` locally) URL to open.
    pub url: String,
    /// `<Parameter>`s, delivered in `start.customParameters`.
    pub parameters: Vec<(String, String)>,
    /// `<Connect action>`: requested when the stream ends with the caller still there.
    pub action: Option<String>,
}

/// Finds `<Response><Connect action><Stream url>` and its parameters.
pub fn parse_twiml(xml: &str) -> Result<StreamInstruction, CallError> {
    let doc =
        roxmltree::Document::parse(xml).map_err(|e| CallError::Twiml(format!("not XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Response" {
        return Err(CallError::Twiml("root element is not <Response>".into()));
    }
    let (connect, stream) = root
        .children()
        .filter(|n| n.has_tag_name("Connect"))
        .find_map(|c| Some((c, c.children().find(|n| n.has_tag_name("Stream"))?)))
        .ok_or_else(|| CallError::Twiml("no <Connect><Stream> (bidirectional stream)".into()))?;
    let action = connect.attribute("action").map(str::to_owned);
    let url = stream
        .attribute("url")
        .ok_or_else(|| CallError::Twiml("<Stream> without url".into()))?
        .to_owned();
    if !(url.starts_with("wss://") || url.starts_with("ws://")) {
        return Err(CallError::Twiml(format!("stream URL {url} is not wss://")));
    }
    if url.contains('?') {
        return Err(CallError::Twiml(format!(
            "stream URL {url} has a query string, which Twilio drops"
        )));
    }
    let parameters = stream
        .children()
        .filter(|n| n.has_tag_name("Parameter"))
        .filter_map(|p| {
            Some((
                p.attribute("name")?.to_owned(),
                p.attribute("value")?.to_owned(),
            ))
        })
        .collect();
    Ok(StreamInstruction {
        url,
        parameters,
        action,
    })
}

/// The form Twilio posts when a call rings in (PROTOCOLS.md §1.6).
pub fn incoming_form(
    call_sid: &str,
    account_sid: &str,
    from: &str,
    to: &str,
) -> Vec<(String, String)> {
    [
        ("AccountSid", account_sid),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", call_sid),
        ("CallStatus", "ringing"),
        ("Called", to),
        ("CalledCity", ""),
        ("CalledCountry", "US"),
        ("CalledState", "CA"),
        ("CalledZip", ""),
        ("Caller", from),
        ("CallerCity", "SAN FRANCISCO"),
        ("CallerCountry", "US"),
        ("CallerState", "CA"),
        ("CallerZip", "94103"),
        // The simulated carrier fully attests the caller ID (SHAKEN/STIR "A"), as carriers do
        // for a subscriber calling from their own number.
        ("StirVerstat", "TN-Validation-Passed-A"),
        ("Direction", "inbound"),
        ("From", from),
        ("FromCity", "SAN FRANCISCO"),
        ("FromCountry", "US"),
        ("FromState", "CA"),
        ("FromZip", "94103"),
        ("To", to),
        ("ToCity", ""),
        ("ToCountry", "US"),
        ("ToState", "CA"),
        ("ToZip", ""),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Posts a form signed as Twilio signs it, over `public_url` (the URL the server believes it
/// is reached at); returns the status and body.
pub async fn post_signed(
    http: &reqwest::Client,
    send_to: &str,
    public_url: &str,
    auth_token: &str,
    form: &[(String, String)],
) -> Result<(u16, String), CallError> {
    let signature = compute_signature(auth_token, public_url, form);
    let body = serde_urlencoded::to_string(form).map_err(|e| CallError::Http(e.to_string()))?;
    let response = http
        .post(send_to)
        .header("X-Twilio-Signature", signature)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("I-Twilio-Idempotency-Token", new_sid(""))
        .header("User-Agent", "TwilioProxy/1.1")
        .timeout(Duration::from_secs(15))
        .body(body)
        .send()
        .await
        .map_err(|e| CallError::Http(format!("POST {send_to}: {e}")))?;
    let status = response.status().as_u16();
    let text = response
        .text()
        .await
        .map_err(|e| CallError::Http(format!("reading the answer of {send_to}: {e}")))?;
    Ok((status, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_stream_and_its_parameters() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Connect action="https://api/voice/stream-ended"><Stream url="wss://h/voice/stream"><Parameter name="token" value="a&amp;b"/><Parameter name="caller" value="+15550100"/></Stream></Connect></Response>"#;
        let s = parse_twiml(xml).unwrap();
        assert_eq!(s.url, "wss://h/voice/stream");
        assert_eq!(s.action.as_deref(), Some("https://api/voice/stream-ended"));
        assert_eq!(
            s.parameters,
            vec![
                ("token".to_string(), "a&b".to_string()),
                ("caller".to_string(), "+15550100".to_string())
            ]
        );
    }

    #[test]
    fn refuses_twiml_without_a_bidirectional_stream() {
        assert!(parse_twiml("<Response><Say>hi</Say></Response>").is_err());
        assert!(
            parse_twiml("<Response><Start><Stream url=\"wss://h/s\"/></Start></Response>").is_err()
        );
        assert!(
            parse_twiml("<Response><Connect><Stream url=\"https://h/s\"/></Connect></Response>")
                .is_err()
        );
        assert!(
            parse_twiml("<Response><Connect><Stream url=\"wss://h/s?x=1\"/></Connect></Response>")
                .is_err()
        );
        assert!(parse_twiml("not xml").is_err());
    }

    #[test]
    fn sids_have_twilio_shape() {
        let sid = new_sid("CA");
        assert_eq!(sid.len(), 34);
        assert!(sid[2..].chars().all(|c| c.is_ascii_hexdigit()));
    }
}
