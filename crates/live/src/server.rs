//! Server events on the primary WebSocket (PROTOCOLS-LIVE.md §A.5), the ones a phone bridge
//! acts on. Any other type parses as [`ServerEvent::Other`]: a new event type must never end a
//! call. A known type whose body is malformed is an `Err` for the caller to log and drop.

use std::borrow::Cow;

use serde::Deserialize;

use crate::usage::BackendUsage;

/// `error.error`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiError {
    /// `invalid_request_error`, `server_error`, …
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Machine code, e.g. `unknown_parameter`.
    #[serde(default)]
    pub code: Option<String>,
    /// Human message.
    #[serde(default)]
    pub message: String,
    /// The refused parameter, e.g. `session.voice`.
    #[serde(default)]
    pub param: Option<String>,
    /// The `event_id` of the refused client event. The SDK defines it both here and on the
    /// event itself; [`parse_server_event`] fills this one from the other when only that is set.
    #[serde(default)]
    pub client_event_id: Option<String>,
}

/// `session.started.session`: what the bridge logs and keeps (OpenAI support asks for the id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SessionInfo {
    /// Opaque session id (`live_…`), kept unchanged.
    #[serde(default)]
    pub id: String,
    /// The model actually serving the session.
    #[serde(default)]
    pub model: String,
    /// Unix seconds at which the session expires.
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// `SessionUsage`: cumulative billable duration. Never sum two of these: each replaces the last.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
pub struct SessionUsage {
    /// Billable seconds so far.
    #[serde(default)]
    pub seconds: f64,
}

/// Why a session ended (`session.closed.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// Our `session.close`, or a hangup request.
    CloseRequested,
    /// The session's duration limit.
    Expired,
    /// A safety filter.
    Content,
    /// A graceful remote disconnect.
    RemoteHangup,
    /// An unexpected disconnection upstream.
    ConnectionLost,
    /// A reason this version does not know.
    #[serde(other)]
    Unknown,
}

/// One transcript fragment on the session timeline. Fragments do not mark turn ends; see
/// [`crate::transcript`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TranscriptDelta {
    /// The server event's id (repeated deliveries carry the same one).
    #[serde(default)]
    pub event_id: Option<String>,
    /// Text to append.
    #[serde(default)]
    pub delta: String,
    /// Start on the session timeline, in milliseconds.
    #[serde(default)]
    pub start_ms: u64,
    /// End on the session timeline, in milliseconds.
    #[serde(default)]
    pub end_ms: u64,
}

/// `session.delegation.created.delegation`: metadata only, never the task text.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Delegation {
    /// Delegation id, repeated as `delegation_id` on its `response.event`s.
    pub id: String,
    /// `client`, `responses` or `decisions`.
    #[serde(default)]
    pub target: String,
    /// The backend response, for a Responses delegation.
    #[serde(default)]
    pub response_id: Option<String>,
}

/// The `response` snapshot of a nested lifecycle event (its output is cleared by GPT-Live).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct BackendResponse {
    /// Response id.
    #[serde(default)]
    pub id: String,
    /// `in_progress`, `completed`, `failed`, `incomplete`, …
    #[serde(default)]
    pub status: Option<String>,
    /// Backend tokens, on the terminal events.
    #[serde(default)]
    pub usage: Option<BackendUsage>,
}

/// `item` of a nested `response.output_item.done`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type")]
pub enum OutputItem {
    /// The backend wants one of our function tools run.
    #[serde(rename = "function_call")]
    FunctionCall(FunctionCall),
    /// Text, reasoning, hosted tools: nothing for the bridge to do.
    #[serde(other)]
    Other,
}

/// A function call item: the only event that carries name, `call_id` and arguments together.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FunctionCall {
    /// Id to answer with (`response.item.create` `function_call_output.call_id`).
    pub call_id: String,
    /// Tool.
    pub name: String,
    /// JSON string, possibly malformed.
    #[serde(default)]
    pub arguments: String,
    /// `completed`, `in_progress`, `incomplete`.
    #[serde(default)]
    pub status: Option<String>,
}

impl FunctionCall {
    /// Whether the call is to be run: status `completed`. An item without a status is taken as
    /// completed, since `output_item.done` ends the item (the status is optional in the SDK;
    /// what GPT-Live sends there is UNCONFIRMED).
    pub fn is_complete(&self) -> bool {
        matches!(self.status.as_deref(), None | Some("completed"))
    }
}

/// The nested Responses streaming event of a `response.event` (the subset the bridge needs;
/// which ones GPT-Live forwards is UNCONFIRMED, so the rest are [`BackendEvent::Other`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type")]
pub enum BackendEvent {
    /// A backend response started.
    #[serde(rename = "response.created")]
    Created {
        /// Which.
        #[serde(default)]
        response: BackendResponse,
    },
    /// An output item is complete (a function call among them).
    #[serde(rename = "response.output_item.done")]
    OutputItemDone {
        /// The item.
        item: OutputItem,
    },
    /// The backend response completed; its calls wait for outputs and one `response.create`.
    #[serde(rename = "response.completed")]
    Completed {
        /// With its usage.
        #[serde(default)]
        response: BackendResponse,
    },
    /// The backend response failed; its calls are discarded, answer none of them.
    #[serde(rename = "response.failed")]
    Failed {
        /// With its usage.
        #[serde(default)]
        response: BackendResponse,
    },
    /// The backend response stopped early; its calls are discarded as on failure.
    #[serde(rename = "response.incomplete")]
    Incomplete {
        /// With its usage.
        #[serde(default)]
        response: BackendResponse,
    },
    /// Any other Responses event (deltas, text, reasoning).
    #[serde(other)]
    Other,
}

impl BackendEvent {
    /// The function call to run, when this is a completed function call item.
    pub fn function_call(&self) -> Option<&FunctionCall> {
        match self {
            BackendEvent::OutputItemDone {
                item: OutputItem::FunctionCall(call),
            } if call.is_complete() => Some(call),
            _ => None,
        }
    }

    /// Backend token usage, on a terminal event that reports it.
    pub fn usage(&self) -> Option<&BackendUsage> {
        match self {
            BackendEvent::Completed { response }
            | BackendEvent::Failed { response }
            | BackendEvent::Incomplete { response } => response.usage.as_ref(),
            _ => None,
        }
    }
}

/// An event from GPT-Live.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type")]
pub enum ServerEvent<'a> {
    /// Our `session.start` is in force; audio and commands may follow.
    #[serde(rename = "session.started")]
    SessionStarted {
        /// The session.
        session: SessionInfo,
        /// Our `session.start`'s `event_id`.
        #[serde(default)]
        client_event_id: Option<String>,
    },
    /// A `session.update` is in force.
    #[serde(rename = "session.updated")]
    SessionUpdated {
        /// The update's `event_id`.
        #[serde(default)]
        client_event_id: Option<String>,
    },
    /// Terminal: the session is finalized, with its final usage.
    #[serde(rename = "session.closed")]
    SessionClosed {
        /// Why.
        reason: CloseReason,
        /// Final cumulative usage.
        #[serde(default)]
        usage: SessionUsage,
    },
    /// Something we sent was refused, or the server failed.
    #[serde(rename = "error")]
    Error {
        /// Details, `client_event_id` included whichever place it came in.
        error: ApiError,
        /// The refused command's `event_id`, at the event's top level.
        #[serde(default)]
        client_event_id: Option<String>,
    },
    /// A notice.
    #[serde(rename = "info")]
    Info {
        /// Machine code.
        #[serde(default)]
        code: String,
        /// Human message.
        #[serde(default)]
        message: String,
    },
    /// Output audio in the session format (μ-law here), a continuous track including silence.
    #[serde(rename = "session.output_audio.delta")]
    AudioDelta {
        /// The audio, base64, passed through undecoded.
        #[serde(borrow)]
        delta: Cow<'a, str>,
    },
    /// What the caller is saying.
    #[serde(rename = "session.input_transcript.delta")]
    InputTranscript(TranscriptDelta),
    /// What the assistant is saying.
    #[serde(rename = "session.output_transcript.delta")]
    OutputTranscript(TranscriptDelta),
    /// Our commentary reached the session timeline (not: was spoken).
    #[serde(rename = "session.commentary.appended")]
    CommentaryAppended {
        /// The append's `event_id`.
        #[serde(default)]
        client_event_id: Option<String>,
    },
    /// Our thinking reached the session timeline.
    #[serde(rename = "session.thinking.appended")]
    ThinkingAppended {
        /// The append's `event_id`.
        #[serde(default)]
        client_event_id: Option<String>,
    },
    /// The model handed work to the backend.
    #[serde(rename = "session.delegation.created")]
    DelegationCreated {
        /// Which.
        delegation: Delegation,
        /// Where on the timeline.
        #[serde(default)]
        offset_ms: u64,
    },
    /// A nested Responses event of the backend.
    #[serde(rename = "response.event")]
    Response {
        /// The delegation it belongs to (`None` for backend work we started).
        #[serde(default)]
        delegation_id: Option<String>,
        /// The event.
        event: BackendEvent,
    },
    /// Cumulative billable seconds so far.
    #[serde(rename = "session.usage.updated")]
    UsageUpdated {
        /// The cumulative usage (replaces, never adds to, the previous one).
        usage: SessionUsage,
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
    delta: Cow<'a, str>,
}

/// Parses one text frame from GPT-Live. Audio deltas, most of the traffic, take a direct path.
pub fn parse_server_event(text: &str) -> Result<ServerEvent<'_>, serde_json::Error> {
    if text.contains(r#""session.output_audio.delta""#)
        && let Ok(frame) = serde_json::from_str::<AudioDeltaFrame<'_>>(text)
        && frame.kind == "session.output_audio.delta"
    {
        return Ok(ServerEvent::AudioDelta { delta: frame.delta });
    }
    let mut event = serde_json::from_str(text)?;
    if let ServerEvent::Error {
        error,
        client_event_id,
    } = &mut event
    {
        if error.client_event_id.is_none() {
            error.client_event_id = client_event_id.clone();
        } else if client_event_id.is_none() {
            *client_event_id = error.client_event_id.clone();
        }
    }
    Ok(event)
}

#[cfg(test)]
mod tests;
