//! What a simulated call reports while it runs, for a live log.

use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

use super::{EndedBy, NextVerb};

/// Something that happened on the call, for a live log.
#[derive(Debug, Clone, PartialEq)]
pub enum CallEvent {
    /// The voice webhook answered with TwiML.
    Answered {
        /// The call.
        call_sid: String,
        /// The webhook requested, e.g. `POST /voice/incoming`.
        webhook: String,
        /// Webhook round trip.
        webhook_ms: u64,
        /// `<Stream url>`.
        stream_url: String,
        /// `<Connect action>`, if any.
        action: Option<String>,
        /// `<Parameter>` names.
        parameters: Vec<String>,
    },
    /// The signed WebSocket upgrade succeeded.
    StreamOpen,
    /// The caller started an utterance.
    CallerSpeaks {
        /// Which.
        index: usize,
        /// Its label.
        label: String,
    },
    /// The caller's speech in an utterance ended (trailing silence excluded).
    CallerDone {
        /// Which.
        index: usize,
    },
    /// First reply audio after the caller stopped speaking.
    ReplyAudio {
        /// End of caller speech to first reply audio.
        latency_ms: u64,
    },
    /// A keypad tone decoded in what the simulated party heard.
    KeyHeard {
        /// The key.
        key: char,
        /// What the simulated menu does with it, when it is a menu choice.
        choice: Option<&'static str>,
    },
    /// The server cleared the assistant's queued audio (barge-in).
    Interrupted {
        /// Queued audio dropped.
        dropped_ms: u64,
    },
    /// A transcript turn stored by the server.
    Turn {
        /// `caller` or `assistant`.
        role: String,
        /// Text.
        text: String,
        /// Cut short by the caller.
        interrupted: bool,
    },
    /// A tool call stored by the server.
    ToolCall {
        /// Tool.
        name: String,
        /// Arguments.
        arguments: Value,
        /// Result.
        result: Value,
        /// Whether it failed.
        is_error: bool,
    },
    /// The call's stream ended.
    Ended(EndedBy),
    /// The `<Connect action>` answered: what the caller hears after the stream.
    AfterStream {
        /// The action URL requested.
        action: String,
        /// Its verbs, in order.
        next: Vec<NextVerb>,
    },
    /// Anything else worth a line.
    Note(String),
}

/// Sends call events to whoever listens; no listener is fine.
#[derive(Debug, Clone, Default)]
pub struct Emitter(Option<UnboundedSender<CallEvent>>);

impl Emitter {
    /// Events go to `tx`.
    pub fn new(tx: UnboundedSender<CallEvent>) -> Self {
        Self(Some(tx))
    }

    /// Sends one event (dropped if nobody listens any more).
    pub fn emit(&self, event: CallEvent) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(event);
        }
    }
}
