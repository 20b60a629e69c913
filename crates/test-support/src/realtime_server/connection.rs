//! One accepted WebSocket: the handshake (model from `?model=`, `Authorization` recorded), then a
//! loop that answers client events per [`Mode`] and runs the test's commands in order with them.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::conversation::{ResponseHandle, Strict};
use super::refusal::Refusal;
use super::script;
use super::{ALWAYS, Mode, Shared, session};

/// What a test asks of a strict connection; the answer comes back on the oneshot.
pub(super) enum Action {
    Play(String, script::Response),
    SpeechStarted,
    SpeechStopped,
    CallerSaid(String),
}

/// The result of an [`Action`]: a response server VAD started, or why the action is impossible.
pub(super) type ActionResult = Result<Option<ResponseHandle>, String>;

/// A message from the test to a connection.
pub(super) enum Command {
    Send(String),
    Drop,
    Strict(Action, oneshot::Sender<ActionResult>),
}

type Sink = SplitSink<WebSocketStream<TcpStream>, Message>;

/// Sends events, each with a fresh server `event_id`, recording them unless `mode` is Echo.
struct Outgoing {
    sink: Sink,
    shared: Arc<Shared>,
    record: bool,
    connection: usize,
    sent: usize,
}

impl Outgoing {
    async fn send(&mut self, events: Vec<Value>) -> bool {
        for mut event in events {
            self.sent += 1;
            event["event_id"] = json!(format!("event_{:04}_{:05}", self.connection, self.sent));
            let text = event.to_string();
            if self.record {
                self.shared.sent.lock().await.push(event);
                self.shared.arrived.notify_waiters();
            }
            if self.sink.send(Message::Text(text.into())).await.is_err() {
                return false;
            }
        }
        true
    }
}

/// The `model` query parameter of the request URI.
fn url_model(request: &Request) -> Option<String> {
    request.uri().query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == "model" && !value.is_empty()).then(|| value.to_owned())
    })
}

/// Finds `"audio":"…"` in an append without parsing the whole event (the echo path).
fn append_audio(text: &str) -> Option<&str> {
    if !text.contains(r#""type":"input_audio_buffer.append""#) {
        return None;
    }
    let start = text.find(r#""audio":""#)? + 9;
    let len = text[start..].find('"')?;
    Some(&text[start..start + len])
}

// The handshake callback signature is fixed by tungstenite.
#[allow(clippy::result_large_err)]
pub(super) async fn serve(tcp: TcpStream, shared: Arc<Shared>, mode: Mode) {
    let mut auth = None;
    let mut model = None;
    let callback = |request: &Request, response: Response| {
        auth = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        model = url_model(request);
        if mode == Mode::Strict && model.is_none() {
            let mut refusal =
                ErrorResponse::new(Some("Missing required parameter: 'model'.".to_owned()));
            *refusal.status_mut() = StatusCode::BAD_REQUEST;
            return Err(refusal);
        }
        Ok(response)
    };
    // Audio frames must leave at once, not wait for Nagle.
    let _ = tcp.set_nodelay(true);
    let Ok(socket) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
        return;
    };
    let model = model.unwrap_or_else(|| "gpt-realtime".to_owned());
    shared.authorization.lock().await.push(auth);
    shared.models.lock().await.push(model.clone());
    let (tx, commands) = mpsc::unbounded_channel();
    let connection = {
        let mut connections = shared.connections.lock().await;
        connections.push(tx);
        connections.len() - 1
    };
    shared.opened.fetch_add(1, Ordering::SeqCst);
    let (sink, stream) = socket.split();
    let mut out = Outgoing {
        sink,
        shared: shared.clone(),
        record: mode != Mode::Echo,
        connection,
        sent: 0,
    };
    let budget = shared.close_at_once.load(Ordering::SeqCst);
    if budget > 0 {
        if budget != ALWAYS {
            shared.close_at_once.fetch_sub(1, Ordering::SeqCst);
        }
        let close = CloseFrame {
            code: CloseCode::Error,
            reason: "the test server closes every accepted socket at once".into(),
        };
        let _ = out.sink.send(Message::Close(Some(close))).await;
        shared.arrived.notify_waiters();
        return;
    }
    shared.open.fetch_add(1, Ordering::SeqCst);
    let strict = (mode == Mode::Strict).then(|| Strict::new(&model, connection));
    let created = match &strict {
        Some(strict) => strict.session_created(),
        None => json!({"type": "session.created", "session":
            session::default_session(&format!("sess_{connection:04}"), &model)}),
    };
    if out.send(vec![created]).await {
        run(out, stream, commands, strict, mode).await;
    }
    shared.open.fetch_sub(1, Ordering::SeqCst);
    shared.arrived.notify_waiters();
}

async fn run(
    mut out: Outgoing,
    mut stream: futures_util::stream::SplitStream<WebSocketStream<TcpStream>>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    mut strict: Option<Strict>,
    mode: Mode,
) {
    let shared = out.shared.clone();
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Send(text)) => {
                    if out.sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Command::Strict(action, reply)) => {
                    let Some(state) = strict.as_mut() else {
                        let _ = reply.send(Err("scripting needs Mode::Strict".into()));
                        continue;
                    };
                    let result = match action {
                        Action::Play(id, script) => state.play(&id, script).map(|()| None),
                        Action::SpeechStarted => state.speech_started().map(|()| None),
                        Action::SpeechStopped => state.speech_stopped(),
                        Action::CallerSaid(text) => state.caller_said(&text).map(|()| None),
                    };
                    let alive = flush(&mut out, state).await;
                    let _ = reply.send(result);
                    if !alive {
                        break;
                    }
                }
                Some(Command::Drop) | None => break,
            },
            message = stream.next() => {
                let Some(Ok(Message::Text(text))) = message else {
                    match message {
                        Some(Ok(_)) => continue,
                        _ => break,
                    }
                };
                if mode == Mode::Echo && let Some(audio) = append_audio(text.as_str()) {
                    let delta = format!(
                        r#"{{"type":"response.output_audio.delta","response_id":"resp_echo","item_id":"item_echo","output_index":0,"content_index":0,"delta":"{audio}"}}"#
                    );
                    if out.sink.send(Message::Text(delta.into())).await.is_err() {
                        break;
                    }
                    continue;
                }
                let event = match serde_json::from_str::<Value>(text.as_str()) {
                    Ok(event) => event,
                    Err(e) if strict.is_some() => {
                        let refusal = Refusal::new("invalid_json", format!("The event is not valid JSON: {e}"), None);
                        if !out.send(vec![refusal.to_event(None)]).await {
                            break;
                        }
                        continue;
                    }
                    Err(_) => continue,
                };
                if event["type"] == "session.update" {
                    let delay = shared.session_delay_ms.load(Ordering::SeqCst);
                    if delay > 0 {
                        tokio::time::sleep(Duration::from_millis(delay as u64)).await;
                    }
                }
                let alive = match strict.as_mut() {
                    Some(state) => {
                        state.on_client(&event);
                        flush(&mut out, state).await
                    }
                    None => out.send(scripted_reply(&event)).await,
                };
                shared.events.lock().await.push(event);
                shared.arrived.notify_waiters();
                if !alive {
                    break;
                }
            }
        }
    }
}

/// Sends what the strict state queued and publishes its responses to the test.
async fn flush(out: &mut Outgoing, state: &mut Strict) -> bool {
    let alive = out.send(state.take_out()).await;
    let shared = &out.shared;
    *shared.active.lock().await = state.active_ids();
    shared
        .created
        .lock()
        .await
        .extend(std::mem::take(&mut state.created));
    shared.arrived.notify_waiters();
    alive
}

/// `Mode::Scripted`'s answers: every `session.update` accepted as sent, every truncate
/// acknowledged; the test sends the rest.
fn scripted_reply(event: &Value) -> Vec<Value> {
    match event["type"].as_str() {
        Some("session.update") => {
            vec![json!({"type": "session.updated", "session": event["session"]})]
        }
        Some("conversation.item.truncate") => vec![json!({
            "type": "conversation.item.truncated", "item_id": event["item_id"],
            "content_index": event["content_index"], "audio_end_ms": event["audio_end_ms"]})],
        _ => Vec::new(),
    }
}
