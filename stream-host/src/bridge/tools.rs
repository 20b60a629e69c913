//! Tool calls during a call (PROTOCOLS.md §2.4).
//!
//! - A function call is held until its response ends: `function_call_arguments.done` is also
//!   sent for responses that are then cancelled (the caller said "no, don't send it") or cut
//!   short, so only a `completed` response's calls run; the others are answered "not run".
//! - Each tool runs off the audio path; its output goes back as `function_call_output`, and one
//!   follow-up response is asked for once every output of the response is in.
//! - `end_call` and `transfer_call` act only after the assistant's next words have played.
//! - A tool still running after [`SLOW_TOOL`] gets a short out-of-band "one moment" so the
//!   caller is not left in silence (never while another response speaks).

use std::time::Duration;

use phone_core::tools::{CallEffect, ToolOutcome, run_tool};
use phone_realtime::client;
use phone_realtime::server::ResponseInfo;
use serde_json::json;
use tokio::time::Instant;

use super::{Bridge, EndReason, GOODBYE_GRACE, Step};
use crate::responses::Purpose;

/// Longest a tool may run before the model is told it failed.
const TOOL_TIMEOUT: Duration = Duration::from_secs(12);
/// A tool running longer than this gets a "one moment" (about the pause after which a caller
/// starts wondering whether anyone is there).
const SLOW_TOOL: Duration = Duration::from_millis(2500);

/// A function call waiting for its response to end.
pub(crate) struct HeldCall {
    call_id: String,
    name: String,
    arguments: String,
}

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

impl Bridge {
    /// Keeps a function call until its response's `response.done` says whether it may run.
    pub(super) fn hold_call(
        &mut self,
        response_id: String,
        call_id: String,
        name: String,
        arguments: String,
    ) {
        tracing::info!(tool = %name, call_id = %call_id, "tool call requested");
        self.held_calls
            .entry(response_id)
            .or_default()
            .push(HeldCall {
                call_id,
                name,
                arguments,
            });
    }

    /// A response ended: run its calls if it completed, otherwise tell the model they were not
    /// run (no follow-up: whatever cut the response short, usually the caller, speaks next).
    pub(super) async fn release_calls(&mut self, response: &ResponseInfo) {
        let Some(calls) = self.held_calls.remove(&response.id) else {
            return;
        };
        if !response.completed() {
            let status = response.status.as_deref().unwrap_or("unknown");
            for call in calls {
                tracing::warn!(tool = %call.name, call_id = %call.call_id, status, "tool not run: its response did not complete");
                let output = json!({"error": format!(
                    "not run: the response asking for it ended as {status} (usually the caller interrupted); ask the caller before trying again"
                )});
                let _ = self
                    .send_openai(client::function_call_output(&call.call_id, &output))
                    .await;
            }
            return;
        }
        self.tool_turns.insert(response.id.clone(), calls.len());
        for call in calls {
            self.start_tool(response.id.clone(), call);
        }
    }

    /// Starts a tool in its own task so audio keeps flowing.
    fn start_tool(&mut self, response_id: String, call: HeldCall) {
        let tx = self.tool_tx.clone();
        self.tools_running += 1;
        let HeldCall {
            call_id,
            name,
            arguments,
        } = call;
        let Some(ctx) = self.tool_ctx.clone() else {
            let outcome = ToolOutcome::error(format!("tool {name} is not available on this line"));
            let _ = tx.send(ToolEvent::Done(ToolRun {
                response_id,
                call_id,
                outcome,
            }));
            return;
        };
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

    /// A tool is slow: once per response, and only when the call is not ending and nothing
    /// else speaks, ask for a brief "one moment".
    async fn on_tool_slow(&mut self, response_id: String) {
        if self.ending.is_some()
            || !self.tool_turns.contains_key(&response_id)
            || !self.noticed.insert(response_id)
        {
            return;
        }
        tracing::info!("tool is slow; telling the caller to hold on");
        self.request_response(Purpose::ToolWait, None).await;
    }

    /// A tool finished: hand its output to the model.
    async fn on_tool_done(&mut self, run: ToolRun) -> Step {
        let Some(remaining) = self.tool_turns.get_mut(&run.response_id) else {
            // Its session was replaced by a reconnect: the call id means nothing there.
            tracing::warn!(call_id = %run.call_id, "tool output dropped: its session is gone");
            return Step::Continue;
        };
        *remaining = remaining.saturating_sub(1);
        let all_in = *remaining == 0;
        if all_in {
            self.tool_turns.remove(&run.response_id);
        }
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
        if all_in {
            self.follow_up().await;
        }
        Step::Continue
    }

    /// One response after all outputs; if a tool asked to end or transfer the call, that
    /// response is the last words, and the call ends once they have played.
    async fn follow_up(&mut self) {
        let Some(effect) = &self.effect else {
            self.request_response(Purpose::FollowUp, None).await;
            return;
        };
        let reason = match effect {
            CallEffect::EndCall => EndReason::AssistantHungUp,
            CallEffect::Transfer(_) => EndReason::Transferred,
        };
        self.ending = Some((reason, Instant::now() + GOODBYE_GRACE));
        self.goodbye_response_done = false;
        self.request_response(Purpose::Goodbye, None).await;
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
