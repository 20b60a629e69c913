//! One call's life: wait for Twilio's `start` while the OpenAI socket opens, check the stream
//! token, run the bridge, then close both sockets and write the call's outcome.
//!
//! How the stream ended is recorded with [`record_end`] before Twilio's socket is closed: the
//! close makes Twilio request the `<Connect action>` at once, and that webhook reads it to
//! decide whether the caller hears an apology and the fallback (docs/voice.md).

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures_util::StreamExt;
use phone_core::store::Created;
use phone_core::token::hash_stream_token;
use phone_core::{CallSid, CallStatus, Cost, PhoneNumber, StreamEnd};
use phone_twilio::media::{StreamEvent, parse_stream_event};
use tokio::time::timeout;
use tracing::Instrument;

use crate::HostState;
use crate::bridge::{Bridge, Outcome};
use crate::limits::CallSlot;
use crate::openai;

/// What `start` told us.
pub(crate) struct StreamStart {
    pub(crate) stream_sid: String,
    pub(crate) call_sid: CallSid,
    pub(crate) token: String,
    pub(crate) caller: Option<PhoneNumber>,
}

/// Why a stream was refused before bridging.
#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("Twilio sent no start within {0:?}")]
    Timeout(Duration),
    #[error("the socket closed before start")]
    Closed,
    #[error("start without {0}")]
    Missing(&'static str),
}

async fn wait_for_start(
    socket: &mut WebSocket,
    max_frame: usize,
    limit: Duration,
) -> Result<StreamStart, StartError> {
    let read = async {
        while let Some(Ok(message)) = socket.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            if text.len() > max_frame {
                continue;
            }
            if let Ok(StreamEvent::Start { start }) = parse_stream_event(text.as_str()) {
                let mut params = start.custom_parameters;
                let token = params
                    .remove("token")
                    .ok_or(StartError::Missing("customParameters.token"))?;
                let call_sid = CallSid::parse(&start.call_sid)
                    .map_err(|_| StartError::Missing("a valid callSid"))?;
                let caller = params
                    .get("caller")
                    .and_then(|c| PhoneNumber::parse(c).ok());
                return Ok(StreamStart {
                    stream_sid: start.stream_sid,
                    call_sid,
                    token,
                    caller,
                });
            }
        }
        Err(StartError::Closed)
    };
    timeout(limit, read)
        .await
        .unwrap_or(Err(StartError::Timeout(limit)))
}

/// Runs one call to its end. Holding `_slot` keeps the call counted until this returns.
pub async fn run(state: HostState, socket: WebSocket, _slot: CallSlot) {
    let span = tracing::info_span!("call", call_sid = tracing::field::Empty);
    run_call(state, socket).instrument(span).await
}

async fn run_call(state: HostState, mut socket: WebSocket) {
    let config = &state.inner.config;
    // Open OpenAI while Twilio sends `connected` and `start`: it saves a round trip of latency
    // on the first turn. Both must succeed; whichever fails, dropping the other closes it.
    let (start, openai) = tokio::join!(
        wait_for_start(&mut socket, config.max_frame_bytes, config.start_timeout),
        openai::connect(config)
    );
    let start = match start {
        Ok(start) => start,
        Err(e) => {
            tracing::warn!(error = %e, "media stream refused");
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
    };
    let call_sid = start.call_sid.clone();
    tracing::Span::current().record("call_sid", tracing::field::display(&call_sid));
    let token_hash = hash_stream_token(&start.token);
    let consumed = Box::pin(
        state
            .inner
            .store
            .consume_stream_token(&call_sid, &token_hash),
    )
    .await;
    if let Err(e) = consumed {
        tracing::warn!(error = %e, "media stream refused: stream token rejected");
        let _ = socket.send(Message::Close(None)).await;
        return;
    }
    let openai = match openai {
        Ok(socket) => socket,
        Err(e) => {
            tracing::error!(error = %e, "cannot reach OpenAI; ending the call");
            record_end(&state, &call_sid, StreamEnd::OpenAiUnreachable).await;
            let _ = socket.send(Message::Close(None)).await;
            Box::pin(finalise(&state, &call_sid, None, None)).await;
            return;
        }
    };
    tracing::info!(caller = ?start.caller, "call connected");
    // Store calls (DynamoDB futures are large) are boxed so they occupy memory only while they
    // run, not for the whole call inside its task.
    let instructions = Box::pin(openai::instructions(&state, start.caller.as_ref())).await;
    let caller = start.caller.clone();
    let outcome = Box::new(Bridge::new(
        state.clone(),
        start,
        socket,
        openai,
        instructions,
    ))
    .run()
    .await;
    Box::pin(finalise(&state, &call_sid, caller.as_ref(), Some(outcome))).await;
}

/// Longest [`record_end`] holds up the close of Twilio's socket. Twilio hears nothing while it
/// waits; past this the close goes ahead and the caller gets the fallback.
const RECORD_END_LIMIT: Duration = Duration::from_secs(2);

/// Records on the call row how the stream ended. Call it BEFORE closing Twilio's socket:
/// Twilio requests the `<Connect action>` as soon as the socket closes, and the action answers
/// `<Hangup/>` only for a normal end it can read. Bounded by [`RECORD_END_LIMIT`]; a failure
/// or timeout is logged and the close goes on (the action then treats the end as abnormal, so
/// the caller hears the apology rather than silence). The first end recorded for a call stays.
pub(crate) async fn record_end(state: &HostState, call_sid: &CallSid, end: StreamEnd) {
    let write = Box::pin(state.inner.store.record_stream_end(call_sid, end));
    match timeout(RECORD_END_LIMIT, write).await {
        Ok(Ok(Created::New)) => tracing::info!(?end, "stream end recorded"),
        Ok(Ok(Created::Existing(first))) => {
            tracing::info!(?end, ?first, "stream end already recorded; the first stays")
        }
        Ok(Err(e)) => {
            tracing::error!(?end, error = %e, "stream end not recorded: the caller will hear the fallback")
        }
        Err(_) => tracing::error!(
            ?end,
            limit = ?RECORD_END_LIMIT,
            "stream end not recorded in time: the caller will hear the fallback"
        ),
    }
}

/// Writes stats, usage and cost, and marks the call completed.
async fn finalise(
    state: &HostState,
    call_sid: &CallSid,
    caller: Option<&PhoneNumber>,
    outcome: Option<Outcome>,
) {
    let config = &state.inner.config;
    let store = &state.inner.store;
    let outcome = outcome.unwrap_or_default();
    let cost = config.prices.cost(&config.model, &outcome.usage).unwrap_or_else(|| {
        tracing::warn!(model = %config.model, "no price configured for the model; cost recorded as 0");
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
    if let Err(e) = store
        .set_call_status(call_sid, CallStatus::Completed, None)
        .await
    {
        tracing::error!(error = %e, "could not mark the call completed");
    }
    if let Some(caller) = caller
        && !outcome.conversation.is_empty()
    {
        remember_call(state, caller, &outcome).await;
    }
    tracing::info!(
        reason = ?outcome.reason,
        frames_in = outcome.stats.frames_in,
        frames_out = outcome.stats.frames_out,
        interruptions = outcome.stats.interruptions,
        first_reply_ms = ?outcome.stats.first_reply_ms,
        cost_usd = cost.total_usd(),
        "call ended"
    );
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
