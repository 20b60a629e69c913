//! The bridge loop of one call: Twilio audio to OpenAI, OpenAI audio and marks to Twilio,
//! barge-in, transcripts, usage, timers, reconnection and the goodbye.
//!
//! One task owns both sockets; no lock is shared with other calls. Audio payloads pass through
//! as base64 strings and are never decoded.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use axum::extract::ws::{Message as TwilioMessage, WebSocket};
use futures_util::{SinkExt, StreamExt};
use phone_core::tools::{CallEffect, ToolContext};
use phone_core::{CallStats, Role, Usage};
use phone_realtime::client;
use phone_realtime::connect::RealtimeSocket;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message as OpenAiMessage;

use crate::HostState;
use crate::bargein::Playback;
use crate::call::StreamStart;
use crate::openai;

mod openai_side;
mod reconnect;
mod tools;
mod twilio_side;

use tools::{ToolEvent, WaitNotice};

/// Why a call ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EndReason {
    /// Twilio sent `stop` or closed: the caller hung up.
    #[default]
    CallerHungUp,
    /// The call reached its maximum duration.
    MaxDuration,
    /// The call's model cost reached `MAX_CALL_COST_USD`.
    CostLimit,
    /// The caller was silent too long.
    Idle,
    /// The host is shutting down.
    Drain,
    /// OpenAI could not be reached again.
    OpenAiLost,
    /// The assistant ended the call (`end_call`) after its goodbye.
    AssistantHungUp,
    /// The assistant transferred the caller (`transfer_call`) after announcing it.
    Transferred,
}

/// What the bridge measured.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Why it ended.
    pub reason: EndReason,
    /// Counters.
    pub stats: CallStats,
    /// Tokens.
    pub usage: Usage,
    /// What was said, in order, for the caller's memory.
    pub conversation: Vec<(Role, String)>,
}

/// Most caller frames held while the session is not ready (30 s of audio).
const MAX_QUEUED_FRAMES: usize = 1500;
/// Time a goodbye gets to be spoken and played.
const GOODBYE_GRACE: Duration = Duration::from_secs(10);
/// Turns replayed to a new OpenAI session after a reconnect.
const REPLAYED_TURNS: usize = 50;

/// One call's bridge.
pub(crate) struct Bridge {
    state: HostState,
    stream_sid: String,
    call_sid: phone_core::CallSid,
    /// Both sockets stay whole (not split): the one task that owns them reads and writes in
    /// turn, so a split's lock would be pure cost on every frame.
    twilio: WebSocket,
    openai: RealtimeSocket,
    instructions: String,
    session_ready: bool,
    greeted: bool,
    queued: Vec<String>,
    playback: Playback,
    truncated_items: HashSet<String>,
    conversation: Vec<(Role, String)>,
    next_turn: u32,
    speech_stopped_at: Option<Instant>,
    last_activity: Instant,
    ending: Option<(EndReason, Instant)>,
    goodbye_response_done: bool,
    writes: JoinSet<()>,
    outcome: Outcome,
    tool_ctx: Option<ToolContext>,
    tool_tasks: JoinSet<()>,
    tool_tx: tokio::sync::mpsc::UnboundedSender<ToolEvent>,
    tool_rx: tokio::sync::mpsc::UnboundedReceiver<ToolEvent>,
    /// Tool runs whose `Done` has not arrived: the loop polls `tool_rx` only while some are
    /// (polling an empty channel on every audio frame costs measurable CPU).
    tools_running: usize,
    /// Per response with tool calls: outputs still running, and whether the response is done.
    tool_responses: HashMap<String, (usize, bool)>,
    effect: Option<CallEffect>,
    wait_notice: WaitNotice,
}

enum Step {
    Continue,
    End(EndReason),
}

impl Bridge {
    pub(crate) fn new(
        state: HostState,
        start: StreamStart,
        twilio: WebSocket,
        openai: RealtimeSocket,
        instructions: String,
    ) -> Self {
        let (tool_tx, tool_rx) = tokio::sync::mpsc::unbounded_channel();
        let tool_ctx = state.inner.tools.as_ref().map(|ports| {
            let owner = phone_core::store::Keys::call(&start.call_sid);
            ports.context(&state.inner.store, owner, start.caller.clone(), true)
        });
        Self {
            tool_ctx,
            tool_tasks: JoinSet::new(),
            tool_tx,
            tool_rx,
            tool_responses: HashMap::new(),
            tools_running: 0,
            effect: None,
            wait_notice: WaitNotice::default(),
            state,
            stream_sid: start.stream_sid,
            call_sid: start.call_sid,
            twilio,
            openai,
            instructions,
            session_ready: false,
            greeted: false,
            queued: Vec::new(),
            playback: Playback::default(),
            truncated_items: HashSet::new(),
            conversation: Vec::new(),
            next_turn: 0,
            speech_stopped_at: None,
            last_activity: Instant::now(),
            ending: None,
            goodbye_response_done: false,
            writes: JoinSet::new(),
            outcome: Outcome::default(),
        }
    }

    /// Runs until the call ends, then closes both sockets and waits for pending store writes.
    /// Boxed: the bridge (~2.7 kB, mostly the two sockets) then lives once on the heap rather
    /// than twice inside the call's future.
    pub(crate) async fn run(mut self: Box<Self>) -> Outcome {
        // A handle on the shared state, not a copy of the configuration: it holds every tool's
        // JSON schema, ~20 kB that a per-call clone would keep for the whole call.
        let state = self.state.clone();
        let config = &state.inner.config;
        let reason = match self
            .send_openai(openai::session_update(
                config,
                &self.instructions,
                "session-1",
            ))
            .await
        {
            Err(()) => Box::pin(self.reconnect())
                .await
                .err()
                .unwrap_or(EndReason::OpenAiLost),
            Ok(()) => self.pump(config.max_call, config.idle_timeout).await,
        };
        self.outcome.reason = reason;
        self.tool_tasks.abort_all();
        self.outcome.conversation = std::mem::take(&mut self.conversation);
        Box::pin(self.apply_effect(reason)).await;
        let _ = self.twilio.send(TwilioMessage::Close(None)).await;
        let _ = self.openai.send(OpenAiMessage::Close(None)).await;
        while let Some(joined) = self.writes.join_next().await {
            if let Err(e) = joined {
                tracing::error!(error = %e, "store write task failed");
            }
        }
        self.outcome
    }

    /// Moves messages both ways until the call ends. The timers live across iterations: a
    /// timer created per message would be registered and dropped 100 times a second per call.
    /// Rare, large handlers (reconnect, goodbye, tools, session setup, barge-in) are boxed: a
    /// call's task is as big as its largest inline future, for the whole call.
    async fn pump(&mut self, max_call: Duration, idle_timeout: Duration) -> EndReason {
        let mut drain = self.state.inner.drain.clone();
        let drain_deadline = drain.deadline_passed();
        let max_timer = sleep_until(Instant::now() + max_call);
        // The idle timer is checked lazily: when it fires early because of activity since it
        // was set, it is pushed back instead of being reset on every frame.
        let idle_timer = sleep_until(self.last_activity + idle_timeout);
        let goodbye_timer = sleep_until(Instant::now() + max_call);
        tokio::pin!(drain_deadline, max_timer, idle_timer, goodbye_timer);
        loop {
            let was_ending = self.ending.is_some();
            let step = tokio::select! {
                message = self.twilio.next() => match message {
                    Some(Ok(TwilioMessage::Text(text))) => self.on_twilio(text.as_str()).await,
                    Some(Ok(TwilioMessage::Close(_))) | None | Some(Err(_)) => Step::End(EndReason::CallerHungUp),
                    Some(Ok(TwilioMessage::Binary(_))) => {
                        self.outcome.stats.dropped_frames += 1;
                        Step::Continue
                    }
                    Some(Ok(_)) => Step::Continue,
                },
                message = self.openai.next() => match message {
                    Some(Ok(OpenAiMessage::Text(text))) => self.on_openai(text.as_str()).await,
                    Some(Ok(OpenAiMessage::Close(_))) | None | Some(Err(_)) => match Box::pin(self.reconnect()).await {
                        Ok(()) => Step::Continue,
                        Err(reason) => Step::End(reason),
                    },
                    Some(Ok(_)) => Step::Continue,
                },
                _ = &mut max_timer, if !was_ending => Box::pin(self.begin_goodbye(EndReason::MaxDuration)).await,
                _ = &mut idle_timer, if !was_ending => {
                    let due = self.last_activity + idle_timeout;
                    if due > Instant::now() {
                        idle_timer.as_mut().reset(due);
                        Step::Continue
                    } else if self.playback.has_unplayed_audio() {
                        self.last_activity = Instant::now();
                        idle_timer.as_mut().reset(self.last_activity + idle_timeout);
                        Step::Continue
                    } else {
                        Box::pin(self.begin_goodbye(EndReason::Idle)).await
                    }
                }
                _ = &mut drain_deadline, if !was_ending => Box::pin(self.begin_goodbye(EndReason::Drain)).await,
                Some(event) = self.tool_rx.recv(), if self.tools_running > 0 => Box::pin(self.on_tool_event(event)).await,
                _ = &mut goodbye_timer, if was_ending => Step::End(self.ending.map(|(r, _)| r).unwrap_or_default()),
            };
            if let Step::End(reason) = step {
                return reason;
            }
            if let (false, Some((_, at))) = (was_ending, self.ending) {
                goodbye_timer.as_mut().reset(at);
            }
        }
    }

    async fn send_openai(&mut self, text: String) -> Result<(), ()> {
        self.outcome.stats.messages += 1;
        self.openai
            .send(OpenAiMessage::Text(text.into()))
            .await
            .map_err(|_| ())
    }

    async fn send_twilio(&mut self, text: String) -> Step {
        match self.twilio.send(TwilioMessage::Text(text.into())).await {
            Ok(()) => Step::Continue,
            Err(_) => Step::End(EndReason::CallerHungUp),
        }
    }

    async fn begin_goodbye(&mut self, reason: EndReason) -> Step {
        tracing::info!(?reason, "ending the call with a goodbye");
        self.ending = Some((reason, Instant::now() + GOODBYE_GRACE));
        let words = match reason {
            EndReason::Idle => {
                "The caller has been silent for a while. Say a short, friendly goodbye."
            }
            EndReason::CostLimit => {
                "The call has reached its spending limit. Apologise briefly and say goodbye."
            }
            EndReason::MaxDuration => {
                "The call has reached its time limit. Apologise and say a short goodbye."
            }
            _ => "You must end the call now for maintenance. Apologise briefly and say goodbye.",
        };
        let _ = self.send_openai(client::response_create(Some(words))).await;
        Step::Continue
    }

    fn maybe_finish_goodbye(&mut self) -> Step {
        match self.ending {
            Some((reason, _))
                if self.goodbye_response_done && !self.playback.last_mark_pending() =>
            {
                Step::End(reason)
            }
            _ => Step::Continue,
        }
    }
}
