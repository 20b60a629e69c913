//! TwiML responses (PROTOCOLS.md §1.1), built from typed verbs with XML escaping.

use std::fmt::Write;

/// A TwiML value that cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwimlError {
    /// `<Stream url>` must be `wss://` (Twilio error 31922).
    #[error("stream URL must start with wss:// (or ws:// for local testing)")]
    StreamScheme,
    /// Twilio drops a query string from a stream URL and may fail the handshake (31920); use
    /// `<Parameter>`s instead.
    #[error("stream URL must not contain a query string; pass values as <Parameter>s")]
    StreamQuery,
    /// A `<Connect action>` (or a recording status callback) must be an absolute `https://`
    /// (or `http://`) URL: we always send one, as Twilio requires for TwiML given to a live
    /// call (error 15004).
    #[error("<Connect action> and callbacks must be absolute http(s) URLs")]
    ActionUrl,
}

/// One TwiML verb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// `<Connect action><Stream url>` with `<Parameter>`s: a bidirectional media stream.
    ConnectStream {
        /// `wss://` URL without a query.
        url: String,
        /// Name/value pairs delivered in `start.customParameters`.
        parameters: Vec<(String, String)>,
        /// Absolute URL Twilio POSTs to when the stream ends; its answer is what the caller
        /// hears next (see [`connect_stream`]). `None`: the document's next verb, or hang-up.
        action: Option<String>,
    },
    /// `<Start><Recording>`: Twilio records the call from here on, both tracks in two
    /// channels (the caller on one, what Twilio plays on the other), and posts each recording
    /// event (`in-progress`, `completed`, `absent`) to `status_callback`; the document goes on
    /// at once (twilio.com/docs/voice/twiml/recording).
    StartDualRecording {
        /// Absolute URL of the recording status callback.
        status_callback: String,
    },
    /// `<Say>` text.
    Say(String),
    /// `<Dial>` a number; `caller_id` keeps or sets the shown number.
    Dial {
        /// E.164 number to dial.
        number: String,
        /// Caller id to present.
        caller_id: Option<String>,
        /// Seconds to ring.
        timeout_secs: Option<u32>,
    },
    /// `<Pause length>`.
    Pause(u32),
    /// `<Hangup/>`.
    Hangup,
    /// `<Message>` (SMS reply).
    Message(String),
    /// `<Gather input="dtmf">` with a spoken prompt: keypad digits up to `#` or the timeout
    /// are POSTed to `action`, empty too (`actionOnEmptyResult`), so the flow always goes on
    /// from there.
    GatherDigits {
        /// Absolute URL the digits are POSTed to.
        action: String,
        /// What `<Say>` asks inside the gather.
        prompt: String,
        /// Seconds of silence after the last key before giving up.
        timeout_secs: u32,
    },
}

/// A `<Response>` document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    verbs: Vec<Verb>,
}

/// Escapes text for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0; drop them.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

impl Response {
    /// An empty response (Twilio ends the call or, for SMS, sends nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a verb, checking stream URLs.
    pub fn push(mut self, verb: Verb) -> Result<Self, TwimlError> {
        if let Verb::ConnectStream { url, action, .. } = &verb {
            if !(url.starts_with("wss://") || url.starts_with("ws://")) {
                return Err(TwimlError::StreamScheme);
            }
            if url.contains('?') {
                return Err(TwimlError::StreamQuery);
            }
            if let Some(action) = action
                && !is_absolute_http(action)
            {
                return Err(TwimlError::ActionUrl);
            }
        }
        if let Verb::StartDualRecording { status_callback } = &verb
            && !is_absolute_http(status_callback)
        {
            return Err(TwimlError::ActionUrl);
        }
        self.verbs.push(verb);
        Ok(self)
    }

    /// The XML document.
    pub fn render(&self) -> String {
        let mut xml = String::from(r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#);
        for verb in &self.verbs {
            // Writing to a String cannot fail.
            let _ = match verb {
                Verb::ConnectStream {
                    url,
                    parameters,
                    action,
                } => {
                    let _ = match action {
                        Some(action) => write!(xml, r#"<Connect action="{}">"#, escape(action)),
                        None => write!(xml, "<Connect>"),
                    };
                    let _ = write!(xml, r#"<Stream url="{}">"#, escape(url));
                    for (name, value) in parameters {
                        let _ = write!(
                            xml,
                            r#"<Parameter name="{}" value="{}"/>"#,
                            escape(name),
                            escape(value)
                        );
                    }
                    write!(xml, "</Stream></Connect>")
                }
                Verb::StartDualRecording { status_callback } => write!(
                    xml,
                    r#"<Start><Recording channels="dual" track="both" recordingStatusCallback="{}" recordingStatusCallbackMethod="POST" recordingStatusCallbackEvent="in-progress completed absent"/></Start>"#,
                    escape(status_callback)
                ),
                Verb::Say(text) => write!(xml, "<Say>{}</Say>", escape(text)),
                Verb::Dial {
                    number,
                    caller_id,
                    timeout_secs,
                } => {
                    let _ = write!(xml, "<Dial");
                    if let Some(id) = caller_id {
                        let _ = write!(xml, r#" callerId="{}""#, escape(id));
                    }
                    if let Some(t) = timeout_secs {
                        let _ = write!(xml, r#" timeout="{t}""#);
                    }
                    write!(xml, "><Number>{}</Number></Dial>", escape(number))
                }
                Verb::Pause(secs) => write!(xml, r#"<Pause length="{secs}"/>"#),
                Verb::Hangup => write!(xml, "<Hangup/>"),
                Verb::Message(text) => write!(xml, "<Message>{}</Message>", escape(text)),
                Verb::GatherDigits {
                    action,
                    prompt,
                    timeout_secs,
                } => write!(
                    xml,
                    r##"<Gather input="dtmf" action="{}" method="POST" finishOnKey="#" timeout="{timeout_secs}" actionOnEmptyResult="true"><Say>{}</Say></Gather>"##,
                    escape(action),
                    escape(prompt)
                ),
            };
        }
        xml.push_str("</Response>");
        xml
    }
}

fn is_absolute_http(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
}

/// `<Response><Connect action><Stream url>` with parameters: the voice webhook's answer.
///
/// What Twilio does with `action` (twilio.com/docs/voice/twiml/connect, "action"; and
/// /docs/voice/twiml/stream with errors 31920, 31921 and 31901 under /docs/api/errors):
/// - `<Connect><Stream>` blocks the document until the stream ends. It ends when our stream
///   host closes the WebSocket ("Twilio resumes the remaining TwiML only after your server
///   closes the WebSocket connection", 31921). A stream Twilio cannot open at all (handshake
///   refused, 31920; no answer, 31901) is logged as an error of the `<Stream>`; the pages do
///   not spell out what follows, and we rely on `<Connect>` then ending like any other, so the
///   action covers an unreachable stream host too.
/// - "When the `<Connect>` verb ends, Twilio sends an HTTP request to this URL with Twilio's
///   standard request parameters" (`CallSid`, `AccountSid`, `From`, `To`, `CallStatus`,
///   `Direction`, `ApiVersion`, …; `<Stream>` documents no extra ones), by POST unless
///   `method` says otherwise, signed with `X-Twilio-Signature` like every webhook. The TwiML
///   it answers is what the call does next. Without an action the next verb runs, and with
///   none the call ends: the silence this URL exists to replace.
/// - After the caller hangs up nothing more can be played, and a REST update of the call
///   (our `transfer_call` and `end_call`) replaces the running document at once ("modify
///   calls in progress"); the docs do not say whether the action is still requested then, so
///   the action's handler must answer those ends with nothing audible.
pub fn connect_stream(
    url: &str,
    parameters: &[(String, String)],
    action: Option<&str>,
) -> Result<String, TwimlError> {
    Ok(Response::new()
        .push(Verb::ConnectStream {
            url: url.to_owned(),
            parameters: parameters.to_vec(),
            action: action.map(str::to_owned),
        })?
        .render())
}

/// `<Response><Hangup/></Response>`: end the call, saying nothing.
pub fn hang_up() -> String {
    Response {
        verbs: vec![Verb::Hangup],
    }
    .render()
}

/// `<Say>` the text, then `<Dial>` the number for up to `ring_secs`: an apology followed by a
/// transfer to a person.
pub fn say_then_dial(text: &str, number: &str, ring_secs: u32) -> String {
    Response {
        verbs: vec![
            Verb::Say(text.to_owned()),
            Verb::Dial {
                number: number.to_owned(),
                caller_id: None,
                timeout_secs: Some(ring_secs),
            },
        ],
    }
    .render()
}

/// `<Say>` the text, then `<Hangup/>`.
pub fn say_then_hang_up(text: &str) -> String {
    Response {
        verbs: vec![Verb::Say(text.to_owned()), Verb::Hangup],
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_stream_carries_escaped_parameters() {
        let xml = connect_stream(
            "wss://h.example/voice/stream",
            &[("token".into(), "a\"b<c>&'".into())],
            None,
        )
        .unwrap();
        assert_eq!(
            xml,
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="wss://h.example/voice/stream"><Parameter name="token" value="a&quot;b&lt;c&gt;&amp;&apos;"/></Stream></Connect></Response>"#
        );
    }

    #[test]
    fn connect_carries_an_absolute_action() {
        let xml = connect_stream(
            "wss://h.example/voice/stream",
            &[],
            Some("https://api.example/voice/stream-ended?x=1&y=2"),
        )
        .unwrap();
        assert!(
            xml.contains(r#"<Response><Connect action="https://api.example/voice/stream-ended?x=1&amp;y=2"><Stream url="wss://h.example/voice/stream"></Stream></Connect></Response>"#),
            "{xml}"
        );
        for bad in ["/voice/stream-ended", "voice", "https:///x", "ftp://h/x"] {
            assert_eq!(
                connect_stream("wss://h/s", &[], Some(bad)),
                Err(TwimlError::ActionUrl),
                "{bad}"
            );
        }
    }

    #[test]
    fn fallback_documents() {
        assert!(hang_up().ends_with("<Response><Hangup/></Response>"));
        assert!(say_then_dial("Sorry & hold", "+14155550100", 30).ends_with(
            r#"<Response><Say>Sorry &amp; hold</Say><Dial timeout="30"><Number>+14155550100</Number></Dial></Response>"#
        ));
        assert!(
            say_then_hang_up("Sorry").ends_with("<Response><Say>Sorry</Say><Hangup/></Response>")
        );
    }

    #[test]
    fn stream_url_with_query_or_https_is_refused() {
        assert_eq!(
            connect_stream("wss://h/x?t=1", &[], None),
            Err(TwimlError::StreamQuery)
        );
        assert_eq!(
            connect_stream("https://h/x", &[], None),
            Err(TwimlError::StreamScheme)
        );
    }

    #[test]
    fn verbs_render_in_order() {
        let xml = Response::new()
            .push(Verb::Say("One moment & hold".into()))
            .and_then(|r| {
                r.push(Verb::Dial {
                    number: "+14155550100".into(),
                    caller_id: None,
                    timeout_secs: Some(20),
                })
            })
            .and_then(|r| r.push(Verb::Hangup))
            .unwrap()
            .render();
        assert!(xml.ends_with(
            r#"<Response><Say>One moment &amp; hold</Say><Dial timeout="20"><Number>+14155550100</Number></Dial><Hangup/></Response>"#
        ));
    }

    #[test]
    fn gather_asks_for_digits_and_always_calls_back() {
        let xml = Response::new()
            .push(Verb::GatherDigits {
                action: "https://h.example/voice/pin?a=1&b=2".into(),
                prompt: "Enter your PIN".into(),
                timeout_secs: 6,
            })
            .unwrap()
            .render();
        assert!(xml.ends_with(
            r##"<Response><Gather input="dtmf" action="https://h.example/voice/pin?a=1&amp;b=2" method="POST" finishOnKey="#" timeout="6" actionOnEmptyResult="true"><Say>Enter your PIN</Say></Gather></Response>"##
        ));
    }

    #[test]
    fn a_dual_recording_starts_before_the_stream() {
        let xml = Response::new()
            .push(Verb::StartDualRecording {
                status_callback: "https://api.example.com/voice/recording".into(),
            })
            .unwrap()
            .push(Verb::ConnectStream {
                url: "wss://h.example.com/voice/stream".into(),
                parameters: vec![],
                action: None,
            })
            .unwrap()
            .render();
        assert!(xml.contains(r#"<Start><Recording channels="dual" track="both" recordingStatusCallback="https://api.example.com/voice/recording" recordingStatusCallbackMethod="POST" recordingStatusCallbackEvent="in-progress completed absent"/></Start><Connect>"#), "{xml}");
        let relative = Response::new().push(Verb::StartDualRecording {
            status_callback: "/voice/recording".into(),
        });
        assert_eq!(relative, Err(TwimlError::ActionUrl));
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(escape("a\u{0}b\u{1b}c\n"), "abc\n");
    }
}
