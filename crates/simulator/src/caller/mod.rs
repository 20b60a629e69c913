//! A simulated Twilio phone call, for `phone-agent call` and the demo: the product
//! implementation of "a phone rings the server".
//!
//! [`place_call`] does what Twilio does for an inbound call: a signed `POST /voice/incoming`
//! with a realistic form, reads the TwiML, opens the `<Stream>` WebSocket with a signed
//! upgrade, sends `connected` and `start` (with the TwiML `<Parameter>`s), streams the
//! caller's [`CallPlan`] in real time, plays the server's audio out as a phone would (echoing
//! marks, honouring `clear`), records what the caller heard, hangs up with `stop` and posts the
//! `completed` status callback. When the server ends the stream (or it cannot be opened) with
//! the caller still there, it requests the `<Connect action>` as Twilio does and reports what
//! the caller hears next. With the REST API key it also follows the call's transcript and tool
//! calls live through `GET /calls/{sid}`.
//!
//! [`answer_outbound`] plays the callee of an outbound call the server placed through its local
//! dialer, with Twilio's outbound webhooks and answering-machine verdict ([`outbound`]).

mod after;
pub mod callee;
mod event;
mod leg;
mod load;
mod monitor;
mod outbound;
mod playout;
mod probe;
mod stream;
mod webhook;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use phone_core::keypad::Key;
use serde_json::Value;

pub use after::{NextVerb, parse_next};
pub use event::{CallEvent, Emitter};
pub use load::{EchoCallResult, echo_call};
pub use outbound::{OutboundTarget, answer_outbound};
pub use playout::Playout;
pub use probe::{ForgeryProbe, probe_forgeries};
pub use webhook::{StreamInstruction, incoming_form, new_sid, parse_twiml};

use crate::audio::{self, AudioError, FRAME_BYTES};
use crate::vad::frame_dbfs;

/// Why a simulated call failed. Each variant names the step of the path that broke.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// An HTTP request could not be made.
    #[error("HTTP: {0}")]
    Http(String),
    /// The server answered a webhook with an error status.
    #[error("{step} answered HTTP {status}: {body}")]
    Rejected {
        /// Which request.
        step: &'static str,
        /// Status code.
        status: u16,
        /// Body, for the reason.
        body: String,
    },
    /// The TwiML was not a usable `<Connect><Stream>`.
    #[error("TwiML: {0}")]
    Twiml(String),
    /// The media stream WebSocket failed.
    #[error("media stream WebSocket: {0}")]
    WebSocket(String),
    /// The server sent something Twilio would refuse.
    #[error("media stream protocol: {0}")]
    Protocol(String),
    /// Caller audio could not be prepared or the recording written.
    #[error(transparent)]
    Audio(#[from] AudioError),
}

/// When the caller starts an utterance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    /// As soon as the stream is up (or the previous utterance ends).
    Immediately,
    /// Once the assistant has answered and then been quiet for `pause`.
    AfterReply {
        /// Quiet time after the reply.
        pause: Duration,
    },
    /// While the assistant is answering, `after` into its reply: a barge-in.
    IntoReply {
        /// Reply audio played before the caller speaks over it.
        after: Duration,
    },
}

/// One thing the caller says (or keys they press).
#[derive(Debug, Clone)]
pub struct Utterance {
    /// For the log: the text said, or the file played.
    pub label: String,
    /// 8 kHz μ-law, 160-byte frames.
    pub frames: Vec<Vec<u8>>,
    /// When to say it.
    pub cue: Cue,
    /// Frames up to the end of speech (trailing silence excluded), for reply latency.
    pub speech_end_frame: usize,
    /// Keys pressed, each at a frame: sent as Twilio `dtmf` messages, as Twilio reports a
    /// caller's key presses on a bidirectional stream.
    pub keys: Vec<(usize, Key)>,
}

/// Frames between two key presses (200 ms, a person typing briskly).
const KEY_SPACING_FRAMES: usize = 10;

/// A frame is speech for latency purposes above this level.
const SPEECH_DBFS: f32 = -40.0;

impl Utterance {
    /// An utterance from 8 kHz μ-law audio.
    pub fn new(label: impl Into<String>, mulaw_audio: &[u8], cue: Cue) -> Self {
        let frames = audio::frames(mulaw_audio);
        let speech_end_frame = frames
            .iter()
            .rposition(|f| frame_dbfs(&audio::mulaw::decode_all(f)) > SPEECH_DBFS)
            .map_or(frames.len(), |i| i + 1);
        Self {
            label: label.into(),
            frames,
            cue,
            speech_end_frame,
            keys: Vec::new(),
        }
    }

    /// The caller presses `keys` (a silent line meanwhile), one every 200 ms.
    pub fn keys(keys: &[Key], cue: Cue) -> Self {
        let typed: String = keys.iter().map(|k| k.as_char()).collect();
        let frames =
            vec![vec![audio::mulaw::SILENCE; FRAME_BYTES]; keys.len() * KEY_SPACING_FRAMES];
        Self {
            label: format!("[presses {typed}]"),
            speech_end_frame: frames.len(),
            frames,
            cue,
            keys: keys
                .iter()
                .enumerate()
                .map(|(i, k)| (i * KEY_SPACING_FRAMES, *k))
                .collect(),
        }
    }

    /// Length in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        (self.frames.len() * FRAME_BYTES) as u64 / 8
    }
}

/// What the caller does on the call.
#[derive(Debug, Clone)]
pub struct CallPlan {
    /// Utterances in order.
    pub utterances: Vec<Utterance>,
    /// Longest wait for a reply before speaking (or hanging up) anyway.
    pub reply_timeout: Duration,
    /// Quiet time after the last reply before hanging up.
    pub linger: Duration,
    /// Hard limit on the call's length.
    pub max_duration: Duration,
}

/// Where and as whom to call.
#[derive(Debug, Clone)]
pub struct CallTarget {
    /// Base URL requests are sent to, e.g. `http://127.0.0.1:8080`.
    pub server: String,
    /// Base URL the server believes Twilio calls (its `PUBLIC_BASE_URL`), which signatures
    /// cover; `None` means the same as `server`.
    pub public_url: Option<String>,
    /// Twilio auth token shared with the server.
    pub auth_token: String,
    /// REST API key, to follow the call through `GET /calls/{sid}`.
    pub api_key: Option<String>,
    /// Caller number (E.164).
    pub from: String,
    /// Called number (E.164).
    pub to: String,
}

/// Who ended the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedBy {
    /// The caller hung up after the plan was done.
    Caller,
    /// The server closed the stream.
    Server,
    /// The plan's time limit was reached.
    TimeLimit,
}

/// What a finished call measured.
#[derive(Debug, Clone)]
pub struct CallSummary {
    /// The call.
    pub call_sid: String,
    /// Voice webhook round trip.
    pub webhook_ms: u64,
    /// Media frames the caller sent (20 ms each).
    pub frames_sent: u64,
    /// Media messages received from the server.
    pub media_received: u64,
    /// Assistant audio received, in milliseconds.
    pub audio_received_ms: u64,
    /// Marks the server sent.
    pub marks_received: u64,
    /// Marks echoed back (all of them, once their audio played or was cleared).
    pub marks_echoed: u64,
    /// `clear`s received (interruptions).
    pub clears: u64,
    /// Queued assistant audio dropped by those clears.
    pub cleared_ms: u64,
    /// Messages Twilio would have refused.
    pub unknown_messages: u64,
    /// End of caller speech → first reply audio, per answered utterance.
    pub reply_latencies_ms: Vec<u64>,
    /// Who ended the call.
    pub ended_by: EndedBy,
    /// Where the caller's recording went.
    pub recording: Option<PathBuf>,
    /// Length of the call as heard.
    pub duration_ms: u64,
    /// `GET /calls/{sid}` after the call (stats, transcript, tool calls, cost), when an API
    /// key was given and the server answered.
    pub server_report: Option<Value>,
    /// What the `<Connect action>` answered when the server ended the stream; `None` when the
    /// caller hung up or the TwiML had no action.
    pub after_stream: Option<Vec<NextVerb>>,
    /// Keypad tones decoded in what the simulated party heard, in order (e.g. "1" when the
    /// assistant picked sales on the simulated menu).
    pub keys_heard: String,
}

/// Places one simulated call and returns what it measured.
pub async fn place_call(
    target: &CallTarget,
    plan: &CallPlan,
    events: Emitter,
    record_to: Option<PathBuf>,
) -> Result<CallSummary, CallError> {
    let http = reqwest::Client::new();
    let server = target.server.trim_end_matches('/').to_owned();
    let public = target
        .public_url
        .as_deref()
        .unwrap_or(&server)
        .trim_end_matches('/')
        .to_owned();
    let call_sid = new_sid("CA");
    let account_sid = new_sid("AC");
    let form = incoming_form(&call_sid, &account_sid, &target.from, &target.to);
    let started = Instant::now();
    let (status, body) = webhook::post_signed(
        &http,
        &format!("{server}/voice/incoming"),
        &format!("{public}/voice/incoming"),
        &target.auth_token,
        &form,
    )
    .await?;
    if status != 200 {
        return Err(CallError::Rejected {
            step: "POST /voice/incoming",
            status,
            body,
        });
    }
    let webhook_ms = started.elapsed().as_millis() as u64;
    let stream = parse_twiml(&body)?;
    events.emit(CallEvent::Answered {
        call_sid: call_sid.clone(),
        webhook: "POST /voice/incoming".into(),
        webhook_ms,
        stream_url: stream.url.clone(),
        action: stream.action.clone(),
        parameters: stream.parameters.iter().map(|(k, _)| k.clone()).collect(),
    });
    let leg = leg::Leg {
        http,
        server,
        public,
        auth_token: target.auth_token.clone(),
        api_key: target.api_key.clone(),
        call_sid,
        account_sid,
        form,
        status_path: "/voice/status".into(),
        webhook_ms,
        sequence: Default::default(),
    };
    leg.talk(&stream, plan, &events, record_to).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speech_end_excludes_trailing_silence() {
        let mut bytes = vec![0x80u8; 8 * 400];
        bytes.extend(vec![audio::mulaw::SILENCE; 8 * 300]);
        let u = Utterance::new("loud then quiet", &bytes, Cue::Immediately);
        assert_eq!(u.frames.len(), 35);
        assert_eq!(u.speech_end_frame, 20);
        assert_eq!(u.duration_ms(), 700);
    }
}
