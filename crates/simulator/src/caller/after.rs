//! After the stream: Twilio requests the `<Connect action>` URL once `<Connect><Stream>` ends
//! with the caller still on the line (the server closed the socket, or it could not be opened),
//! and plays the TwiML it answers. This asks the same and reads what the caller would hear.

use super::CallError;
use super::webhook::post_signed;

/// One verb of the TwiML that follows the stream, as the caller experiences it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextVerb {
    /// `<Say>`: words spoken to the caller.
    Say(String),
    /// `<Dial>`: the caller is put through to this number.
    Dial(String),
    /// `<Hangup/>`: the call ends.
    Hangup,
    /// Any other verb, by name.
    Other(String),
}

impl std::fmt::Display for NextVerb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Say(text) => write!(f, "hears \"{text}\""),
            Self::Dial(number) => write!(f, "is put through to {number}"),
            Self::Hangup => write!(f, "is hung up on"),
            Self::Other(verb) => write!(f, "gets <{verb}>"),
        }
    }
}

/// Reads the verbs of a `<Response>`.
pub fn parse_next(xml: &str) -> Result<Vec<NextVerb>, CallError> {
    let doc =
        roxmltree::Document::parse(xml).map_err(|e| CallError::Twiml(format!("not XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Response" {
        return Err(CallError::Twiml("root element is not <Response>".into()));
    }
    Ok(root
        .children()
        .filter(|n| n.is_element())
        .map(|verb| match verb.tag_name().name() {
            "Say" => NextVerb::Say(verb.text().unwrap_or_default().to_owned()),
            "Dial" => {
                let number = verb
                    .children()
                    .find(|n| n.has_tag_name("Number"))
                    .and_then(|n| n.text())
                    .or_else(|| verb.text())
                    .unwrap_or_default();
                NextVerb::Dial(number.trim().to_owned())
            }
            "Hangup" => NextVerb::Hangup,
            other => NextVerb::Other(other.to_owned()),
        })
        .collect())
}

/// Requests the action as Twilio does (signed POST of the call's standard parameters, the call
/// still `in-progress`) and reads the answer. `action` is the absolute URL from the TwiML,
/// which signatures cover; it is sent to `server` when it is on the server's `public` base.
pub async fn request_action(
    http: &reqwest::Client,
    server: &str,
    public: &str,
    action: &str,
    auth_token: &str,
    call_form: &[(String, String)],
) -> Result<Vec<NextVerb>, CallError> {
    let send_to = match action.strip_prefix(public) {
        Some(path) => format!("{server}{path}"),
        None => action.to_owned(),
    };
    let mut form = call_form.to_vec();
    form.retain(|(k, _)| k != "CallStatus");
    form.push(("CallStatus".into(), "in-progress".into()));
    let (status, body) = post_signed(http, &send_to, action, auth_token, &form).await?;
    if status != 200 {
        return Err(CallError::Rejected {
            step: "POST <Connect action>",
            status,
            body,
        });
    }
    parse_next(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_say_dial_and_hangup() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say>Sorry &amp; hold</Say><Dial timeout="30"><Number>+14155550177</Number></Dial><Hangup/><Pause length="1"/></Response>"#;
        assert_eq!(
            parse_next(xml).unwrap(),
            vec![
                NextVerb::Say("Sorry & hold".into()),
                NextVerb::Dial("+14155550177".into()),
                NextVerb::Hangup,
                NextVerb::Other("Pause".into()),
            ]
        );
        assert!(parse_next("<Hangup/>").is_err());
    }
}
