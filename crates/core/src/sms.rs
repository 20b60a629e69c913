//! What an inbound SMS asks before any model sees it: carrier keywords and "forget me".
//!
//! Carriers and Twilio treat STOP-family words as an opt-out (Twilio blocks further messages to
//! that sender and sends the confirmation itself), START-family words as an opt-in, and HELP
//! as a request for information. START-family words (YES among them) are an opt-in only for a
//! number that has opted out: the webhook checks that, so that "Yes" from anyone else reaches
//! the assistant (confirming a booking by text). They are matched on the whole message, case-insensitively, as
//! carriers do; "please stop by tomorrow" is not an opt-out.

/// How an inbound message must be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    /// Opt out: record it, never answer or text this number again until it opts back in.
    Stop,
    /// Opt back in, if the sender has opted out; otherwise an ordinary message.
    Start,
    /// Send the help text.
    Help,
    /// Erase what is stored about this number.
    Forget,
}

/// Classifies a message; `None` means an ordinary message for the assistant.
pub fn classify(body: &str) -> Option<Keyword> {
    let normalised: String = body
        .trim()
        .trim_end_matches(['.', '!'])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase();
    match normalised.as_str() {
        "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" | "OPTOUT" | "REVOKE" => {
            Some(Keyword::Stop)
        }
        "START" | "UNSTOP" | "YES" | "OPTIN" => Some(Keyword::Start),
        "HELP" | "INFO" => Some(Keyword::Help),
        "FORGET ME" | "FORGET" | "DELETE MY DATA" | "ERASE MY DATA" => Some(Keyword::Forget),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_match_the_whole_message_only() {
        assert_eq!(classify("stop"), Some(Keyword::Stop));
        assert_eq!(classify("  Unsubscribe. "), Some(Keyword::Stop));
        assert_eq!(classify("START"), Some(Keyword::Start));
        assert_eq!(classify("help"), Some(Keyword::Help));
        assert_eq!(classify("Forget   me!"), Some(Keyword::Forget));
        assert_eq!(classify("please stop by tomorrow"), None);
        assert_eq!(classify("can you help me book a meeting"), None);
    }
}
