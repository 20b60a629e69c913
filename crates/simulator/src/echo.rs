//! An echo Realtime peer for load measurement: after `session.created` / `session.updated`,
//! every `input_audio_buffer.append` comes straight back as a `response.output_audio.delta`
//! with the same audio. No VAD and no script, so the cost measured is the bridge's alone.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

/// A running echo server; it stops when dropped.
#[derive(Debug)]
pub struct EchoRealtime {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl EchoRealtime {
    /// Binds `127.0.0.1:0` and serves until dropped.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(echo(stream));
            }
        });
        Ok(Self { addr, task })
    }

    /// The URL to use as `OPENAI_LIVE_URL`: the same echo over GPT-Live's protocol.
    pub fn live_url(&self) -> String {
        format!("ws://{}{}", self.addr, crate::offline::LIVE_PATH)
    }

    /// The base URL to use as `OPENAI_REALTIME_URL`: the configuration adds `?model=`, which
    /// `session.created` then reports, as OpenAI does.
    pub fn url(&self) -> String {
        format!("ws://{}/v1/realtime", self.addr)
    }
}

impl Drop for EchoRealtime {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// The handshake callback's error type is tungstenite's, large by its design.
#[allow(clippy::result_large_err)]
async fn echo(stream: TcpStream) {
    // Echoed frames must leave at once, not wait for Nagle.
    let _ = stream.set_nodelay(true);
    let mut model = None;
    let mut live = false;
    let read_model = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        model = crate::offline::model_in_query(request.uri().query());
        live = request.uri().path() == crate::offline::LIVE_PATH;
        Ok(response)
    };
    let Ok(socket) = tokio_tungstenite::accept_hdr_async(stream, read_model).await else {
        return;
    };
    if live {
        return echo_live(socket).await;
    }
    let (mut tx, mut rx) = socket.split();
    let created = json!({"type": "session.created", "event_id": "event_echo",
                         "session": {"type": "realtime", "model": model}});
    if tx.send(Message::text(created.to_string())).await.is_err() {
        return;
    }
    while let Some(Ok(message)) = rx.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        // The bridge writes appends as `{"type":"input_audio_buffer.append","audio":"…"}`; echo
        // those without a JSON parse, to keep the generator's share of the machine small.
        if let Some(audio) = text
            .as_str()
            .strip_prefix(r#"{"type":"input_audio_buffer.append","audio":""#)
            .and_then(|rest| rest.strip_suffix(r#""}"#))
        {
            let reply = format!(
                r#"{{"type":"response.output_audio.delta","response_id":"resp_echo","item_id":"item_echo","output_index":0,"content_index":0,"delta":"{audio}"}}"#
            );
            if tx.send(Message::text(reply)).await.is_err() {
                return;
            }
            continue;
        }
        let Ok(event) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        let reply = match event["type"].as_str() {
            Some("input_audio_buffer.append") => json!({
                "type": "response.output_audio.delta", "response_id": "resp_echo",
                "item_id": "item_echo", "output_index": 0, "content_index": 0,
                "delta": event["audio"]}),
            Some("session.update") => {
                json!({"type": "session.updated", "session": event["session"]})
            }
            _ => continue,
        };
        if tx.send(Message::text(reply.to_string())).await.is_err() {
            return;
        }
    }
}

/// The same echo over GPT-Live's protocol: `session.start` → `session.started`, then every
/// `session.input_audio.append` back as `session.output_audio.delta`.
async fn echo_live(socket: tokio_tungstenite::WebSocketStream<TcpStream>) {
    let (mut tx, mut rx) = socket.split();
    while let Some(Ok(message)) = rx.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        if let Some(audio) = text
            .as_str()
            .strip_prefix(r#"{"type":"session.input_audio.append","audio":""#)
            .and_then(|rest| rest.strip_suffix(r#""}"#))
        {
            let reply = format!(r#"{{"type":"session.output_audio.delta","delta":"{audio}"}}"#);
            if tx.send(Message::text(reply)).await.is_err() {
                return;
            }
            continue;
        }
        let Ok(event) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        if event["type"] == "session.start" {
            let started = json!({"type": "session.started", "event_id": "event_echo",
                "client_event_id": event["event_id"],
                "session": {"id": "live_echo", "model": event["session"]["model"], "status": "active"}});
            if tx.send(Message::text(started.to_string())).await.is_err() {
                return;
            }
        }
    }
}
