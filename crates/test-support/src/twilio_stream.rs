//! A Media Streams client that sends what Twilio sends, message for message, so tests can
//! drive the stream host exactly as Twilio would (including badly).

use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use phone_twilio::signature::{
    Algorithm, SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER, compute_signature,
    compute_signature_with,
};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One open media stream.
pub struct TwilioStream {
    tx: SplitSink<Socket, Message>,
    rx: SplitStream<Socket>,
    /// `MZ…` of this stream.
    pub stream_sid: String,
    sequence: u64,
    chunk: u64,
}

/// How to sign the upgrade.
pub enum Signing<'a> {
    /// As Twilio does by default: HMAC-SHA1 over the stream URL with this auth token.
    Token(&'a str),
    /// As Twilio does when a Webhooks Rule matches: HMAC with this SharedKey secret and
    /// algorithm, plus `X-Twilio-Webhooks-Signature-Settings: key=<key_id>,algorithm=<…>`.
    SharedKey {
        /// The SharedKey's id, as the header names it.
        key_id: &'a str,
        /// Its secret.
        secret: &'a str,
        /// The Webhook Setting's algorithm.
        algorithm: Algorithm,
    },
    /// This exact header value.
    Header(&'a str),
    /// No header.
    None,
}

impl TwilioStream {
    /// Opens the WebSocket; `Err` carries the HTTP status when the upgrade is refused.
    pub async fn connect(url: &str, signing: Signing<'_>) -> Result<Self, String> {
        let mut request = url.into_client_request().map_err(|e| e.to_string())?;
        let signature = match signing {
            Signing::Token(token) => Some(compute_signature(token, url, &[])),
            Signing::SharedKey {
                key_id,
                secret,
                algorithm,
            } => {
                let settings = format!("key={key_id},algorithm={algorithm}");
                request.headers_mut().insert(
                    SIGNATURE_SETTINGS_HEADER,
                    HeaderValue::from_str(&settings).map_err(|e| e.to_string())?,
                );
                Some(compute_signature_with(algorithm, secret, url, &[]))
            }
            Signing::Header(value) => Some(value.to_owned()),
            Signing::None => None,
        };
        if let Some(sig) = signature {
            request.headers_mut().insert(
                SIGNATURE_HEADER,
                HeaderValue::from_str(&sig).map_err(|e| e.to_string())?,
            );
        }
        match tokio_tungstenite::connect_async_with_config(request, None, true).await {
            Ok((socket, _)) => {
                let (tx, rx) = socket.split();
                Ok(Self {
                    tx,
                    rx,
                    stream_sid: "MZ00000000000000000000000000000001".into(),
                    sequence: 0,
                    chunk: 0,
                })
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(format!("HTTP {}", response.status().as_u16()))
            }
            Err(e) => Err(e.to_string()),
        }
    }

    fn next_sequence(&mut self) -> String {
        self.sequence += 1;
        self.sequence.to_string()
    }

    /// Sends raw text (malformed frames included).
    pub async fn send_raw(&mut self, text: &str) {
        let _ = self.tx.send(Message::Text(text.to_owned().into())).await;
    }

    /// Sends a binary frame (Twilio never does).
    pub async fn send_binary(&mut self, bytes: &[u8]) {
        let _ = self.tx.send(Message::Binary(bytes.to_vec().into())).await;
    }

    /// `connected` then `start` with these custom parameters.
    pub async fn start(&mut self, call_sid: &str, parameters: &[(&str, &str)]) {
        self.send_raw(
            &json!({"event": "connected", "protocol": "Call", "version": "1.0.0"}).to_string(),
        )
        .await;
        let custom: serde_json::Map<String, Value> = parameters
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        let seq = self.next_sequence();
        let start = json!({"event": "start", "sequenceNumber": seq, "streamSid": self.stream_sid, "start": {
            "accountSid": "AC00000000000000000000000000000001", "streamSid": self.stream_sid, "callSid": call_sid,
            "tracks": ["inbound"], "customParameters": custom,
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}});
        self.send_raw(&start.to_string()).await;
    }

    /// One `media` frame with this base64 payload; chunk and timestamp count as Twilio's do.
    pub async fn media(&mut self, payload_b64: &str) {
        self.chunk += 1;
        let seq = self.next_sequence();
        let media = json!({"event": "media", "sequenceNumber": seq, "streamSid": self.stream_sid, "media": {
            "track": "inbound", "chunk": self.chunk.to_string(), "timestamp": ((self.chunk - 1) * 20).to_string(),
            "payload": payload_b64}});
        self.send_raw(&media.to_string()).await;
    }

    /// Echoes a mark back, as Twilio does once the audio before it has played.
    pub async fn mark(&mut self, name: &str) {
        let seq = self.next_sequence();
        let mark = json!({"event": "mark", "sequenceNumber": seq, "streamSid": self.stream_sid, "mark": {"name": name}});
        self.send_raw(&mark.to_string()).await;
    }

    /// `dtmf`: the caller pressed `digit` (sent as is, so tests can send what is not a key).
    pub async fn dtmf(&mut self, digit: &str) {
        let seq = self.next_sequence();
        let dtmf = json!({"event": "dtmf", "streamSid": self.stream_sid, "sequenceNumber": seq,
            "dtmf": {"track": "inbound_track", "digit": digit}});
        self.send_raw(&dtmf.to_string()).await;
    }

    /// `stop`: the caller hung up.
    pub async fn stop(&mut self, call_sid: &str) {
        let seq = self.next_sequence();
        let stop = json!({"event": "stop", "sequenceNumber": seq, "streamSid": self.stream_sid,
            "stop": {"accountSid": "AC00000000000000000000000000000001", "callSid": call_sid}});
        self.send_raw(&stop.to_string()).await;
    }

    /// The next message from the server as JSON; `None` when the socket closed, panics after
    /// `limit`.
    pub async fn recv(&mut self, limit: Duration) -> Option<Value> {
        loop {
            match tokio::time::timeout(limit, self.rx.next()).await {
                Err(_) => panic!("no message from the stream host within {limit:?}"),
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Some(
                        serde_json::from_str(text.as_str())
                            .unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
                    );
                }
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => return None,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Like [`recv`](Self::recv) but `None` on timeout instead of panicking; `Some(None)` when
    /// the socket closed.
    pub async fn recv_or_timeout(&mut self, limit: Duration) -> Option<Option<Value>> {
        loop {
            match tokio::time::timeout(limit, self.rx.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Some(serde_json::from_str(text.as_str()).ok());
                }
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => return Some(None),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next message whose `event` is `kind`, skipping others.
    pub async fn recv_event(&mut self, kind: &str, limit: Duration) -> Value {
        loop {
            match self.recv(limit).await {
                Some(v) if v["event"] == kind => return v,
                Some(_) => continue,
                None => panic!("socket closed while waiting for {kind}"),
            }
        }
    }

    /// Reads until the server closes the socket; panics after `limit`.
    pub async fn expect_closed(&mut self, limit: Duration) {
        while self.recv(limit).await.is_some() {}
    }
}
