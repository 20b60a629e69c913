//! The Realtime adapter (`/v1/realtime`, PROTOCOLS.md §2): `session.update` tagged with an
//! `event_id` so a refusal is recognised; response requests through [`responses`] (one at a
//! time, refused ones asked again); function calls held until their response ends, run only if
//! it completed (`function_call_arguments.done` is also sent for responses then cancelled by
//! the caller's "no, don't"); barge-in answered with `truncate` and `response.cancel`.

use std::collections::HashMap;
use std::sync::Arc;

use phone_core::Role;
use phone_realtime::client;
use phone_realtime::server::{ServerEvent, parse_server_event};
use serde_json::json;

use super::{Engine, EngineAudio, EngineCommand, EngineEvent, EngineOutput, Purpose, ToolCall};
use crate::config::StreamHostConfig;
use crate::openai;

pub mod responses;

use responses::{Refusal, Responses};

/// One call's Realtime session(s).
pub struct RealtimeEngine {
    config: Arc<StreamHostConfig>,
    /// The call's tool definitions (its access level's catalog).
    tools: Arc<Vec<serde_json::Value>>,
    responses: Responses,
    /// Function calls per response not done yet.
    held: HashMap<String, Vec<ToolCall>>,
    /// `event_id` of the `session.update` in force or awaited.
    session_update_id: String,
    sessions: u32,
}

impl RealtimeEngine {
    /// An adapter for one call, offering `tools`.
    pub fn new(config: Arc<StreamHostConfig>, tools: Arc<Vec<serde_json::Value>>) -> Self {
        Self {
            config,
            tools,
            responses: Responses::default(),
            held: HashMap::new(),
            session_update_id: String::new(),
            sessions: 0,
        }
    }

    fn on_response_done(
        &mut self,
        response: phone_realtime::server::ResponseInfo,
        out: &mut EngineOutput,
    ) {
        if let Some(usage) = &response.usage {
            out.events.push(EngineEvent::Usage(usage.to_usage()));
        }
        let finished = self.responses.finished(&response);
        out.send.extend(finished.send);
        if let Some(calls) = self.held.remove(&response.id) {
            if response.completed() {
                out.events.push(EngineEvent::ToolCalls {
                    turn: response.id.clone(),
                    calls,
                });
            } else {
                // The function call items exist in the conversation: each gets an output
                // saying it was not run, and no follow-up (whatever cut the response short,
                // usually the caller, speaks next).
                let status = response.status.as_deref().unwrap_or("unknown");
                for call in calls {
                    tracing::warn!(tool = %call.name, call_id = %call.call_id, status, "tool not run: its response did not complete");
                    let output = json!({"error": format!(
                        "not run: the response asking for it ended as {status} (usually the caller interrupted); ask the caller before trying again"
                    )});
                    out.send
                        .push(client::function_call_output(&call.call_id, &output));
                }
            }
        }
        if let Some(purpose) = finished.purpose {
            out.events.push(EngineEvent::Spoke(purpose));
        }
    }
}

impl Engine for RealtimeEngine {
    fn append_audio(&self, payload_b64: &str) -> String {
        client::append_audio(payload_b64)
    }

    fn parse<'a>(&mut self, text: &'a str, out: &mut EngineOutput) -> Option<EngineAudio<'a>> {
        let event = match parse_server_event(text) {
            Ok(event) => event,
            Err(e) => {
                tracing::warn!(error = %e, "unreadable OpenAI event ignored");
                return None;
            }
        };
        match event {
            ServerEvent::AudioDelta {
                response_id,
                item_id,
                content_index,
                delta,
            } => {
                let in_conversation = !self.responses.is_out_of_band(&response_id);
                return Some(EngineAudio {
                    payload: delta,
                    response_id,
                    item_id,
                    content_index,
                    in_conversation,
                });
            }
            ServerEvent::AudioDone { item_id } => {
                out.events.push(EngineEvent::AudioDone { item_id })
            }
            ServerEvent::SessionCreated { session } => {
                out.events.push(EngineEvent::SessionOpened {
                    model: session.model,
                })
            }
            ServerEvent::SessionUpdated => out.events.push(EngineEvent::SessionReady),
            ServerEvent::SpeechStarted { .. } => {
                out.events.push(EngineEvent::CallerStartedSpeaking {
                    active: self
                        .responses
                        .active()
                        .into_iter()
                        .map(str::to_owned)
                        .collect(),
                })
            }
            ServerEvent::SpeechStopped { audio_end_ms } => {
                out.events.push(EngineEvent::CallerStoppedSpeaking);
                // 0 is what a missing field reads as: the event's arrival stands instead.
                if audio_end_ms > 0 {
                    out.events.push(EngineEvent::SpeechEnd {
                        input_ms: audio_end_ms,
                    });
                }
            }
            ServerEvent::ResponseCreated { response } => {
                if let Some(notice) = self.responses.created(&response).cancel_notice {
                    // The conversation's own response speaks now: the "one moment" must not
                    // talk over it.
                    out.send.push(client::response_cancel(Some(&notice)));
                    out.events.push(EngineEvent::DropAudio {
                        response_id: notice,
                    });
                }
            }
            ServerEvent::ResponseDone { response } => self.on_response_done(response, out),
            ServerEvent::InputTranscript { transcript, .. } => {
                out.events.push(EngineEvent::Transcript {
                    role: Role::Caller,
                    item_id: None,
                    text: transcript,
                })
            }
            ServerEvent::OutputTranscript {
                item_id,
                transcript,
            } => out.events.push(EngineEvent::Transcript {
                role: Role::Assistant,
                item_id: Some(item_id),
                text: transcript,
            }),
            ServerEvent::FunctionCall {
                response_id,
                call_id,
                name,
                arguments,
            } => {
                tracing::info!(tool = %name, call_id = %call_id, "tool call requested");
                self.held.entry(response_id).or_default().push(ToolCall {
                    call_id,
                    name,
                    arguments,
                });
            }
            ServerEvent::Error { error } => {
                tracing::warn!(code = ?error.code, event_id = ?error.event_id, message = %error.message, "OpenAI reported an error");
                if error.event_id.as_deref() == Some(self.session_update_id.as_str()) {
                    out.events.push(EngineEvent::SessionRefused {
                        reason: error.message,
                    });
                    return None;
                }
                let (refusal, send) = self
                    .responses
                    .refused(error.event_id.as_deref(), error.code.as_deref());
                match refusal {
                    Refusal::WillRetry(purpose) => {
                        tracing::info!(
                            ?purpose,
                            "response refused while another runs; asked again after it"
                        );
                    }
                    Refusal::Dropped(purpose) => {
                        tracing::warn!(?purpose, "response request given up");
                        out.events.push(EngineEvent::Spoke(purpose));
                    }
                    Refusal::NotOurs => {}
                }
                out.send.extend(send);
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
                self.session_update_id = format!("session-{}", self.sessions);
                // A new session: nothing runs on it, and calls of the old one never finish.
                self.responses.session_replaced();
                self.held.clear();
                out.send.push(openai::session_update(
                    &self.config,
                    &self.tools,
                    &instructions,
                    &self.session_update_id,
                ));
                for (role, text) in &history {
                    out.send.push(match role {
                        Role::Caller => client::user_text(text),
                        Role::Assistant => client::assistant_text(text),
                    });
                }
            }
            EngineCommand::Say {
                purpose,
                instructions,
            } => out
                .send
                .extend(self.responses.request(purpose, instructions.as_deref())),
            EngineCommand::CallerText { text } => {
                // The item goes in now (items may be added while a response runs); the reply is
                // asked for when no response runs, as every request is.
                out.send.push(client::user_text(&text));
                out.send
                    .extend(self.responses.request(Purpose::KeypadReply, None));
            }
            EngineCommand::ToolOutput { call_id, output } => out
                .send
                .push(client::function_call_output(&call_id, &output)),
            EngineCommand::Interrupted { cuts, active } => {
                for id in &active {
                    // Turn detection (server or semantic VAD, both with `interrupt_response`)
                    // cancels the conversation's response itself, and cancelling it again is an
                    // error; an out-of-band response is not the conversation's and is cancelled
                    // here.
                    if self.responses.is_out_of_band(id) {
                        out.send.push(client::response_cancel(Some(id)));
                    }
                }
                for cut in cuts {
                    out.send.push(client::truncate(
                        &cut.item_id,
                        cut.content_index,
                        cut.audio_end_ms,
                    ));
                }
            }
        }
    }

    fn mark_every_ms(&self) -> u64 {
        crate::machine::playback::MARK_EVERY_MS
    }
}

#[cfg(test)]
mod tests;
