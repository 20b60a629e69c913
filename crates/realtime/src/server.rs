//! Server events (PROTOCOLS.md §2.4), the ones a phone bridge acts on. Anything else parses as
//! [`ServerEvent::Other`]: a new event type must never end a call.

use std::borrow::Cow;

use phone_core::Usage;
use serde::Deserialize;

/// `error.error`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiError {
    /// `invalid_request_error`, `server_error`, …
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Machine code, e.g. `beta_api_shape_disabled`.
    #[serde(default)]
    pub code: Option<String>,
    /// Human message.
    #[serde(default)]
    pub message: String,
    /// The `event_id` of the client event that was refused, when the error is about one: the
    /// only way to know which request failed (PROTOCOLS.md §2.2).
    #[serde(default)]
    pub event_id: Option<String>,
}

/// `error.code` when a `response.create` arrives while a response of the default conversation
/// is still running (typically one that server VAD started on its own).
pub const ACTIVE_RESPONSE: &str = "conversation_already_has_active_response";

/// `session.created.session`: what a bridge checks of the session the server opened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SessionInfo {
    /// Session id (`sess_…`).
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    /// The model serving this socket (the URL's `?model=`): the one to price the call on.
    /// `None` when the server leaves it out.
    #[serde(default, deserialize_with = "lenient_string")]
    pub model: Option<String>,
}

/// A string field read as `None` when absent, `null` or not a string: a field we only report
/// must not make the whole event unreadable.
fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        _ => None,
    })
}

/// `response.created.response` / `response.done.response`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResponseInfo {
    /// Response id.
    pub id: String,
    /// `in_progress`, `completed`, `cancelled`, `failed`, `incomplete`.
    #[serde(default)]
    pub status: Option<String>,
    /// The conversation the response is added to; `None` for an out-of-band response
    /// (`conversation: "none"`). Server-VAD responses join the default conversation.
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// Token usage, on `response.done`.
    #[serde(default)]
    pub usage: Option<RawUsage>,
    /// What the client attached in `response.create` (e.g. `{"purpose": "tool_wait"}`).
    #[serde(default)]
    pub metadata: Option<std::collections::HashMap<String, String>>,
}

impl ResponseInfo {
    /// The client's `purpose` tag, if it gave one.
    pub fn purpose(&self) -> Option<&str> {
        self.metadata.as_ref()?.get("purpose").map(String::as_str)
    }

    /// The client's `request` tag: the `event_id` of the `response.create` that asked for this
    /// response (server-VAD responses have none).
    pub fn request(&self) -> Option<&str> {
        self.metadata.as_ref()?.get("request").map(String::as_str)
    }

    /// Whether the response ran to its end (`completed`); cancelled, failed and incomplete
    /// responses did not, and what they asked for must not be acted on.
    pub fn completed(&self) -> bool {
        self.status.as_deref() == Some("completed")
    }
}

/// Cached token details.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CachedDetails {
    /// Cached text tokens.
    #[serde(default)]
    pub text_tokens: u64,
    /// Cached audio tokens.
    #[serde(default)]
    pub audio_tokens: u64,
}

/// Input token details.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct InputDetails {
    /// Text tokens.
    #[serde(default)]
    pub text_tokens: u64,
    /// Audio tokens.
    #[serde(default)]
    pub audio_tokens: u64,
    /// Of which cached.
    #[serde(default)]
    pub cached_tokens_details: CachedDetails,
}

/// Output token details.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct OutputDetails {
    /// Text tokens.
    #[serde(default)]
    pub text_tokens: u64,
    /// Audio tokens.
    #[serde(default)]
    pub audio_tokens: u64,
}

/// `response.done.response.usage` as OpenAI sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RawUsage {
    /// Input details.
    #[serde(default)]
    pub input_token_details: InputDetails,
    /// Output details.
    #[serde(default)]
    pub output_token_details: OutputDetails,
}

impl RawUsage {
    /// The domain's usage for one response.
    pub fn to_usage(&self) -> Usage {
        let i = &self.input_token_details;
        let o = &self.output_token_details;
        Usage {
            input_text_tokens: i.text_tokens,
            input_audio_tokens: i.audio_tokens,
            cached_text_tokens: i.cached_tokens_details.text_tokens,
            cached_audio_tokens: i.cached_tokens_details.audio_tokens,
            output_text_tokens: o.text_tokens,
            output_audio_tokens: o.audio_tokens,
            responses: 1,
            billed_ms: 0,
        }
    }
}

/// An event from OpenAI.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type")]
pub enum ServerEvent<'a> {
    /// First event of a session.
    #[serde(rename = "session.created")]
    SessionCreated {
        /// The session as opened, with the model serving it.
        #[serde(default)]
        session: SessionInfo,
    },
    /// Our `session.update` is in force.
    #[serde(rename = "session.updated")]
    SessionUpdated,
    /// Something we sent was refused, or the server failed.
    #[serde(rename = "error")]
    Error {
        /// Details.
        error: ApiError,
    },
    /// The caller started speaking (server VAD).
    #[serde(rename = "input_audio_buffer.speech_started")]
    SpeechStarted {
        /// Position in the input audio.
        #[serde(default)]
        audio_start_ms: u64,
    },
    /// The caller stopped speaking.
    #[serde(rename = "input_audio_buffer.speech_stopped")]
    SpeechStopped {
        /// Position in the input audio.
        #[serde(default)]
        audio_end_ms: u64,
    },
    /// The caller has been silent for the idle timeout.
    #[serde(rename = "input_audio_buffer.timeout_triggered")]
    InputTimeout,
    /// What the caller said.
    #[serde(rename = "conversation.item.input_audio_transcription.completed")]
    InputTranscript {
        /// The caller's item.
        item_id: String,
        /// Text.
        transcript: String,
    },
    /// A response started.
    #[serde(rename = "response.created")]
    ResponseCreated {
        /// Which.
        response: ResponseInfo,
    },
    /// Reply audio: base64 μ-law, passed through undecoded.
    #[serde(rename = "response.output_audio.delta")]
    AudioDelta {
        /// Response it belongs to.
        #[serde(borrow)]
        response_id: Cow<'a, str>,
        /// Assistant item.
        #[serde(borrow)]
        item_id: Cow<'a, str>,
        /// Content part.
        #[serde(default)]
        content_index: u32,
        /// The audio.
        #[serde(borrow)]
        delta: Cow<'a, str>,
    },
    /// All audio of an item has been sent.
    #[serde(rename = "response.output_audio.done")]
    AudioDone {
        /// Assistant item.
        item_id: String,
    },
    /// What the assistant said.
    #[serde(rename = "response.output_audio_transcript.done")]
    OutputTranscript {
        /// Assistant item.
        item_id: String,
        /// Text.
        transcript: String,
    },
    /// The model wants a tool run.
    #[serde(rename = "response.function_call_arguments.done")]
    FunctionCall {
        /// The response that made the call.
        #[serde(default)]
        response_id: String,
        /// Id to answer with.
        call_id: String,
        /// Tool.
        name: String,
        /// JSON string, possibly malformed.
        arguments: String,
    },
    /// A response ended (completed, cancelled, failed, incomplete) with its usage.
    #[serde(rename = "response.done")]
    ResponseDone {
        /// Which, how, and what it cost.
        response: ResponseInfo,
    },
    /// Any other event.
    #[serde(other)]
    Other,
}

/// An audio delta read without the tagged-enum machinery (which buffers every field).
#[derive(Deserialize)]
struct AudioDeltaFrame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    response_id: Cow<'a, str>,
    #[serde(borrow)]
    item_id: Cow<'a, str>,
    #[serde(default)]
    content_index: u32,
    #[serde(borrow)]
    delta: Cow<'a, str>,
}

/// Parses one text frame from OpenAI. Audio deltas, most of the traffic, take a direct path.
pub fn parse_server_event(text: &str) -> Result<ServerEvent<'_>, serde_json::Error> {
    if text.contains(r#""response.output_audio.delta""#)
        && let Ok(frame) = serde_json::from_str::<AudioDeltaFrame<'_>>(text)
        && frame.kind == "response.output_audio.delta"
    {
        return Ok(ServerEvent::AudioDelta {
            response_id: frame.response_id,
            item_id: frame.item_id,
            content_index: frame.content_index,
            delta: frame.delta,
        });
    }
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_delta_borrows_its_payload() {
        let text = r#"{"type":"response.output_audio.delta","event_id":"e","response_id":"resp_1","item_id":"item_1","output_index":0,"content_index":0,"delta":"AAEC"}"#;
        match parse_server_event(text).unwrap() {
            ServerEvent::AudioDelta { delta, item_id, .. } => {
                assert_eq!(delta, "AAEC");
                assert_eq!(item_id, "item_1");
                assert!(matches!(delta, Cow::Borrowed(_)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn response_done_usage_converts_to_domain_usage() {
        let text = r#"{"type":"response.done","response":{"id":"resp_1","status":"completed","output":[],"usage":{"total_tokens":300,"input_tokens":200,"output_tokens":100,"input_token_details":{"text_tokens":150,"audio_tokens":50,"image_tokens":0,"cached_tokens":120,"cached_tokens_details":{"text_tokens":100,"audio_tokens":20}},"output_token_details":{"text_tokens":30,"audio_tokens":70}}}}"#;
        let ServerEvent::ResponseDone { response } = parse_server_event(text).unwrap() else {
            panic!()
        };
        let usage = response.usage.unwrap().to_usage();
        assert_eq!(
            usage,
            Usage {
                input_text_tokens: 150,
                input_audio_tokens: 50,
                cached_text_tokens: 100,
                cached_audio_tokens: 20,
                output_text_tokens: 30,
                output_audio_tokens: 70,
                responses: 1,
                billed_ms: 0,
            }
        );
    }

    #[test]
    fn unknown_events_are_other_not_errors() {
        assert_eq!(
            parse_server_event(r#"{"type":"rate_limits.updated","rate_limits":[]}"#).unwrap(),
            ServerEvent::Other
        );
        assert_eq!(
            parse_server_event(r#"{"type":"brand.new","x":1}"#).unwrap(),
            ServerEvent::Other
        );
        assert!(parse_server_event("{").is_err());
    }

    #[test]
    fn session_created_exposes_the_model_the_server_reports() {
        let text = r#"{"type":"session.created","event_id":"event_1","session":{"type":"realtime","object":"realtime.session","id":"sess_1","model":"gpt-realtime-2.1","output_modalities":["audio"],"audio":{"input":{"format":{"type":"audio/pcm","rate":24000}}}}}"#;
        let ServerEvent::SessionCreated { session } = parse_server_event(text).unwrap() else {
            panic!()
        };
        assert_eq!(session.model.as_deref(), Some("gpt-realtime-2.1"));
        assert_eq!(session.id.as_deref(), Some("sess_1"));
    }

    #[test]
    fn session_created_without_a_model_still_parses() {
        for text in [
            r#"{"type":"session.created","session":{"type":"realtime","id":"sess_1"}}"#,
            r#"{"type":"session.created","session":{"model":null}}"#,
            r#"{"type":"session.created","session":{"model":{"unexpected":true}}}"#,
            r#"{"type":"session.created"}"#,
        ] {
            let ServerEvent::SessionCreated { session } = parse_server_event(text).unwrap() else {
                panic!("{text}")
            };
            assert_eq!(session.model, None, "{text}");
        }
    }

    #[test]
    fn beta_shape_error_is_readable() {
        let text = r#"{"type":"error","error":{"type":"invalid_request_error","code":"beta_api_shape_disabled","message":"no"}}"#;
        let ServerEvent::Error { error } = parse_server_event(text).unwrap() else {
            panic!()
        };
        assert_eq!(error.code.as_deref(), Some("beta_api_shape_disabled"));
        assert_eq!(error.event_id, None);
    }

    #[test]
    fn refusal_names_the_refused_event() {
        let text = r#"{"type":"error","event_id":"event_9","error":{"type":"invalid_request_error","code":"conversation_already_has_active_response","message":"busy","param":null,"event_id":"rc-3"}}"#;
        let ServerEvent::Error { error } = parse_server_event(text).unwrap() else {
            panic!()
        };
        assert_eq!(error.code.as_deref(), Some(ACTIVE_RESPONSE));
        assert_eq!(error.event_id.as_deref(), Some("rc-3"));
    }

    #[test]
    fn response_tags_and_conversation_are_read() {
        let text = r#"{"type":"response.created","response":{"id":"resp_2","status":"in_progress","conversation_id":null,"metadata":{"purpose":"tool_wait","request":"rc-4"}}}"#;
        let ServerEvent::ResponseCreated { response } = parse_server_event(text).unwrap() else {
            panic!()
        };
        assert_eq!(response.conversation_id, None);
        assert_eq!(response.purpose(), Some("tool_wait"));
        assert_eq!(response.request(), Some("rc-4"));
        assert!(!response.completed());
    }
}
