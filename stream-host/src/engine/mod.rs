//! The engine port: what a call asks of a voice engine and what the engine tells it, in the
//! words of a phone call rather than of one API.
//!
//! An adapter translates both ways and keeps whatever bookkeeping its protocol needs (which
//! request a refusal names, which function calls may run); it does no I/O. The bridge's shell
//! sends what an adapter writes and feeds it what the engine sent. Adapters:
//! - [`realtime`]: OpenAI Realtime (`/v1/realtime`, PROTOCOLS.md §2).
//! - [`live`]: GPT-Live (`/v1/live/sessions`, PROTOCOLS-LIVE.md).

use std::borrow::Cow;

use phone_core::{Role, Usage};
use serde_json::Value;

use crate::machine::playback::Cut;

pub mod live;
pub mod realtime;

/// Why the call asks the engine to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The first words of the call.
    Greeting,
    /// The answer after tool outputs.
    FollowUp,
    /// The last words before the call ends.
    Goodbye,
    /// A short apology after a reconnect.
    Apology,
    /// A few words ("one moment") while a slow tool runs.
    ToolWait,
    /// The answer to what the caller typed on their keypad.
    KeypadReply,
}

/// A function call the model asked for, allowed to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// Id to answer with.
    pub call_id: String,
    /// Tool name.
    pub name: String,
    /// JSON arguments as the model wrote them (possibly malformed).
    pub arguments: String,
}

/// Assistant audio, borrowed from the engine's frame: the hot path.
#[derive(Debug)]
pub struct EngineAudio<'a> {
    /// Base64 μ-law, passed to Twilio undecoded.
    pub payload: Cow<'a, str>,
    /// The response it belongs to.
    pub response_id: Cow<'a, str>,
    /// The assistant item it belongs to.
    pub item_id: Cow<'a, str>,
    /// Its content part.
    pub content_index: u32,
    /// Whether the item is part of the conversation (an out-of-band response's is not, and
    /// has nothing to truncate).
    pub in_conversation: bool,
}

/// What the engine tells the call.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineEvent {
    /// The engine's session exists and runs this model (the one to price).
    SessionOpened {
        /// Model the engine reports, if it does.
        model: Option<String>,
    },
    /// The session's configuration is in force: audio may flow both ways.
    SessionReady,
    /// The session's configuration was refused: the call cannot go on.
    SessionRefused {
        /// The engine's reason.
        reason: String,
    },
    /// The caller started speaking (engines that leave barge-in to the client). `active`
    /// are the responses still generating.
    CallerStartedSpeaking {
        /// Responses still generating.
        active: Vec<String>,
    },
    /// The caller stopped speaking.
    CallerStoppedSpeaking,
    /// Where the caller's speech ended on the session's input audio (milliseconds of the
    /// caller audio appended to this session), for per-turn latency. Realtime reports it with
    /// `speech_stopped`; GPT-Live has no such event (see `machine::latency`).
    SpeechEnd {
        /// Milliseconds into the session's input audio.
        input_ms: u64,
    },
    /// All audio of an item has been sent.
    AudioDone {
        /// The item.
        item_id: String,
    },
    /// Audio of this response must not reach the caller any more.
    DropAudio {
        /// The response.
        response_id: String,
    },
    /// What the call asked for with [`EngineCommand::Say`] is over: said, cut short, or given
    /// up by the engine.
    Spoke(Purpose),
    /// Function calls that may run, as one turn: the call answers each and asks for one
    /// follow-up once all are in.
    ToolCalls {
        /// Identifies the turn.
        turn: String,
        /// The calls.
        calls: Vec<ToolCall>,
    },
    /// A finished line of the transcript.
    Transcript {
        /// Who spoke.
        role: Role,
        /// The assistant item, when the engine names one.
        item_id: Option<String>,
        /// What was said.
        text: String,
    },
    /// Model usage to add to the call's.
    Usage(Usage),
}

/// What the call asks of the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineCommand {
    /// Configure a new session (the first, or one replacing a dropped connection), seeded
    /// with the conversation so far.
    Configure {
        /// System instructions.
        instructions: String,
        /// Turns to replay, oldest first.
        history: Vec<(Role, String)>,
    },
    /// Speak, now or as soon as the engine allows.
    Say {
        /// Why.
        purpose: Purpose,
        /// Instructions for these words only.
        instructions: Option<String>,
    },
    /// What the caller typed on the keypad, as words for the model: added to the conversation
    /// as the caller's, and answered.
    CallerText {
        /// E.g. "The caller pressed 1 2 3 4 # on their phone's keypad."
        text: String,
    },
    /// A tool's result.
    ToolOutput {
        /// The call answered.
        call_id: String,
        /// The result.
        output: Value,
    },
    /// The caller spoke over the assistant: these items were heard only in part, and these
    /// responses were still generating.
    Interrupted {
        /// What the caller heard of each item.
        cuts: Vec<Cut>,
        /// Responses still generating.
        active: Vec<String>,
    },
}

/// What an adapter produced for one input: events for the call, text frames for the engine.
#[derive(Debug, Default)]
pub struct EngineOutput {
    /// Events for the call, in order.
    pub events: Vec<EngineEvent>,
    /// Frames to send to the engine, in order.
    pub send: Vec<String>,
}

/// A voice engine adapter.
pub trait Engine: Send {
    /// The text frame that appends caller audio (50 a second: written directly).
    fn append_audio(&self, payload_b64: &str) -> String;

    /// Reads one text frame from the engine. Audio comes back directly; everything else goes
    /// to `out`. Unreadable or unknown frames are logged and ignored, never fatal.
    fn parse<'a>(&mut self, text: &'a str, out: &mut EngineOutput) -> Option<EngineAudio<'a>>;

    /// Translates a command into frames (now, or later from [`Engine::parse`] when the engine
    /// must finish something first).
    fn command(&mut self, command: EngineCommand, out: &mut EngineOutput);

    /// Milliseconds of audio between two playback marks.
    fn mark_every_ms(&self) -> u64;

    /// Whether the engine needs caller audio without gaps: GPT-Live's session clock runs on
    /// input audio, so when Twilio's frames stop the bridge fills the gap with silence.
    fn wants_continuous_input(&self) -> bool {
        false
    }

    /// The frame that ends the session cleanly, when the protocol has one (the bridge then
    /// waits briefly for the engine to close, reading its final usage).
    fn close(&mut self) -> Option<String> {
        None
    }
}
