//! A bare Realtime client over tokio-tungstenite, to drive the strict double event by event.

#![allow(dead_code)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const WAIT: Duration = Duration::from_secs(5);

pub struct RawClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl RawClient {
    /// Connects and reads `session.created`, which it returns.
    pub async fn connect(url: &str) -> (Self, Value) {
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut client = Self { socket };
        let created = client.recv().await;
        assert_eq!(created["type"], "session.created", "{created}");
        (client, created)
    }

    pub async fn send(&mut self, event: Value) {
        self.socket
            .send(Message::Text(event.to_string().into()))
            .await
            .unwrap();
    }

    /// The next server event; panics after [`WAIT`].
    pub async fn recv(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("a server event in time")
                .expect("the socket is open")
                .unwrap();
            if let Message::Text(text) = message {
                return serde_json::from_str(text.as_str()).unwrap();
            }
        }
    }

    /// Reads events up to and including the first of `kind`; returns them all.
    pub async fn until(&mut self, kind: &str) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let event = self.recv().await;
            let done = event["type"] == kind;
            seen.push(event);
            if done {
                return seen;
            }
        }
    }

    /// Sends `event` and returns the server's `error` answer to it.
    pub async fn refused(&mut self, event: Value) -> Value {
        self.send(event).await;
        let error = self.until("error").await.pop().unwrap();
        error["error"].clone()
    }

    /// The session update the bridge sends today (μ-law both ways), with `event_id`.
    pub async fn configure_pcmu(&mut self, event_id: &str) -> Value {
        self.send(
            serde_json::json!({"type": "session.update", "event_id": event_id,
            "session": {"type": "realtime", "output_modalities": ["audio"],
            "audio": {"input": {"format": {"type": "audio/pcmu"}},
                      "output": {"format": {"type": "audio/pcmu"}, "voice": "marin"}}}}),
        )
        .await;
        self.until("session.updated").await.pop().unwrap()
    }
}

/// Position of the first event of `kind` in `events`.
pub fn index_of(events: &[Value], kind: &str) -> usize {
    events
        .iter()
        .position(|e| e["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {events:#?}"))
}
