//! Media Streams messages (PROTOCOLS.md §1.2–1.3).
//!
//! This is the bridge's hot path: a call sends 50 media frames a second each way. Inbound
//! frames are parsed borrowing the base64 payload from the frame text (no copy, never decoded);
//! outbound messages are written straight into a `String`.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Deserializer};

/// Largest frame accepted from Twilio. A 20 ms media frame is about 300 bytes; `start` with
/// custom parameters a few kB. Anything bigger is dropped unparsed.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Why an inbound frame was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// Larger than [`MAX_FRAME_BYTES`].
    #[error("frame of {0} bytes exceeds the {MAX_FRAME_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not JSON, or a known event with missing or mistyped fields.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// An event this bridge does not know; newer Twilio versions may add some.
    #[error("unknown event")]
    UnknownEvent,
}

/// Twilio sends numbers as strings ("sequenceNumber": "4"); accept either.
fn u64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Lenient<'a> {
        Number(u64),
        #[serde(borrow)]
        Text(Cow<'a, str>),
    }
    match Lenient::deserialize(d)? {
        Lenient::Number(n) => Ok(n),
        Lenient::Text(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

/// `start.mediaFormat`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MediaFormat {
    /// `audio/x-mulaw`.
    pub encoding: String,
    /// 8000.
    #[serde(rename = "sampleRate")]
    pub sample_rate: u32,
    /// 1.
    pub channels: u32,
}

/// The `start` message body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Start {
    /// Twilio account.
    #[serde(rename = "accountSid")]
    pub account_sid: String,
    /// This stream.
    #[serde(rename = "streamSid")]
    pub stream_sid: String,
    /// The call.
    #[serde(rename = "callSid")]
    pub call_sid: String,
    /// Tracks streamed (`inbound`).
    #[serde(default)]
    pub tracks: Vec<String>,
    /// The TwiML `<Parameter>`s.
    #[serde(rename = "customParameters", default)]
    pub custom_parameters: HashMap<String, String>,
    /// Audio format.
    #[serde(rename = "mediaFormat")]
    pub media_format: Option<MediaFormat>,
}

/// The `media` message body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Media<'a> {
    /// `inbound` (caller audio).
    #[serde(default, borrow)]
    pub track: Option<Cow<'a, str>>,
    /// Counts from 1.
    #[serde(deserialize_with = "u64_lenient")]
    pub chunk: u64,
    /// Milliseconds since the stream started.
    #[serde(deserialize_with = "u64_lenient")]
    pub timestamp: u64,
    /// Base64 μ-law, passed through undecoded.
    #[serde(borrow)]
    pub payload: Cow<'a, str>,
}

/// The `mark` message body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Mark<'a> {
    /// The name we gave the mark.
    #[serde(borrow)]
    pub name: Cow<'a, str>,
}

/// The `dtmf` message body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Dtmf {
    /// `inbound_track`: the caller pressed it.
    #[serde(default)]
    pub track: Option<String>,
    /// The key pressed, as Twilio wrote it (untrusted: read it with [`Dtmf::key`]).
    pub digit: String,
}

impl Dtmf {
    /// The key, when `digit` is exactly one keypad key (`0`–`9`, `*`, `#`, `A`–`D`).
    pub fn key(&self) -> Option<phone_core::keypad::Key> {
        phone_core::keypad::Key::parse(&self.digit)
    }
}

/// A message from Twilio.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum StreamEvent<'a> {
    /// The socket is up.
    Connected {
        /// `Call`.
        #[serde(default)]
        protocol: Option<String>,
    },
    /// The stream started.
    Start {
        /// Details.
        start: Start,
    },
    /// Caller audio.
    Media {
        /// The frame.
        #[serde(borrow)]
        media: Media<'a>,
    },
    /// A key press.
    Dtmf {
        /// Which.
        dtmf: Dtmf,
    },
    /// Audio queued before a mark we sent has played (or was cleared).
    Mark {
        /// Which mark.
        #[serde(borrow)]
        mark: Mark<'a>,
    },
    /// The stream ended (call hung up or stream stopped).
    Stop,
    /// Any other event.
    #[serde(other)]
    Unknown,
}

/// A `media` frame read without the tagged-enum machinery (which buffers every field).
#[derive(Deserialize)]
struct MediaFrame<'a> {
    #[serde(borrow)]
    media: Media<'a>,
}

/// Parses one text frame from Twilio, with the size cap applied first.
pub fn parse_stream_event(text: &str) -> Result<StreamEvent<'_>, MediaError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(MediaError::TooLarge(text.len()));
    }
    // 50 media frames a second per call: take the direct path when the frame starts the way
    // Twilio writes it; anything else goes through the general parser.
    if text.starts_with(r#"{"event":"media""#)
        && let Ok(frame) = serde_json::from_str::<MediaFrame<'_>>(text)
    {
        return Ok(StreamEvent::Media { media: frame.media });
    }
    match serde_json::from_str::<StreamEvent<'_>>(text) {
        Ok(StreamEvent::Unknown) => Err(MediaError::UnknownEvent),
        Ok(event) => Ok(event),
        Err(e) => Err(MediaError::Malformed(e.to_string())),
    }
}

fn is_base64(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

fn push_json_string(out: &mut String, s: &str) {
    // Identifiers (MZ…, mark names we build) need no escaping; fall back to serde otherwise.
    if s.bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::Value::String(s.to_owned()).to_string());
    }
}

/// `{"event":"media","streamSid":…,"media":{"payload":…}}`: audio to play to the caller.
pub fn media_message(stream_sid: &str, payload_b64: &str) -> String {
    let mut out = String::with_capacity(64 + stream_sid.len() + payload_b64.len());
    out.push_str(r#"{"event":"media","streamSid":"#);
    push_json_string(&mut out, stream_sid);
    out.push_str(r#","media":{"payload":"#);
    if is_base64(payload_b64) {
        out.push('"');
        out.push_str(payload_b64);
        out.push('"');
    } else {
        push_json_string(&mut out, payload_b64);
    }
    out.push_str("}}");
    out
}

/// `{"event":"mark","streamSid":…,"mark":{"name":…}}`: Twilio echoes it once the audio before
/// it has played.
pub fn mark_message(stream_sid: &str, name: &str) -> String {
    let mut out = String::with_capacity(64 + stream_sid.len() + name.len());
    out.push_str(r#"{"event":"mark","streamSid":"#);
    push_json_string(&mut out, stream_sid);
    out.push_str(r#","mark":{"name":"#);
    push_json_string(&mut out, name);
    out.push_str("}}");
    out
}

/// `{"event":"clear","streamSid":…}`: drop audio queued at Twilio (barge-in).
pub fn clear_message(stream_sid: &str) -> String {
    let mut out = String::with_capacity(40 + stream_sid.len());
    out.push_str(r#"{"event":"clear","streamSid":"#);
    push_json_string(&mut out, stream_sid);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn parses_every_twilio_message_shape() {
        let start = r#"{"event":"start","sequenceNumber":"1","streamSid":"MZ1","start":{"accountSid":"AC1","streamSid":"MZ1","callSid":"CA1","tracks":["inbound"],"customParameters":{"token":"t"},"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}"#;
        match parse_stream_event(start).unwrap() {
            StreamEvent::Start { start } => {
                assert_eq!(start.custom_parameters["token"], "t");
                assert_eq!(start.media_format.unwrap().sample_rate, 8000);
            }
            other => panic!("{other:?}"),
        }
        let media = r#"{"event":"media","sequenceNumber":"4","streamSid":"MZ1","media":{"track":"inbound","chunk":"2","timestamp":"5","payload":"/w=="}}"#;
        match parse_stream_event(media).unwrap() {
            StreamEvent::Media { media } => {
                assert_eq!((media.chunk, media.timestamp), (2, 5));
                assert_eq!(media.payload, "/w==");
                assert!(
                    matches!(media.payload, Cow::Borrowed(_)),
                    "payload is not copied"
                );
            }
            other => panic!("{other:?}"),
        }
        let mark =
            r#"{"event":"mark","sequenceNumber":"4","streamSid":"MZ1","mark":{"name":"a:1"}}"#;
        assert!(
            matches!(parse_stream_event(mark).unwrap(), StreamEvent::Mark { mark } if mark.name == "a:1")
        );
        let stop = r#"{"event":"stop","sequenceNumber":"5","streamSid":"MZ1","stop":{"accountSid":"AC1","callSid":"CA1"}}"#;
        assert_eq!(parse_stream_event(stop).unwrap(), StreamEvent::Stop);
        assert!(matches!(
            parse_stream_event(r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#)
                .unwrap(),
            StreamEvent::Connected { .. }
        ));
        let dtmf = r#"{"event":"dtmf","streamSid":"MZ1","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"1"}}"#;
        match parse_stream_event(dtmf).unwrap() {
            StreamEvent::Dtmf { dtmf } => {
                assert_eq!(dtmf.key(), Some(phone_core::keypad::Key::Digit(1)));
                assert_eq!(dtmf.track.as_deref(), Some("inbound_track"));
            }
            other => panic!("{other:?}"),
        }
        let odd = r#"{"event":"dtmf","streamSid":"MZ1","dtmf":{"digit":"12"}}"#;
        match parse_stream_event(odd).unwrap() {
            StreamEvent::Dtmf { dtmf } => assert_eq!(dtmf.key(), None, "not one key"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_frames_are_typed_errors() {
        assert_eq!(
            parse_stream_event(r#"{"event":"sparkle"}"#),
            Err(MediaError::UnknownEvent)
        );
        assert!(matches!(
            parse_stream_event("not json"),
            Err(MediaError::Malformed(_))
        ));
        assert!(matches!(
            parse_stream_event(r#"{"event":"media","media":{}}"#),
            Err(MediaError::Malformed(_))
        ));
        let huge = format!(
            r#"{{"event":"media","x":"{}"}}"#,
            "a".repeat(MAX_FRAME_BYTES)
        );
        assert!(matches!(
            parse_stream_event(&huge),
            Err(MediaError::TooLarge(_))
        ));
    }

    #[test]
    fn outbound_messages_are_the_json_twilio_expects() {
        let parse = |s: String| serde_json::from_str::<Value>(&s).unwrap();
        assert_eq!(
            media_message("MZ1", "AAEC/w=="),
            r#"{"event":"media","streamSid":"MZ1","media":{"payload":"AAEC/w=="}}"#
        );
        assert_eq!(
            parse(media_message("MZ1", "AAEC/w==")),
            json!({"event":"media","streamSid":"MZ1","media":{"payload":"AAEC/w=="}})
        );
        assert_eq!(
            parse(mark_message("MZ1", "item_1:40:g0:m1")),
            json!({"event":"mark","streamSid":"MZ1","mark":{"name":"item_1:40:g0:m1"}})
        );
        assert_eq!(
            parse(clear_message("MZ1")),
            json!({"event":"clear","streamSid":"MZ1"})
        );
        // Hostile input stays valid JSON.
        assert_eq!(
            parse(mark_message("MZ\"1", "a\\b")),
            json!({"event":"mark","streamSid":"MZ\"1","mark":{"name":"a\\b"}})
        );
        assert_eq!(
            parse(media_message("MZ1", "\"}")),
            json!({"event":"media","streamSid":"MZ1","media":{"payload":"\"}"}})
        );
    }
}
