//! What the stream host does around a call for the customer's server: `call.started` once the
//! stream is proven and connected, `call.ended` once the outcome is stored, then the post-call
//! analysis in the background. None of it waits on a webhook receiver or the analysis model:
//! events are queued ([`phone_core::events::Events`]) and the analysis is a tracked background
//! task (`InFlight`), started after Twilio's socket is closed.

use phone_analysis::PostCallAnalysis;
use phone_core::events::{EventType, Events};
use phone_core::{CallSession, CallSid, Cost, StreamEnd};
use phone_http::InFlight;
use serde_json::json;

use crate::HostState;
use crate::machine::Outcome;

/// The stream host's post-call set-up ([`HostState::with_post_call`]).
#[derive(Debug, Clone, Default)]
pub struct PostCall {
    /// Where `call.started` and `call.ended` go (tools emit through the tool ports' own copy).
    pub events: Events,
    /// The analysis run when each call ends; `None`: calls are not analysed.
    pub analysis: Option<PostCallAnalysis>,
    /// Tracks the analyses still running, so an exit can wait for them.
    pub background: InFlight,
}

impl HostState {
    /// With events and the post-call analysis. Set once, before the host serves; a second
    /// call is ignored.
    pub fn with_post_call(self, post_call: PostCall) -> Self {
        if self.inner.post_call.set(post_call).is_err() {
            tracing::warn!("post-call set-up given twice; the first stays");
        }
        self
    }

    /// Analyses still running.
    pub fn background(&self) -> Option<InFlight> {
        self.inner.post_call.get().map(|p| p.background.clone())
    }
}

/// `call.started`: the stream is proven (its token consumed) and the model is connected.
pub(crate) fn call_started(state: &HostState, call: &CallSession) {
    let Some(post) = state.inner.post_call.get() else {
        return;
    };
    post.events.emit(
        EventType::CallStarted,
        state.inner.store.clock().now(),
        Some(call.call_sid.clone()),
        json!({"from": call.from.as_ref().map(|n| n.as_str()), "to": call.to.as_ref().map(|n| n.as_str()),
            "access": call.access, "started_at": call.started_at.unix_timestamp()}),
    );
}

/// `call.ended`, then the analysis in the background.
pub(crate) fn call_ended(
    state: &HostState,
    call_sid: &CallSid,
    end: StreamEnd,
    outcome: &Outcome,
    cost: &Cost,
    forgotten: bool,
) {
    let Some(post) = state.inner.post_call.get() else {
        return;
    };
    post.events.emit(
        EventType::CallEnded,
        state.inner.store.clock().now(),
        Some(call_sid.clone()),
        json!({"reason": end, "turns": outcome.conversation.len(),
            "interruptions": outcome.stats.interruptions,
            "first_reply_ms": outcome.stats.first_reply_ms,
            "usage": outcome.usage, "cost_usd": cost.total_usd()}),
    );
    let Some(analysis) = post.analysis.clone() else {
        return;
    };
    if forgotten {
        tracing::info!("the caller asked to be forgotten: the call is not analysed");
        return;
    }
    let sid = call_sid.clone();
    post.background.spawn(async move {
        if let Err(e) = analysis.run(&sid).await {
            tracing::error!(call_sid = %sid, error = %e, "post-call analysis not stored");
        }
    });
}
