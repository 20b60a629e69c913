//! One call's life: wait for Twilio's `start`, check the stream token, open the OpenAI socket,
//! run the bridge, then close both sockets and write the call's outcome.
//!
//! How the stream ended is recorded ([`crate::stream_end`]) before Twilio's socket is closed: the
//! close makes Twilio request the `<Connect action>` at once, and that webhook reads it to
//! decide whether the caller hears an apology and the fallback (docs/voice.md).

use axum::extract::ws::{Message, WebSocket};
use phone_core::outbound::{Direction, OutboundOutcome};
use phone_core::token::hash_stream_token;
use phone_core::{CallSid, CallStatus, Cost, PhoneNumber, StreamEnd};
use tracing::Instrument;

use crate::HostState;
use crate::bridge::{Bridge, CallPlan, OutboundPlan};
use crate::engine::Engine;
use crate::engine::live::LiveEngine;
use crate::engine::realtime::RealtimeEngine;
use crate::machine::Outcome;
use crate::openai;
use crate::start::wait_for_start;
use crate::stream_end::record_end;
use phone_config::VoiceEngine;
use phone_core::tools::access_instructions;

/// Runs one call to its end. Holding `_slot` keeps the call counted until this returns.
pub async fn run(state: HostState, socket: WebSocket, _slot: phone_http::Entry) {
    let span = tracing::info_span!("call", call_sid = tracing::field::Empty);
    run_call(state, socket).instrument(span).await
}

async fn run_call(state: HostState, mut socket: WebSocket) {
    let config = &state.inner.config;
    let start =
        match wait_for_start(&mut socket, config.max_frame_bytes, config.start_timeout).await {
            Ok(start) => start,
            Err(e) => {
                tracing::warn!(error = %e, "media stream refused");
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
        };
    let call_sid = start.call_sid.clone();
    tracing::Span::current().record("call_sid", tracing::field::display(&call_sid));
    // The upgrade's signature covers only the fixed stream URL, the same for every call: the
    // single-use token in `start` is what proves this stream belongs to a call we answered.
    // No OpenAI session (billed) is opened before it is consumed.
    let token_hash = hash_stream_token(&start.token);
    let consumed = Box::pin(
        state
            .inner
            .store
            .consume_stream_token(&call_sid, &token_hash),
    )
    .await;
    let call = match consumed {
        Ok(call) => call,
        Err(e) => {
            tracing::warn!(error = %e, "media stream refused: stream token rejected");
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
    };
    // Who is calling and what they may do come from the call row the signed webhook wrote,
    // never from the stream's `<Parameter>`s.
    let access = call.access;
    // The other party: the caller, or the callee of an outbound call.
    let caller = call.counterpart().cloned();
    // Memory is read and written only for a caller ID the webhook proved (full STIR/SHAKEN
    // attestation or the owner PIN): a spoofed number gets none and leaves none.
    let remembered = call.remembered_caller().cloned();
    // A guest's call lasts at most the minutes left of the number's daily quota.
    let max_call = match call.max_call_secs {
        Some(secs) => config
            .max_call
            .min(std::time::Duration::from_secs(secs.into())),
        None => config.max_call,
    };
    // An outbound call's request: its purpose and instructions come from the store.
    let request = match (&call.direction, &call.outbound_id) {
        (Direction::Outbound, Some(id)) => match Box::pin(state.inner.store.get_outbound(id)).await
        {
            Ok(request) => Some(request),
            Err(e) => {
                tracing::error!(error = %e, outbound = %id, "outbound request unreadable; ending the call");
                record_end(&state, &call_sid, StreamEnd::SessionNotConfigured).await;
                let _ = socket.send(Message::Close(None)).await;
                Box::pin(finalise(&state, &call_sid, None, None)).await;
                return;
            }
        },
        _ => None,
    };
    let openai = match openai::connect(config).await {
        Ok(socket) => socket,
        Err(e) => {
            tracing::error!(error = %e, "cannot reach OpenAI; ending the call");
            record_end(&state, &call_sid, StreamEnd::OpenAiUnreachable).await;
            let _ = socket.send(Message::Close(None)).await;
            Box::pin(finalise(&state, &call_sid, None, None)).await;
            return;
        }
    };
    tracing::info!(?access, "call connected");
    crate::post_call::call_started(&state, &call);
    // Store calls (DynamoDB futures are large) are boxed so they occupy memory only while they
    // run, not for the whole call inside its task.
    let mut instructions = Box::pin(openai::instructions(&state, remembered.as_ref())).await;
    let tool_ctx = state.inner.tools.as_ref().map(|ports| {
        instructions.push('\n');
        instructions.push_str(access_instructions(access));
        let owner = phone_core::store::Keys::call(&call_sid);
        let mut ctx = ports.context_as(&state.inner.store, access, owner, caller.clone(), true);
        ctx.verified_caller = call.verified_caller;
        ctx
    });
    let mut watcher = None;
    let outbound = request.as_ref().map(|request| {
        let name = &config.assistant_name;
        let owner = config.owner_name.as_deref();
        instructions.push_str(&request.session_instructions(name, owner));
        let (answer, task) = crate::answer::watch(state.inner.store.clone(), call_sid.clone());
        watcher = Some(task);
        OutboundPlan {
            greeting: request.greeting(name, owner),
            voicemail: request.voicemail_instructions(name, owner),
            answer,
        }
    });
    let tools = state.inner.offered.for_access(access);
    let engine: Box<dyn Engine> = match config.engine {
        VoiceEngine::Realtime => Box::new(RealtimeEngine::new(config.clone(), tools)),
        VoiceEngine::Live => Box::new(LiveEngine::new(config.clone(), tools)),
    };
    let outcome = Box::new(Bridge::new(
        state.clone(),
        start,
        socket,
        openai,
        engine,
        CallPlan {
            instructions,
            tool_ctx,
            max_call,
            outbound,
        },
    ))
    .run()
    .await;
    export_trace(&state, &call_sid, call.started_at, &outcome);
    if let Some(task) = watcher {
        task.abort();
    }
    if request.is_some() && outcome.reason == crate::EndReason::VoicemailLeft {
        let settled = Box::pin(phone_core::outbound::dialer::record_outcome(
            &state.inner.store,
            &call,
            OutboundOutcome::VoicemailLeft,
        ))
        .await;
        match settled {
            Ok(outcome) => tracing::info!(?outcome, "voicemail left"),
            Err(e) => tracing::error!(error = %e, "could not record the voicemail outcome"),
        }
    }
    Box::pin(finalise(
        &state,
        &call_sid,
        remembered.as_ref(),
        Some(outcome),
    ))
    .await;
}

/// Writes stats, usage and cost, marks the call completed, settles tools that never finished,
/// and adds the call to a verified caller's memory (`caller`: `None` for an unverified one).
async fn finalise(
    state: &HostState,
    call_sid: &CallSid,
    caller: Option<&PhoneNumber>,
    outcome: Option<Outcome>,
) {
    let config = &state.inner.config;
    let store = &state.inner.store;
    // No outcome: OpenAI could not be reached when the call started.
    let end = outcome
        .as_ref()
        .map_or(StreamEnd::OpenAiUnreachable, |o| o.reason.into());
    let outcome = outcome.unwrap_or_default();
    let model = if outcome.model.is_empty() {
        &config.model
    } else {
        &outcome.model
    };
    let cost = config
        .prices
        .cost(model, &outcome.usage)
        .unwrap_or_else(|| {
            tracing::warn!(%model, "no price configured for the model; cost recorded as 0");
            Cost::default()
        });
    if let Err(e) = store
        .save_call_outcome(
            call_sid,
            &config.host_id,
            &outcome.stats,
            &outcome.usage,
            &cost,
        )
        .await
    {
        tracing::error!(error = %e, "could not save the call outcome");
    }
    record_latency(state, call_sid, &outcome).await;
    if let Err(e) = store
        .set_call_status(call_sid, CallStatus::Completed, None)
        .await
    {
        tracing::error!(error = %e, "could not mark the call completed");
    }
    // The bridge is gone, and its tool tasks with it: a write tool still pending (cut by its
    // timeout or by the hang-up) will never finish, so its outcome is recorded as unknown.
    match store
        .settle_pending_tool_calls(&phone_core::store::Keys::call(call_sid))
        .await
    {
        Ok(0) => {}
        Ok(settled) => tracing::warn!(settled, "unfinished tool calls settled as outcome unknown"),
        Err(e) => tracing::error!(error = %e, "could not settle unfinished tool calls"),
    }
    let forgotten = caller.is_some() && forgotten_during_call(state, call_sid).await;
    if let Some(caller) = caller
        && !forgotten
        && !outcome.conversation.is_empty()
    {
        remember_call(state, caller, &outcome).await;
    }
    crate::post_call::call_ended(state, call_sid, end, &outcome, &cost, forgotten);
    tracing::info!(
        reason = ?outcome.reason,
        frames_in = outcome.stats.frames_in,
        frames_out = outcome.stats.frames_out,
        interruptions = outcome.stats.interruptions,
        first_reply_ms = ?outcome.stats.first_reply_ms,
        turns = outcome.turn_latencies.len(),
        cost_usd = cost.total_usd(),
        "call ended"
    );
}

/// The call's latency percentiles on its row, and its turns as the CloudWatch metric line
/// (the turns' rows were stored as they came).
async fn record_latency(state: &HostState, call_sid: &CallSid, outcome: &Outcome) {
    let turns = &outcome.turn_latencies;
    let totals: Vec<u64> = turns.iter().map(|t| t.total_ms).collect();
    let percentiles = phone_core::LatencyPercentiles::of(&totals);
    if let Err(e) = state
        .inner
        .store
        .save_call_latency(call_sid, &percentiles)
        .await
    {
        tracing::error!(error = %e, "could not save the call's latency percentiles");
    }
    crate::metrics::emit_turn_latencies(call_sid.as_str(), engine_name(state), turns);
}

/// The call as an OpenTelemetry trace, when export is on (feature `otel` and the OTLP
/// variables; see [`crate::trace_export`]).
#[cfg(feature = "otel")]
fn export_trace(
    state: &HostState,
    call_sid: &CallSid,
    started_at: time::OffsetDateTime,
    outcome: &Outcome,
) {
    if let Some(export) = &state.inner.trace_export {
        export.export_call(crate::trace_export::CallTrace {
            call_sid: call_sid.as_str(),
            engine: engine_name(state),
            started_at,
            ended_at: state.inner.store.clock().now(),
            outcome,
        });
    }
}

#[cfg(not(feature = "otel"))]
fn export_trace(_: &HostState, _: &CallSid, _: time::OffsetDateTime, _: &Outcome) {}

fn engine_name(state: &HostState) -> &'static str {
    match state.inner.config.engine {
        VoiceEngine::Realtime => "realtime",
        VoiceEngine::Live => "live",
    }
}

/// Whether the caller asked to be forgotten during this call (`forget_me` removes the number
/// from the call row). If so, what the call recorded after the erasure (the rest of the
/// transcript, the last tool records) is erased too, and nothing is remembered.
async fn forgotten_during_call(state: &HostState, call_sid: &CallSid) -> bool {
    let store = &state.inner.store;
    match store.get_call(call_sid).await {
        Ok(row) if row.from.is_none() => {
            if let Err(e) = store.erase_call(call_sid).await {
                tracing::error!(error = %e, "could not erase the rest of a forgotten call");
            }
            true
        }
        Ok(_) => false,
        Err(e) => {
            // Unknown: remembering could undo a "forget me", so do not.
            tracing::warn!(error = %e, "call row unreadable; the call is not remembered");
            true
        }
    }
}

/// Adds a one-line summary of this call to the caller's memory, for the next call's
/// instructions (what the assistant did is already noted by the tools).
async fn remember_call(state: &HostState, caller: &PhoneNumber, outcome: &Outcome) {
    let store = &state.inner.store;
    let now = store.clock().now();
    let date = now.date().to_string();
    let said: Vec<&str> = outcome
        .conversation
        .iter()
        .filter(|(r, _)| *r == phone_core::Role::Caller)
        .map(|(_, t)| t.as_str())
        .collect();
    let line =
        phone_core::memory::summarize(&date, "phone call", &said, outcome.conversation.len());
    let result = async {
        let mut memory = store.get_memory(caller).await?;
        memory.add_summary(&line, now);
        store.put_memory(caller, &memory).await
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not update the caller's memory");
    }
}
