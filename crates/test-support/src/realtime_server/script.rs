//! What a test makes a response say: audio for an item, its transcript, function calls, and how
//! the response ends. A script plays on one response; without [`Response::status`] the response
//! stays active, so a test can play more later (e.g. interleaved with another response).

use serde_json::{Value, json};

/// How a response ends (`response.done.response.status` and its `status_details`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Finished normally.
    Completed,
    /// Cut off by the caller (`reason: "turn_detected"`), as server VAD does.
    Cancelled,
    /// Stopped early (`reason: "max_output_tokens"`).
    Incomplete,
    /// Failed on the server (`status_details.error` is a `server_error`).
    Failed,
}

impl Status {
    /// The `status` string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Incomplete => "incomplete",
            Self::Failed => "failed",
        }
    }

    /// `status_details` for a cancellation with this `reason` (`turn_detected` or
    /// `client_cancelled`), or for the other statuses.
    pub(super) fn details(self, cancel_reason: &str) -> Value {
        match self {
            Self::Completed => json!({"type": "completed"}),
            Self::Cancelled => json!({"type": "cancelled", "reason": cancel_reason}),
            Self::Incomplete => json!({"type": "incomplete", "reason": "max_output_tokens"}),
            Self::Failed => json!({"type": "failed", "error": {"type": "server_error",
                "code": "server_error", "message": "The server had an error while processing your request."}}),
        }
    }
}

/// One thing a response does, in order.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Step {
    Audio {
        item: String,
        bytes: Vec<u8>,
    },
    Transcript {
        item: String,
        text: String,
    },
    FunctionCall {
        call_id: String,
        name: String,
        arguments: String,
    },
}

/// A script for one response, built like the conversation reads:
/// `Response::new().audio("item_a", &bytes).transcript("item_a", "Done.").status(Status::Completed)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    pub(super) steps: Vec<Step>,
    pub(super) usage: Option<Value>,
    pub(super) end: Option<Status>,
}

impl Response {
    /// An empty script (plays nothing; with [`Response::status`] it only ends the response).
    pub fn new() -> Self {
        Self::default()
    }

    /// One `response.output_audio.delta` of `bytes` for the assistant message `item` (opened with
    /// `output_item.added` and `content_part.added` the first time it is named).
    pub fn audio(mut self, item: &str, bytes: &[u8]) -> Self {
        self.steps.push(Step::Audio {
            item: item.to_owned(),
            bytes: bytes.to_vec(),
        });
        self
    }

    /// A transcript delta for `item`; the item's `output_audio_transcript.done` carries all its
    /// deltas joined when the item ends.
    pub fn transcript(mut self, item: &str, text: &str) -> Self {
        self.steps.push(Step::Transcript {
            item: item.to_owned(),
            text: text.to_owned(),
        });
        self
    }

    /// A function call item (id `fc_<call_id>`): `output_item.added`,
    /// `function_call_arguments.delta` and `.done` (with `call_id`, `name`, `arguments`,
    /// `item_id`, `response_id`), then `output_item.done`. It closes the message item before it.
    pub fn function_call(mut self, call_id: &str, name: &str, arguments: &str) -> Self {
        self.steps.push(Step::FunctionCall {
            call_id: call_id.to_owned(),
            name: name.to_owned(),
            arguments: arguments.to_owned(),
        });
        self
    }

    /// The `usage` object `response.done` reports. Without it the double reports 1 output
    /// audio token per 50 ms of audio and nothing else.
    pub fn usage(mut self, usage: Value) -> Self {
        self.usage = Some(usage);
        self
    }

    /// Ends the response with `response.done` and this status, after closing its open item.
    pub fn status(mut self, status: Status) -> Self {
        self.end = Some(status);
        self
    }
}

/// The usage reported when a script gives none.
pub(super) fn default_usage(output_audio_ms: u64) -> Value {
    let audio_tokens = output_audio_ms / 50;
    json!({"total_tokens": audio_tokens, "input_tokens": 0, "output_tokens": audio_tokens,
        "input_token_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0, "cached_tokens": 0,
            "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0}},
        "output_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens}})
}
