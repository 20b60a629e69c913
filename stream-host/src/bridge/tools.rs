//! Tool calls during a call (PROTOCOLS.md §2.4): run each tool off the audio path, answer with
//! `function_call_output`, and send one `response.create` once every output of a response is
//! in. `end_call` and `transfer_call` act only after the assistant's next words have played.
//! A tool still running after [`SLOW_TOOL`] gets a short out-of-band "one moment" so the caller
//! is not left in silence; the follow-up waits until that notice has finished.

use std::time::Duration;

use phone_core::tools::{CallEffect, ToolOutcome, run_tool};
use phone_realtime::client;
use serde_json::json;
use tokio::time::Instant;

use super::{Bridge, EndReason, GOODBYE_GRACE, Step};

/// Longest a tool may run before the model is told it failed.
const TOOL_TIMEOUT: Duration = Duration::from_secs(12);
/// A tool running longer than this gets a "one moment" (about the pause after which a caller
/// starts wondering whether anyone is there).
const SLOW_TOOL: Duration = Duration::from_millis(2500);

/// What a tool task tells the bridge loop.
pub(crate) enum ToolEvent {
    /// The tool is still running after [`SLOW_TOOL`].
    Slow {
        /// The response that called it.
        response_id: String,
    },
    /// The tool finished (or timed out).
    Done(ToolRun),
}

/// A finished tool run.
pub(crate) struct ToolRun {
    response_id: String,
    call_id: String,
    outcome: ToolOutcome,
}

/// The "one moment" notice of one call.
#[derive(Debug, Default)]
pub(crate) struct WaitNotice {
    /// A notice was asked for and its `response.done` has not come yet.
    speaking: bool,
    /// A follow-up is waiting for the notice to finish (two responses cannot run at once).
    follow_up_waiting: bool,
    /// Responses that already had their notice.
    noticed: std::collections::HashSet<String>,
}

impl Bridge {
    /// Starts a tool requested by the model, in its own task so audio keeps flowing.
    pub(super) async fn start_tool(
        &mut self,
        response_id: String,
        call_id: String,
        name: String,
        arguments: String,
    ) {
        self.tool_responses
            .entry(response_id.clone())
            .or_insert((0, false))
            .0 += 1;
        let tx = self.tool_tx.clone();
        self.tools_running += 1;
        let Some(ctx) = self.tool_ctx.clone() else {
            let outcome = ToolOutcome::error(format!("tool {name} is not available on this line"));
            let _ = tx.send(ToolEvent::Done(ToolRun {
                response_id,
                call_id,
                outcome,
            }));
            return;
        };
        tracing::info!(tool = %name, call_id = %call_id, "tool call");
        self.tool_tasks.spawn(async move {
            let finished = {
                let work =
                    tokio::time::timeout(TOOL_TIMEOUT, run_tool(&ctx, &name, &arguments, &call_id));
                tokio::pin!(work);
                tokio::select! {
                    finished = &mut work => finished,
                    () = tokio::time::sleep(SLOW_TOOL) => {
                        let _ = tx.send(ToolEvent::Slow { response_id: response_id.clone() });
                        work.await
                    }
                }
            };
            let outcome = finished.unwrap_or_else(|_| {
                ToolOutcome::error(format!(
                    "{name} did not finish within {} s; tell the caller to try again later",
                    TOOL_TIMEOUT.as_secs()
                ))
            });
            let _ = tx.send(ToolEvent::Done(ToolRun {
                response_id,
                call_id,
                outcome,
            }));
        });
    }

    /// Routes a tool task's event.
    pub(super) async fn on_tool_event(&mut self, event: ToolEvent) -> Step {
        match event {
            ToolEvent::Slow { response_id } => {
                self.on_tool_slow(response_id).await;
                Step::Continue
            }
            ToolEvent::Done(run) => {
                self.tools_running = self.tools_running.saturating_sub(1);
                self.on_tool_done(run).await
            }
        }
    }

    /// A tool is slow: once per response, and only when the model has finished speaking and
    /// the call is not ending, ask for a brief "one moment".
    async fn on_tool_slow(&mut self, response_id: String) {
        let model_done = self
            .tool_responses
            .get(&response_id)
            .is_some_and(|(running, done)| *running > 0 && *done);
        if !model_done
            || self.ending.is_some()
            || self.wait_notice.speaking
            || !self.wait_notice.noticed.insert(response_id)
        {
            return;
        }
        tracing::info!("tool is slow; telling the caller to hold on");
        if self.send_openai(client::tool_wait_notice()).await.is_ok() {
            self.wait_notice.speaking = true;
        }
    }

    /// The "one moment" response ended: run the follow-up it held back, if any.
    pub(super) async fn on_wait_notice_done(&mut self) {
        self.wait_notice.speaking = false;
        if std::mem::take(&mut self.wait_notice.follow_up_waiting) {
            self.follow_up().await;
        }
    }

    /// A tool finished: hand its output to the model.
    async fn on_tool_done(&mut self, run: ToolRun) -> Step {
        if let Some(effect) = &run.outcome.effect {
            self.effect = Some(effect.clone());
        }
        let output = if run.outcome.result.is_object() {
            run.outcome.result
        } else {
            json!({"result": run.outcome.result})
        };
        let _ = self
            .send_openai(client::function_call_output(&run.call_id, &output))
            .await;
        if let Some(entry) = self.tool_responses.get_mut(&run.response_id) {
            entry.0 = entry.0.saturating_sub(1);
            if entry.0 == 0 && entry.1 {
                self.tool_responses.remove(&run.response_id);
                self.follow_up().await;
            }
        }
        Step::Continue
    }

    /// A response ended: if it called tools whose outputs are all in, continue the conversation.
    pub(super) async fn response_done_for_tools(&mut self, response_id: &str) {
        let Some(entry) = self.tool_responses.get_mut(response_id) else {
            return;
        };
        entry.1 = true;
        if entry.0 == 0 {
            self.tool_responses.remove(response_id);
            self.follow_up().await;
        }
    }

    /// One `response.create` after all outputs; if a tool asked to end or transfer the call,
    /// that response is the last words, and the call ends once they have played.
    async fn follow_up(&mut self) {
        if self.wait_notice.speaking {
            self.wait_notice.follow_up_waiting = true;
            return;
        }
        let _ = self.send_openai(client::response_create(None)).await;
        if let Some(effect) = &self.effect {
            let reason = match effect {
                CallEffect::EndCall => EndReason::AssistantHungUp,
                CallEffect::Transfer(_) => EndReason::Transferred,
            };
            self.ending = Some((reason, Instant::now() + GOODBYE_GRACE));
            self.goodbye_response_done = false;
        }
    }

    /// After the loop: hang up or transfer through call control, once.
    pub(super) async fn apply_effect(&mut self, reason: EndReason) {
        let (Some(ports), Some(effect)) = (self.state.inner.tools.as_ref(), self.effect.take())
        else {
            return;
        };
        if !matches!(reason, EndReason::AssistantHungUp | EndReason::Transferred) {
            return;
        }
        let control = ports.call_control.clone();
        let result = match &effect {
            CallEffect::EndCall => control
                .hang_up(&self.call_sid)
                .await
                .map(|outcome| tracing::info!(?outcome, "call hung up")),
            CallEffect::Transfer(to) => control
                .transfer(&self.call_sid, to)
                .await
                .map(|()| tracing::info!(to = %to, "call transferred")),
        };
        if let Err(e) = result {
            tracing::error!(error = %e, ?effect, "call control failed; closing the stream ends the call");
        }
    }
}
