//! Running the tools a turn asked for (off the audio path, with a timeout and a "still
//! running" signal), and applying `end_call`/`transfer_call` once the call has ended.

use std::time::Duration;

use phone_core::tools::{CallEffect, ToolOutcome, run_tool};
use tokio::time::Instant;

use super::Bridge;
use crate::engine::ToolCall;
use crate::machine::EndReason;

/// Longest a tool may run before the model is told it failed.
const TOOL_TIMEOUT: Duration = Duration::from_secs(12);
/// A tool running longer than this gets a "one moment" (about the pause after which a caller
/// starts wondering whether anyone is there).
const SLOW_TOOL: Duration = Duration::from_millis(2500);

/// What a tool task tells the bridge loop.
pub(crate) enum ToolEvent {
    /// A tool of this turn is still running after [`SLOW_TOOL`].
    Slow(String),
    /// A tool finished (or timed out).
    Done {
        turn: String,
        call_id: String,
        outcome: ToolOutcome,
    },
}

impl Bridge {
    /// Starts a tool in its own task so audio keeps flowing.
    pub(super) fn start_tool(&mut self, turn: String, call: ToolCall) {
        let tx = self.tool_tx.clone();
        self.tools_running += 1;
        let ToolCall {
            call_id,
            name,
            arguments,
        } = call;
        let Some(ctx) = self.tool_ctx.clone() else {
            let outcome = ToolOutcome::error(format!("tool {name} is not available on this line"));
            let _ = tx.send(ToolEvent::Done {
                turn,
                call_id,
                outcome,
            });
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
                        let _ = tx.send(ToolEvent::Slow(turn.clone()));
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
            let _ = tx.send(ToolEvent::Done {
                turn,
                call_id,
                outcome,
            });
        });
    }

    /// Hands a tool task's event to the core.
    pub(super) fn on_tool_event(&mut self, event: ToolEvent) {
        match event {
            ToolEvent::Slow(turn) => self.core.tool_slow(&turn),
            ToolEvent::Done {
                turn,
                call_id,
                outcome,
            } => {
                self.tools_running = self.tools_running.saturating_sub(1);
                self.core.tool_done(&turn, call_id, outcome, Instant::now());
            }
        }
    }

    /// After the loop: hang up or transfer through call control, once.
    pub(super) async fn apply_effect(&mut self, reason: EndReason, effect: Option<CallEffect>) {
        let (Some(ports), Some(effect)) = (self.state.inner.tools.as_ref(), effect) else {
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
            // Played during the call (`Action::PressKeys`), never kept for after it.
            CallEffect::PressKeys(_) => return,
        };
        if let Err(e) = result {
            tracing::error!(error = %e, ?effect, "call control failed; closing the stream ends the call");
        }
    }
}
