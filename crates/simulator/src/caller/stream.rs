//! The Media Streams half of a simulated call, behaving as Twilio does: `connected`, `start`,
//! caller audio as a 20 ms `media` frame every 20 ms (silence between utterances, as a phone
//! line never stops), the bridge's audio played out in real time, marks echoed when their
//! audio has played, `clear` honoured, and `stop` when the caller hangs up.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use phone_core::keypad::Key;
use phone_twilio::dtmf::Detector;

use super::callee::menu_choice;
use super::playout::Playout;
use super::{CallError, CallEvent, CallPlan, Cue, Emitter, EndedBy};
use crate::audio::{FRAME_BYTES, FRAME_MS, mulaw};

/// Audio silence after which the next sound counts as a new reply.
const REPLY_GAP_TICKS: u64 = 15;

/// Ids of the stream, as in `start`.
pub(super) struct StreamIds {
    pub(super) account_sid: String,
    pub(super) call_sid: String,
    pub(super) stream_sid: String,
    pub(super) parameters: Vec<(String, String)>,
}

/// What the stream half measured.
#[derive(Debug, Default)]
pub(super) struct StreamStats {
    pub(super) frames_sent: u64,
    pub(super) media_received: u64,
    pub(super) bytes_received: u64,
    pub(super) marks_received: u64,
    pub(super) marks_echoed: u64,
    pub(super) clears: u64,
    pub(super) cleared_ms: u64,
    pub(super) unknown_messages: u64,
    pub(super) reply_latencies_ms: Vec<u64>,
    pub(super) heard: Vec<u8>,
    pub(super) keys_heard: String,
    pub(super) ended_by: Option<EndedBy>,
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct Run<'a> {
    socket: Socket,
    ids: &'a StreamIds,
    plan: &'a CallPlan,
    events: &'a Emitter,
    seq: u64,
    tick: u64,
    playout: Playout,
    stats: StreamStats,
    /// Next utterance to speak, and the frame reached inside the one being spoken.
    next: usize,
    speaking: Option<usize>,
    /// Tick at which the latest utterance ended (0 before any).
    spoke_until: u64,
    /// When the caller's latest speech ended, until the first reply audio arrives.
    awaiting_reply: Option<Instant>,
    last_audio_tick: Option<u64>,
    reply_started_tick: Option<u64>,
    /// Finds keypad tones in what the party hears.
    detector: Detector,
    /// A key the caller presses with this tick's frame.
    press: Option<Key>,
}

/// Runs the stream until the plan is spoken and answered, or the server hangs up.
pub(super) async fn run(
    socket: Socket,
    ids: &StreamIds,
    plan: &CallPlan,
    events: &Emitter,
) -> Result<StreamStats, CallError> {
    let mut run = Run {
        socket,
        ids,
        plan,
        events,
        seq: 0,
        tick: 0,
        playout: Playout::new(),
        stats: StreamStats::default(),
        next: 0,
        speaking: None,
        spoke_until: 0,
        awaiting_reply: None,
        last_audio_tick: None,
        reply_started_tick: None,
        detector: Detector::new(),
        press: None,
    };
    run.open().await?;
    let mut clock = tokio::time::interval(Duration::from_millis(FRAME_MS));
    loop {
        tokio::select! {
            message = run.socket.next() => match message {
                Some(Ok(Message::Text(text))) => run.on_server_message(text.as_str()).await?,
                Some(Ok(Message::Close(_))) | None => {
                    run.stats.ended_by = Some(EndedBy::Server);
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(CallError::WebSocket(e.to_string())),
            },
            _ = clock.tick() => {
                if let Some(ended) = run.on_tick().await? {
                    run.stats.ended_by = Some(ended);
                    run.hang_up().await;
                    break;
                }
            }
        }
    }
    Ok(run.stats)
}

impl Run<'_> {
    async fn send(&mut self, value: Value) -> Result<(), CallError> {
        self.socket
            .send(Message::text(value.to_string()))
            .await
            .map_err(|e| CallError::WebSocket(e.to_string()))
    }

    fn next_seq(&mut self) -> String {
        self.seq += 1;
        self.seq.to_string()
    }

    async fn open(&mut self) -> Result<(), CallError> {
        self.send(json!({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            .await?;
        let params: serde_json::Map<String, Value> = self
            .ids
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        let seq = self.next_seq();
        let start = json!({
            "event": "start", "sequenceNumber": seq, "streamSid": self.ids.stream_sid,
            "start": {
                "accountSid": self.ids.account_sid, "streamSid": self.ids.stream_sid,
                "callSid": self.ids.call_sid, "tracks": ["inbound"],
                "customParameters": params,
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
            }
        });
        self.send(start).await
    }

    async fn echo_mark(&mut self, name: String) -> Result<(), CallError> {
        let seq = self.next_seq();
        self.stats.marks_echoed += 1;
        let mark = json!({"event": "mark", "sequenceNumber": seq,
                          "streamSid": self.ids.stream_sid, "mark": {"name": name}});
        self.send(mark).await
    }

    async fn on_server_message(&mut self, text: &str) -> Result<(), CallError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| CallError::Protocol(format!("server sent non-JSON: {e}")))?;
        match value["event"].as_str().unwrap_or("") {
            "media" => {
                let payload = value["media"]["payload"].as_str().unwrap_or("");
                let bytes = STANDARD.decode(payload).map_err(|e| {
                    CallError::Protocol(format!("media payload is not base64: {e}"))
                })?;
                self.stats.media_received += 1;
                self.stats.bytes_received += bytes.len() as u64;
                self.playout.push_audio(&bytes);
                if let Some(since) = self.awaiting_reply.take() {
                    let ms = since.elapsed().as_millis() as u64;
                    self.stats.reply_latencies_ms.push(ms);
                    self.events.emit(CallEvent::ReplyAudio { latency_ms: ms });
                }
            }
            "mark" => {
                let name = value["mark"]["name"].as_str().map(str::to_owned);
                let Some(name) = name else {
                    // Twilio rejects a mark without a name (error 31924).
                    self.stats.unknown_messages += 1;
                    self.events
                        .emit(CallEvent::Note("server sent a mark without a name".into()));
                    return Ok(());
                };
                self.stats.marks_received += 1;
                if let Some(now) = self.playout.push_mark(name) {
                    self.echo_mark(now).await?;
                }
            }
            "clear" => {
                let (dropped, marks) = self.playout.clear();
                self.stats.clears += 1;
                self.stats.cleared_ms += dropped as u64 / 8;
                self.events.emit(CallEvent::Interrupted {
                    dropped_ms: dropped as u64 / 8,
                });
                for name in marks {
                    self.echo_mark(name).await?;
                }
            }
            other => {
                self.stats.unknown_messages += 1;
                self.events.emit(CallEvent::Note(format!(
                    "server sent `{other}`, which Twilio refuses (error 31924)"
                )));
            }
        }
        Ok(())
    }

    /// One 20 ms step: play a frame to the caller, send a frame from the caller.
    async fn on_tick(&mut self) -> Result<Option<EndedBy>, CallError> {
        self.tick += 1;
        let (heard, had_audio, due) = self.playout.play(FRAME_BYTES);
        for key in self.detector.push(&heard) {
            self.stats.keys_heard.push(key.as_char());
            self.events.emit(CallEvent::KeyHeard {
                key: key.as_char(),
                choice: menu_choice(key),
            });
        }
        self.stats.heard.extend_from_slice(&heard);
        for name in due {
            self.echo_mark(name).await?;
        }
        if had_audio {
            let new_reply = self
                .last_audio_tick
                .is_none_or(|last| self.tick - last > REPLY_GAP_TICKS);
            if new_reply {
                self.reply_started_tick = Some(self.tick);
            }
            self.last_audio_tick = Some(self.tick);
        }
        let frame = self.caller_frame();
        let seq = self.next_seq();
        let media = json!({"event": "media", "sequenceNumber": seq,
            "streamSid": self.ids.stream_sid,
            "media": {"track": "inbound", "chunk": self.tick.to_string(),
                      "timestamp": ((self.tick - 1) * FRAME_MS).to_string(),
                      "payload": STANDARD.encode(&frame)}});
        self.send(media).await?;
        self.stats.frames_sent += 1;
        if let Some(key) = self.press.take() {
            let seq = self.next_seq();
            let dtmf = json!({"event": "dtmf", "streamSid": self.ids.stream_sid,
                "sequenceNumber": seq, "dtmf": {"track": "inbound_track", "digit": key.to_string()}});
            self.send(dtmf).await?;
        }
        if self.tick * FRAME_MS > self.plan.max_duration.as_millis() as u64 {
            return Ok(Some(EndedBy::TimeLimit));
        }
        Ok(self.finished().then_some(EndedBy::Caller))
    }

    /// Whether the assistant has answered since the caller last spoke.
    fn answered(&self) -> bool {
        self.last_audio_tick.is_some_and(|t| t > self.spoke_until)
    }

    fn quiet_ms(&self) -> u64 {
        let since = self.last_audio_tick.unwrap_or(0).max(self.spoke_until);
        (self.tick - since) * FRAME_MS
    }

    fn waited_too_long(&self) -> bool {
        (self.tick - self.spoke_until) * FRAME_MS >= self.plan.reply_timeout.as_millis() as u64
    }

    fn finished(&self) -> bool {
        if self.speaking.is_some() || self.next < self.plan.utterances.len() {
            return false;
        }
        let heard_out = self.answered()
            && self.playout.queued() == 0
            && !self.playout.has_pending_marks()
            && self.quiet_ms() >= self.plan.linger.as_millis() as u64;
        heard_out || self.waited_too_long()
    }

    fn cue_ready(&self, cue: Cue) -> bool {
        match cue {
            Cue::Immediately => true,
            Cue::AfterReply { pause } => {
                self.answered()
                    && self.playout.queued() == 0
                    && self.quiet_ms() >= pause.as_millis() as u64
            }
            // Audio still queued (Realtime sends faster than real time) or being heard now
            // (GPT-Live's track arrives at the pace it plays).
            Cue::IntoReply { after } => self.reply_started_tick.is_some_and(|s| {
                s > self.spoke_until
                    && (self.playout.queued() > 0 || self.last_audio_tick == Some(self.tick))
                    && (self.tick - s) * FRAME_MS >= after.as_millis() as u64
            }),
        }
    }

    /// The caller's next 20 ms: the utterance being spoken, else silence.
    fn caller_frame(&mut self) -> Vec<u8> {
        if self.speaking.is_none()
            && let Some(u) = self.plan.utterances.get(self.next)
        {
            let timed_out = self.waited_too_long();
            if self.cue_ready(u.cue) || timed_out {
                if timed_out && !matches!(u.cue, Cue::Immediately) {
                    self.events.emit(CallEvent::Note(
                        "no reply heard in time; speaking anyway".into(),
                    ));
                }
                self.events.emit(CallEvent::CallerSpeaks {
                    index: self.next,
                    label: u.label.clone(),
                });
                self.speaking = Some(0);
            }
        }
        let Some(pos) = self.speaking else {
            return vec![mulaw::SILENCE; FRAME_BYTES];
        };
        let Some(u) = self.plan.utterances.get(self.next) else {
            self.speaking = None;
            return vec![mulaw::SILENCE; FRAME_BYTES];
        };
        let frame = u
            .frames
            .get(pos)
            .cloned()
            .unwrap_or_else(|| vec![mulaw::SILENCE; FRAME_BYTES]);
        self.press = u.keys.iter().find(|(at, _)| *at == pos).map(|(_, k)| *k);
        if pos + 1 == u.speech_end_frame {
            // Measured from the end of this frame, when the last speech has left the phone;
            // the trailing silence that follows is not part of the turn.
            self.awaiting_reply = Some(Instant::now() + Duration::from_millis(FRAME_MS));
            self.spoke_until = self.tick;
            self.events.emit(CallEvent::CallerDone { index: self.next });
        }
        if pos + 1 >= u.frames.len() {
            self.speaking = None;
            self.next += 1;
        } else {
            self.speaking = Some(pos + 1);
        }
        frame
    }

    async fn hang_up(&mut self) {
        let seq = self.next_seq();
        let stop = json!({"event": "stop", "sequenceNumber": seq,
                          "streamSid": self.ids.stream_sid,
                          "stop": {"accountSid": self.ids.account_sid, "callSid": self.ids.call_sid}});
        let _ = self.send(stop).await;
        let _ = self.socket.close(None).await;
        // Drain until the server closes too, so its end-of-call work has started.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(_)) = self.socket.next().await {}
        })
        .await;
    }
}
