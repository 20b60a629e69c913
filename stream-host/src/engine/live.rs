//! The GPT-Live adapter (`/v1/live/sessions`, PROTOCOLS-LIVE.md): `session.start` (μ-law 8 kHz
//! both ways, Responses delegation carrying our function tools), `session.started` before any
//! audio, the output track forwarded as it comes (continuous, silence included; the model
//! handles barge-in itself, so there is nothing to clear or truncate), spoken requests as
//! `session.commentary.append`, delegated function calls held until their backend response
//! completes (a failed or incomplete response's calls are discarded by the service and get no
//! output), the continuation asked with one `response.create`, transcripts grouped from deltas,
//! and usage as billed seconds (cumulative, turned into increments) plus backend tokens.
//!
//! GPT-Live has no `response.done` for speech. A goodbye counts as said once the assistant has
//! spoken after it was asked and then been quiet for [`GOODBYE_QUIET_MS`] of output track (or
//! said nothing for [`GOODBYE_GIVE_UP_MS`]); the output track is the session's clock here.

use std::collections::HashMap;
use std::sync::Arc;

use phone_core::{Role, Usage};
use phone_live::server::{BackendEvent, ServerEvent, parse_server_event};
use phone_live::session::{Backend, HistoryMessage, HistoryRole, SessionConfig};
use phone_live::transcript::{Speaker, TranscriptGrouper, Update};
use phone_live::{client, usage::BackendUsage};
use serde_json::Value;

use super::{Engine, EngineAudio, EngineCommand, EngineEvent, EngineOutput, Purpose, ToolCall};
use crate::config::StreamHostConfig;

/// Output track the assistant must be quiet for after speaking its goodbye.
pub const GOODBYE_QUIET_MS: u64 = 1200;
/// Output track after which a goodbye the assistant never spoke is given up.
pub const GOODBYE_GIVE_UP_MS: u64 = 4000;
/// The whole output track is one "item" for playback marks; it is never truncated.
const TRACK: &str = "live";

/// What the backend model is told: it runs the phone assistant's tools.
const BACKEND_INSTRUCTIONS: &str = "You run the tools of a phone assistant. Call a tool only \
when the conversation asks for it, with exactly the arguments the caller gave. Tool results \
go back to the voice model, which tells the caller.";

/// Where a goodbye is.
#[derive(Debug, Clone, Copy)]
struct GoodbyeWatch {
    asked_at_ms: u64,
    spoke_at_ms: Option<u64>,
}

/// One call's GPT-Live session(s).
pub struct LiveEngine {
    config: Arc<StreamHostConfig>,
    tools: Arc<Vec<Value>>,
    start_id: String,
    sessions: u32,
    next_id: u64,
    /// Delegated function calls per delegation, until its backend response ends.
    held: HashMap<String, Vec<ToolCall>>,
    transcripts: TranscriptGrouper,
    /// Output track forwarded so far (ms of μ-law): the clock of the goodbye.
    track_ms: u64,
    /// Billed milliseconds already reported (usage events are cumulative).
    billed_ms: u64,
    goodbye: Option<GoodbyeWatch>,
}

impl LiveEngine {
    /// An adapter for one call, offering `tools` to the backend.
    pub fn new(config: Arc<StreamHostConfig>, tools: Arc<Vec<Value>>) -> Self {
        Self {
            config,
            tools,
            start_id: String::new(),
            sessions: 0,
            next_id: 0,
            held: HashMap::new(),
            transcripts: TranscriptGrouper::default(),
            track_ms: 0,
            billed_ms: 0,
            goodbye: None,
        }
    }

    fn event_id(&mut self, what: &str) -> String {
        self.next_id += 1;
        format!("{what}-{}", self.next_id)
    }

    fn transcript(&mut self, updates: Vec<Update>, out: &mut EngineOutput) {
        for update in updates {
            if let Update::Closed(segment, _) = update {
                let role = match segment.speaker {
                    Speaker::User => Role::Caller,
                    Speaker::Assistant => Role::Assistant,
                };
                out.events.push(EngineEvent::Transcript {
                    role,
                    item_id: None,
                    text: segment.text,
                });
            }
        }
    }

    /// The goodbye is said (spoken, then quiet), or given up: the rest of the track is marked
    /// so the call ends once Twilio has played it.
    fn check_goodbye(&mut self, out: &mut EngineOutput) {
        let Some(watch) = self.goodbye else { return };
        let done = match watch.spoke_at_ms {
            Some(spoke) => self.track_ms.saturating_sub(spoke) >= GOODBYE_QUIET_MS,
            None => self.track_ms.saturating_sub(watch.asked_at_ms) >= GOODBYE_GIVE_UP_MS,
        };
        if done {
            self.goodbye = None;
            out.events.push(EngineEvent::AudioDone {
                item_id: TRACK.into(),
            });
            out.events.push(EngineEvent::Spoke(Purpose::Goodbye));
        }
    }

    fn backend_usage(usage: &BackendUsage) -> Usage {
        Usage {
            input_text_tokens: usage.input_tokens,
            cached_text_tokens: usage.input_tokens_details.cached_tokens,
            output_text_tokens: usage.output_tokens,
            responses: 1,
            ..Usage::default()
        }
    }
}

impl Engine for LiveEngine {
    fn append_audio(&self, payload_b64: &str) -> String {
        client::append_audio(payload_b64)
    }

    fn parse<'a>(&mut self, text: &'a str, out: &mut EngineOutput) -> Option<EngineAudio<'a>> {
        let event = match parse_server_event(text) {
            Ok(event) => event,
            Err(e) => {
                tracing::warn!(error = %e, "unreadable GPT-Live event ignored");
                return None;
            }
        };
        match event {
            ServerEvent::AudioDelta { delta } => {
                self.track_ms += (delta.len() * 3 / 4) as u64 / 8;
                self.check_goodbye(out);
                return Some(EngineAudio {
                    payload: delta,
                    response_id: TRACK.into(),
                    item_id: TRACK.into(),
                    content_index: 0,
                    in_conversation: false,
                });
            }
            ServerEvent::SessionStarted {
                session,
                client_event_id,
            } if client_event_id
                .as_ref()
                .is_none_or(|id| *id == self.start_id) =>
            {
                tracing::info!(session_id = %session.id, model = %session.model, "GPT-Live session started");
                out.events.push(EngineEvent::SessionOpened {
                    model: Some(session.model),
                });
                out.events.push(EngineEvent::SessionReady);
            }
            ServerEvent::Error {
                error,
                client_event_id,
            } => {
                let refused = client_event_id.or(error.client_event_id.clone());
                tracing::warn!(code = ?error.code, event_id = ?refused, message = %error.message, "GPT-Live reported an error");
                if refused.as_deref() == Some(self.start_id.as_str()) {
                    out.events.push(EngineEvent::SessionRefused {
                        reason: error.message,
                    });
                } else if refused
                    .as_deref()
                    .is_some_and(|id| id.starts_with("goodbye-"))
                {
                    self.goodbye = None;
                    out.events.push(EngineEvent::Spoke(Purpose::Goodbye));
                }
            }
            ServerEvent::InputTranscript(delta) => {
                let updates = self.transcripts.push(Speaker::User, &delta);
                self.transcript(updates, out);
            }
            ServerEvent::OutputTranscript(delta) => {
                if let Some(watch) = &mut self.goodbye {
                    watch.spoke_at_ms = Some(self.track_ms);
                }
                let updates = self.transcripts.push(Speaker::Assistant, &delta);
                self.transcript(updates, out);
            }
            ServerEvent::Response {
                delegation_id,
                event,
            } => {
                let turn = delegation_id.unwrap_or_else(|| "backend".into());
                if let Some(call) = event.function_call() {
                    tracing::info!(tool = %call.name, call_id = %call.call_id, "tool call requested");
                    self.held.entry(turn.clone()).or_default().push(ToolCall {
                        call_id: call.call_id.clone(),
                        name: call.name.clone(),
                        arguments: call.arguments.clone(),
                    });
                }
                if let Some(usage) = event.usage() {
                    out.events
                        .push(EngineEvent::Usage(Self::backend_usage(usage)));
                }
                match event {
                    BackendEvent::Completed { .. } => {
                        if let Some(calls) = self.held.remove(&turn) {
                            out.events.push(EngineEvent::ToolCalls { turn, calls });
                        }
                    }
                    BackendEvent::Failed { .. } | BackendEvent::Incomplete { .. } => {
                        // The service discards these calls: no output may be sent for them.
                        if let Some(calls) = self.held.remove(&turn) {
                            tracing::warn!(
                                calls = calls.len(),
                                "tool calls dropped: their backend response did not complete"
                            );
                        }
                    }
                    _ => {}
                }
            }
            ServerEvent::UsageUpdated { usage } | ServerEvent::SessionClosed { usage, .. } => {
                let total_ms = (usage.seconds * 1000.0).round().max(0.0) as u64;
                if total_ms > self.billed_ms {
                    out.events.push(EngineEvent::Usage(Usage {
                        billed_ms: total_ms - self.billed_ms,
                        ..Usage::default()
                    }));
                    self.billed_ms = total_ms;
                }
            }
            _ => {}
        }
        None
    }

    fn command(&mut self, command: EngineCommand, out: &mut EngineOutput) {
        match command {
            EngineCommand::Configure {
                instructions,
                history,
            } => {
                self.sessions += 1;
                self.start_id = format!("start-{}", self.sessions);
                // A new session: its timeline, calls and billing start again.
                self.held.clear();
                self.transcripts = TranscriptGrouper::default();
                self.billed_ms = 0;
                let session = SessionConfig {
                    model: self.config.model.clone(),
                    instructions,
                    voice: self.config.voice.clone(),
                    backend: Backend {
                        model: self.config.live_backend_model.clone(),
                        instructions: BACKEND_INSTRUCTIONS.into(),
                        tools: self.tools.as_ref().clone(),
                        reasoning_effort: Some(self.config.reasoning_effort.as_str().into()),
                    },
                    history: history
                        .into_iter()
                        .map(|(role, text)| HistoryMessage {
                            role: match role {
                                Role::Caller => HistoryRole::User,
                                Role::Assistant => HistoryRole::Assistant,
                            },
                            text,
                        })
                        .collect(),
                };
                out.send.push(session.to_event(&self.start_id));
            }
            EngineCommand::Say {
                purpose,
                instructions,
            } => {
                let goodbye = purpose == Purpose::Goodbye;
                if goodbye {
                    // Watched on the output track from now on (see `check_goodbye`); a refusal
                    // of a `goodbye-…` request gives it up.
                    self.goodbye = Some(GoodbyeWatch {
                        asked_at_ms: self.track_ms,
                        spoke_at_ms: None,
                    });
                }
                let text = match (purpose, instructions) {
                    // The continuation of the delegated work (after its outputs); for a goodbye
                    // it is the assistant's last words.
                    (Purpose::FollowUp, _) | (Purpose::Goodbye, None) => None,
                    (Purpose::ToolWait, _) => Some(
                        "A tool is still running. Tell the caller in a few words that you are \
                         still on it."
                            .to_owned(),
                    ),
                    (_, Some(text)) => Some(text),
                    (Purpose::Greeting, None) => Some("Greet the caller now.".to_owned()),
                    (_, None) => Some("Carry on with the conversation.".to_owned()),
                };
                let id = self.event_id(match (goodbye, &text) {
                    (true, _) => "goodbye",
                    (false, None) => "continue",
                    (false, Some(_)) => "say",
                });
                out.send.push(match text {
                    None => client::response_create(&id),
                    Some(text) => client::commentary(&id, &text),
                });
            }
            EngineCommand::CallerText { text } => {
                // GPT-Live has no text input on its primary socket: speakable context is how
                // the model hears something it should answer (PROTOCOLS-LIVE.md §A.4, §A.8).
                let id = self.event_id("keys");
                let content = format!("{text} Answer the caller as if they had said it.");
                out.send.push(client::commentary(&id, &content));
            }
            EngineCommand::ToolOutput { call_id, output } => {
                let id = self.event_id("output");
                out.send
                    .push(client::function_call_output(&id, &call_id, &output));
            }
            // GPT-Live handles the caller speaking over it itself: nothing to cut.
            EngineCommand::Interrupted { .. } => {}
        }
    }

    fn mark_every_ms(&self) -> u64 {
        // Marks only measure playout lag and drain the goodbye: the track is never truncated.
        500
    }

    fn wants_continuous_input(&self) -> bool {
        true
    }

    fn close(&mut self) -> Option<String> {
        let id = self.event_id("close");
        Some(client::session_close(&id))
    }
}

#[cfg(test)]
mod tests;
