//! Tool calls during a call (PROTOCOLS.md §2.4): run each tool off the audio path, answer with
//! `function_call_output`, and send one `response.create` once every output of a response is
//! in. `end_call` and `transfer_call` act only after the assistant's next words have played.

use std::time::Duration;

use phone_core::tools::{CallEffect, ToolOutcome, run_tool};
use phone_realtime::client;
use serde_json::json;
use tokio::time::Instant;

use super::{Bridge, EndReason, GOODBYE_GRACE, Step};

/// Longest a tool may run before the model is told it failed.
const TOOL_TIMEOUT: Duration = Duration::from_secs(12);

/// A finished tool run, sent back to the bridge loop.
pub(crate) struct ToolRun {
    response_id: String,
    call_id: String,
    outcome: ToolOutcome,
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
        let Some(ctx) = self.tool_ctx.clone() else {
            let outcome = ToolOutcome::error(format!("tool {name} is not available on this line"));
            let _ = tx.send(ToolRun {
                response_id,
                call_id,
                outcome,
            });
            return;
        };
        tracing::info!(tool = %name, call_id = %call_id, "tool call");
        self.tool_tasks.spawn(async move {
            let outcome = match tokio::time::timeout(
                TOOL_TIMEOUT,
                run_tool(&ctx, &name, &arguments, &call_id),
            )
            .await
            {
                Ok(outcome) => outcome,
                Err(_) => ToolOutcome::error(format!(
                    "{name} did not finish within {} s; tell the caller to try again later",
                    TOOL_TIMEOUT.as_secs()
                )),
            };
            let _ = tx.send(ToolRun {
                response_id,
                call_id,
                outcome,
            });
        });
    }

    /// A tool finished: hand its output to the model.
    pub(super) async fn on_tool_done(&mut self, run: ToolRun) -> Step {
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
