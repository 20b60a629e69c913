//! The shell around one call's [`CallCore`]: it owns Twilio's socket and the engine's, runs the
//! timers and the tool tasks, feeds the core what happens and performs what the core asks.
//!
//! One task owns both sockets; no lock is shared with other calls. Audio payloads pass through
//! as base64 strings and are never decoded. The two hot paths are direct: caller audio goes to
//! the engine when [`CallCore::audio_flows`], assistant audio goes to Twilio with the mark the
//! core's playback asks for. When the call ends is decided by the core
//! ([`crate::machine::phase`]).

use std::future::Future;
use std::pin::Pin;

use axum::extract::ws::{Message as TwilioMessage, WebSocket};
use futures_util::{SinkExt, StreamExt};
use phone_core::outbound::AnsweredBy;
use phone_core::tools::ToolContext;
use phone_realtime::connect::RealtimeSocket;
use phone_twilio::media;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message as EngineMessage;

use crate::HostState;
use crate::engine::{Engine, EngineOutput};
use crate::machine::{Action, CallCore, EndReason, Outcome, Timer};
use crate::openai::{self, ConnectError};
use crate::start::StreamStart;
use crate::stream_end::record_end;

mod tools;
mod twilio_side;

use tools::ToolEvent;

/// Longest wait for an engine to confirm the end of its session (GPT-Live's `session.closed`).
const ENGINE_CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// 20 ms of μ-law silence (160 bytes of 0xFF), base64: what fills a gap in Twilio's frames for
/// an engine whose clock runs on input audio.
const SILENT_FRAME_B64: &str = concat!(
    "////////////////////////////////////////////////////////////////////////////////////////////",
    "////////////////////////////////////////////////////////////////////////////////////////////",
    "/////////////////////////////w=="
);
/// A gap in Twilio's frames longer than this is filled with silence.
const GAP_BEFORE_FILL: std::time::Duration = std::time::Duration::from_millis(100);
/// One caller frame.
const FRAME: std::time::Duration = std::time::Duration::from_millis(20);

/// Keypad tones go to Twilio in media messages of this many μ-law bytes (100 ms).
const TONE_CHUNK_BYTES: usize = 800;

/// Most caller frames held while the session is not ready (30 s of audio).
const MAX_QUEUED_FRAMES: usize = 1500;

/// An engine connection being opened (after a backoff) to replace a dropped one.
type Connecting = Pin<Box<dyn Future<Output = Result<RealtimeSocket, ConnectError>> + Send>>;

/// One call's bridge.
pub(crate) struct Bridge {
    state: HostState,
    stream_sid: String,
    call_sid: phone_core::CallSid,
    /// Both sockets stay whole (not split): the one task that owns them reads and writes in
    /// turn, so a split's lock would be pure cost on every frame.
    twilio: WebSocket,
    /// `None` while a dropped connection is being replaced.
    engine_socket: Option<RealtimeSocket>,
    connecting: Option<Connecting>,
    engine: Box<dyn Engine>,
    core: CallCore,
    /// Reused for every engine frame, so an audio delta allocates nothing here.
    out: EngineOutput,
    /// Caller audio waiting for the session.
    queued: Vec<String>,
    /// When the caller's audio last reached the engine (a Twilio frame or filled silence).
    last_caller_audio: Instant,
    /// This call's longest duration (`MAX_CALL_SECS`, or less for a guest near their quota).
    max_call: std::time::Duration,
    writes: JoinSet<()>,
    tool_ctx: Option<ToolContext>,
    tool_tasks: JoinSet<()>,
    tool_tx: tokio::sync::mpsc::UnboundedSender<ToolEvent>,
    tool_rx: tokio::sync::mpsc::UnboundedReceiver<ToolEvent>,
    /// Tool runs whose `Done` has not arrived: the loop polls `tool_rx` only while some are
    /// (polling an empty channel on every audio frame costs measurable CPU).
    tools_running: usize,
    /// An outbound call's answering machine verdict, until it arrives.
    answer: Option<tokio::sync::oneshot::Receiver<AnsweredBy>>,
}

/// What the call was granted when its stream was proven: its instructions, its tools (the
/// access level's), and how long it may last.
pub(crate) struct CallPlan {
    /// Persona, time, memory and the access level's rules.
    pub(crate) instructions: String,
    /// The dispatcher context enforcing the access level; `None` when the host has no tools.
    pub(crate) tool_ctx: Option<ToolContext>,
    /// Longest duration (`MAX_CALL_SECS`, or less for a guest near their daily quota).
    pub(crate) max_call: std::time::Duration,
    /// For an outbound call: what to say once answered, and the verdict when it comes.
    pub(crate) outbound: Option<OutboundPlan>,
}

/// An outbound call's words, and where the answering machine verdict will arrive.
pub(crate) struct OutboundPlan {
    /// Said exactly to a person.
    pub(crate) greeting: String,
    /// Instructions for the one voicemail message.
    pub(crate) voicemail: String,
    /// The verdict ([`crate::answer`] watches the call row for it).
    pub(crate) answer: tokio::sync::oneshot::Receiver<AnsweredBy>,
}

/// Whether the loop goes on.
enum Step {
    Continue,
    End(EndReason),
}

impl Bridge {
    pub(crate) fn new(
        state: HostState,
        start: StreamStart,
        twilio: WebSocket,
        engine_socket: RealtimeSocket,
        engine: Box<dyn Engine>,
        plan: CallPlan,
    ) -> Self {
        let CallPlan {
            instructions,
            tool_ctx,
            max_call,
            outbound,
        } = plan;
        let (tool_tx, tool_rx) = tokio::sync::mpsc::unbounded_channel();
        let mut core = CallCore::new(
            state.inner.config.clone(),
            instructions,
            engine.mark_every_ms(),
            Instant::now(),
        );
        let answer = outbound.map(|plan| {
            core.expect_answer(plan.greeting, plan.voicemail);
            plan.answer
        });
        Self {
            stream_sid: start.stream_sid,
            call_sid: start.call_sid,
            twilio,
            engine_socket: Some(engine_socket),
            connecting: None,
            engine,
            core,
            out: EngineOutput::default(),
            queued: Vec::new(),
            last_caller_audio: Instant::now(),
            max_call,
            writes: JoinSet::new(),
            tool_ctx,
            tool_tasks: JoinSet::new(),
            tool_tx,
            tool_rx,
            tools_running: 0,
            answer,
            state,
        }
    }

    /// Runs until the call ends, then closes both sockets and waits for pending store writes.
    /// Boxed: the bridge (mostly the two sockets) then lives once on the heap rather than
    /// twice inside the call's future.
    pub(crate) async fn run(mut self: Box<Self>) -> Outcome {
        self.core.start(Instant::now());
        let reason = match self.perform().await {
            Step::End(reason) => reason,
            Step::Continue => self.pump().await,
        };
        self.tool_tasks.abort_all();
        let effect = self.core.take_effect();
        Box::pin(self.apply_effect(reason, effect)).await;
        // Before the close: Twilio requests the `<Connect action>` as soon as it sees it.
        Box::pin(record_end(&self.state, &self.call_sid, reason.into())).await;
        let _ = self.twilio.send(TwilioMessage::Close(None)).await;
        Box::pin(self.close_engine()).await;
        while let Some(joined) = self.writes.join_next().await {
            if let Err(e) = joined {
                tracing::error!(error = %e, "store write task failed");
            }
        }
        let mut outcome = self.core.finish();
        outcome.reason = reason;
        outcome
    }

    /// Moves messages both ways until the call ends. The timers live across iterations: a
    /// timer created per message would be registered and dropped 100 times a second per call.
    /// Rare, large handlers are boxed: a call's task is as big as its largest inline future,
    /// for the whole call.
    async fn pump(&mut self) -> EndReason {
        let config = self.state.inner.config.clone();
        let mut drain = self.state.inner.drain.clone();
        let drain_deadline = drain.deadline_passed();
        let far = Instant::now() + self.max_call;
        let max_timer = sleep_until(far);
        let idle_timer = sleep_until(Instant::now() + config.idle_timeout);
        let session_timer = sleep_until(self.core.session_deadline().unwrap_or(far));
        let goodbye_timer = sleep_until(far);
        let keypad_timer = sleep_until(far);
        // Checked lazily, like the idle timer: Twilio's frames push it back only when it fires.
        let continuous = self.engine.wants_continuous_input();
        let gap_timer = sleep_until(Instant::now() + GAP_BEFORE_FILL);
        tokio::pin!(
            drain_deadline,
            max_timer,
            idle_timer,
            session_timer,
            goodbye_timer,
            keypad_timer,
            gap_timer
        );
        loop {
            let ending = self.core.phase().ending();
            let session_due = self.core.session_deadline();
            let goodbye_due = self.core.goodbye_deadline();
            let keypad_due = self.core.keypad_deadline();
            let step = tokio::select! {
                message = self.twilio.next() => match message {
                    Some(Ok(TwilioMessage::Text(text))) => self.on_twilio(text.as_str()).await,
                    Some(Ok(TwilioMessage::Close(_))) | None | Some(Err(_)) => {
                        self.core.caller_hung_up();
                        Step::Continue
                    }
                    Some(Ok(TwilioMessage::Binary(_))) => {
                        self.core.stats_mut().dropped_frames += 1;
                        Step::Continue
                    }
                    Some(Ok(_)) => Step::Continue,
                },
                message = next_engine(&mut self.engine_socket) => match message {
                    Some(Ok(EngineMessage::Text(text))) => self.on_engine(text.as_str()).await,
                    Some(Ok(EngineMessage::Close(_))) | None | Some(Err(_)) => {
                        self.engine_socket = None;
                        self.core.engine_lost();
                        Step::Continue
                    }
                    Some(Ok(_)) => Step::Continue,
                },
                connected = next_connect(&mut self.connecting) => {
                    match connected {
                        Ok(socket) => {
                            self.engine_socket = Some(socket);
                            self.core.engine_connected(Instant::now());
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "reconnect failed");
                            self.core.engine_lost();
                        }
                    }
                    Step::Continue
                }
                _ = &mut session_timer, if session_due.is_some() => {
                    self.core.timer(Timer::SessionSetup, Instant::now());
                    Step::Continue
                }
                _ = &mut max_timer, if !ending => {
                    self.core.timer(Timer::MaxDuration, Instant::now());
                    Step::Continue
                }
                _ = &mut idle_timer, if !ending => {
                    if let Some(next) = self.core.idle_check(Instant::now()) {
                        idle_timer.as_mut().reset(next);
                    }
                    Step::Continue
                }
                _ = &mut drain_deadline, if !ending => {
                    self.core.timer(Timer::Drain, Instant::now());
                    Step::Continue
                }
                Some(event) = self.tool_rx.recv(), if self.tools_running > 0 => {
                    self.on_tool_event(event);
                    Step::Continue
                }
                _ = &mut gap_timer, if continuous => {
                    let next = Box::pin(self.fill_silence()).await;
                    gap_timer.as_mut().reset(next);
                    Step::Continue
                }
                _ = &mut goodbye_timer, if goodbye_due.is_some() => {
                    self.core.timer(Timer::GoodbyeGrace, Instant::now());
                    Step::Continue
                }
                _ = &mut keypad_timer, if keypad_due.is_some() => {
                    let wall = self.state.inner.store.clock().now();
                    self.core.keypad_timer(Instant::now(), wall);
                    Step::Continue
                }
                by = next_answer(&mut self.answer) => {
                    if let Some(by) = by {
                        self.core.answered(by, Instant::now());
                    }
                    Step::Continue
                }
            };
            if let Step::End(reason) = step {
                return reason;
            }
            // Audio frames queue no action: only the rare message pays for the (boxed) perform.
            if self.core.has_actions()
                && let Step::End(reason) = Box::pin(self.perform()).await
            {
                return reason;
            }
            if let Some(due) = self.core.session_deadline()
                && session_timer.deadline() != due
            {
                session_timer.as_mut().reset(due);
            }
            if let Some(due) = self.core.goodbye_deadline()
                && goodbye_timer.deadline() != due
            {
                goodbye_timer.as_mut().reset(due);
            }
            if let Some(due) = self.core.keypad_deadline()
                && keypad_timer.deadline() != due
            {
                keypad_timer.as_mut().reset(due);
            }
        }
    }

    /// Fills a gap in Twilio's frames with silence (frame by frame, up to now) for an engine
    /// whose clock runs on input audio; returns when to check again.
    async fn fill_silence(&mut self) -> Instant {
        let now = Instant::now();
        if now < self.last_caller_audio + GAP_BEFORE_FILL {
            return self.last_caller_audio + GAP_BEFORE_FILL;
        }
        if self.core.audio_flows() && self.engine_socket.is_some() {
            let mut filled = 0;
            while self.last_caller_audio + FRAME <= now && filled < 50 {
                let append = self.engine.append_audio(SILENT_FRAME_B64);
                self.send_engine(append).await;
                self.last_caller_audio += FRAME;
                self.core.caller_audio(160, self.last_caller_audio);
                filled += 1;
            }
            tracing::debug!(
                frames = filled,
                "gap in the caller's audio filled with silence"
            );
        } else {
            self.last_caller_audio = now;
        }
        self.last_caller_audio + FRAME
    }

    /// A frame from the engine: audio straight to Twilio, the rest through the core.
    async fn on_engine(&mut self, text: &str) -> Step {
        self.core.stats_mut().messages += 1;
        if let Some(audio) = self.engine.parse(text, &mut self.out) {
            if !self.out.events.is_empty() {
                // Rare: an adapter that derives events from the audio itself (GPT-Live's
                // goodbye is timed on its output track).
                Box::pin(self.engine_output()).await;
            }
            let Some(mark) = self.core.engine_audio(&audio, Instant::now()) else {
                return Step::Continue;
            };
            let media = media::media_message(&self.stream_sid, &audio.payload);
            let step = match mark {
                Some(mark) => {
                    // Queue the audio and send it with its mark in one write.
                    if self
                        .twilio
                        .feed(TwilioMessage::Text(media.into()))
                        .await
                        .is_err()
                    {
                        return Step::End(EndReason::CallerHungUp);
                    }
                    self.send_twilio(media::mark_message(&self.stream_sid, &mark))
                        .await
                }
                None => self.send_twilio(media).await,
            };
            if self.core.first_audio_due() {
                self.core.first_audio_sent(Instant::now());
            }
            return step;
        }
        Box::pin(self.engine_output()).await;
        Step::Continue
    }

    /// Sends what the adapter wrote and hands its events to the core.
    async fn engine_output(&mut self) {
        for frame in std::mem::take(&mut self.out.send) {
            self.send_engine(frame).await;
        }
        if self.out.events.is_empty() {
            return;
        }
        let wall = self.state.inner.store.clock().now();
        for event in std::mem::take(&mut self.out.events) {
            self.core.engine_event(event, Instant::now(), wall);
        }
    }

    /// Performs what the core asked for, in order.
    async fn perform(&mut self) -> Step {
        loop {
            let actions = self.core.take_actions();
            if actions.is_empty() {
                return Step::Continue;
            }
            for action in actions {
                match action {
                    Action::Engine(command) => {
                        self.engine.command(command, &mut self.out);
                        self.engine_output().await;
                    }
                    Action::FlushCallerAudio => {
                        for append in std::mem::take(&mut self.queued) {
                            self.send_engine(append).await;
                        }
                    }
                    Action::ClearTwilio => {
                        if let Step::End(r) = self
                            .send_twilio(media::clear_message(&self.stream_sid))
                            .await
                        {
                            return Step::End(r);
                        }
                    }
                    Action::MarkTwilio(mark) => {
                        if let Step::End(r) = self
                            .send_twilio(media::mark_message(&self.stream_sid, &mark))
                            .await
                        {
                            return Step::End(r);
                        }
                    }
                    Action::PressKeys(keys) => {
                        if let Step::End(r) = self.press_keys(&keys).await {
                            return Step::End(r);
                        }
                    }
                    Action::RunTools { turn, calls } => {
                        for call in calls {
                            self.start_tool(turn.clone(), call);
                        }
                    }
                    Action::Record(turn) => {
                        let store = self.state.inner.store.clone();
                        let sid = self.call_sid.clone();
                        // Off the audio path: a slow store write must not delay a frame.
                        self.writes.spawn(async move {
                            if let Err(e) = store.append_turn(&sid, &turn).await {
                                tracing::error!(error = %e, seq = turn.seq, "could not store a transcript turn");
                            }
                        });
                    }
                    Action::RecordLatency(turn) => {
                        let store = self.state.inner.store.clone();
                        let sid = self.call_sid.clone();
                        self.writes.spawn(async move {
                            if let Err(e) = store.append_turn_latency(&sid, &turn).await {
                                tracing::error!(error = %e, index = turn.index, "could not store a turn's latency");
                            }
                        });
                    }
                    Action::Reconnect(pause) => {
                        self.engine_socket = None;
                        let state = self.state.clone();
                        self.connecting = Some(Box::pin(async move {
                            tokio::time::sleep(pause).await;
                            openai::connect(&state.inner.config).await
                        }));
                    }
                    Action::End(reason) => return Step::End(reason),
                }
            }
        }
    }

    /// Ends the engine's session: its own close frame when it has one (GPT-Live's
    /// `session.close`, answered by `session.closed` with the final usage, read for up to
    /// [`ENGINE_CLOSE_WAIT`]), then the WebSocket close.
    async fn close_engine(&mut self) {
        let Some(mut socket) = self.engine_socket.take() else {
            return;
        };
        if let Some(frame) = self.engine.close()
            && socket.send(EngineMessage::Text(frame.into())).await.is_ok()
        {
            let deadline = Instant::now() + ENGINE_CLOSE_WAIT;
            while let Ok(Some(Ok(EngineMessage::Text(text)))) =
                tokio::time::timeout_at(deadline, socket.next()).await
            {
                let _ = self.engine.parse(text.as_str(), &mut self.out);
                let wall = self.state.inner.store.clock().now();
                self.out.send.clear();
                for event in std::mem::take(&mut self.out.events) {
                    if let crate::engine::EngineEvent::Usage(_) = event {
                        self.core.engine_event(event, Instant::now(), wall);
                    }
                }
            }
        }
        let _ = socket.send(EngineMessage::Close(None)).await;
    }

    /// Sends to the engine; a frame for a connection being replaced is dropped (the new
    /// session is configured from the conversation, not from these).
    async fn send_engine(&mut self, text: String) {
        let Some(engine) = self.engine_socket.as_mut() else {
            tracing::debug!("engine frame dropped: reconnecting");
            return;
        };
        self.core.stats_mut().messages += 1;
        // A failed send shows as a closed socket on the next read, which reconnects.
        let _ = engine.send(EngineMessage::Text(text.into())).await;
    }

    /// Plays keypad tones to Twilio as ordinary media, queued after the audio already sent
    /// (Twilio plays its buffer in order), in one write.
    async fn press_keys(&mut self, keys: &phone_core::keypad::KeySequence) -> Step {
        use base64::Engine as _;
        let audio = phone_twilio::dtmf::tones(keys);
        for chunk in audio.chunks(TONE_CHUNK_BYTES) {
            let payload = base64::engine::general_purpose::STANDARD.encode(chunk);
            let media = media::media_message(&self.stream_sid, &payload);
            if self
                .twilio
                .feed(TwilioMessage::Text(media.into()))
                .await
                .is_err()
            {
                return Step::End(EndReason::CallerHungUp);
            }
        }
        match self.twilio.flush().await {
            Ok(()) => Step::Continue,
            Err(_) => Step::End(EndReason::CallerHungUp),
        }
    }

    async fn send_twilio(&mut self, text: String) -> Step {
        match self.twilio.send(TwilioMessage::Text(text.into())).await {
            Ok(()) => Step::Continue,
            Err(_) => Step::End(EndReason::CallerHungUp),
        }
    }
}

/// The next message of the engine socket; pending while there is none.
async fn next_engine(
    socket: &mut Option<RealtimeSocket>,
) -> Option<Result<EngineMessage, tokio_tungstenite::tungstenite::Error>> {
    match socket {
        Some(socket) => socket.next().await,
        None => std::future::pending().await,
    }
}

/// An outbound call's answering machine verdict, once (`None` if its watcher gave up
/// without one); pending on an inbound call or once it has arrived.
async fn next_answer(
    answer: &mut Option<tokio::sync::oneshot::Receiver<AnsweredBy>>,
) -> Option<AnsweredBy> {
    match answer {
        Some(rx) => {
            let by = rx.await.ok();
            *answer = None;
            by
        }
        None => std::future::pending().await,
    }
}

/// The outcome of the connection attempt in progress; pending while there is none.
async fn next_connect(connecting: &mut Option<Connecting>) -> Result<RealtimeSocket, ConnectError> {
    match connecting {
        Some(attempt) => {
            let result = attempt.await;
            *connecting = None;
            result
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    #[test]
    fn the_silent_frame_is_20_ms_of_mulaw_silence() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(super::SILENT_FRAME_B64)
            .unwrap();
        assert_eq!(bytes, vec![0xFF; 160]);
    }
}
