//! Opening the Realtime WebSocket: GA URL, `Authorization: Bearer`, no `OpenAI-Beta` header.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The socket type of a Realtime session.
pub type RealtimeSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why the socket did not open. Never contains the API key.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL is not a WebSocket URL.
    #[error("invalid Realtime URL: {0}")]
    Url(String),
    /// The handshake failed (refused, TLS, HTTP status).
    #[error("Realtime connection failed: {0}")]
    Handshake(String),
    /// No answer in time.
    #[error("Realtime connection timed out after {0:?}")]
    Timeout(Duration),
}

/// Connects to `url` with the key (if any: the local stand-in needs none).
pub async fn connect(
    url: &str,
    api_key: Option<&SecretString>,
    timeout: Duration,
) -> Result<RealtimeSocket, ConnectError> {
    let mut request = url
        .into_client_request()
        .map_err(|e| ConnectError::Url(e.to_string()))?;
    if let Some(key) = api_key {
        let value =
            HeaderValue::from_str(&format!("Bearer {}", key.expose_secret())).map_err(|_| {
                ConnectError::Url("API key contains characters not allowed in a header".into())
            })?;
        request.headers_mut().insert("Authorization", value);
    }
    // A frame can carry a whole response's audio; 1 MiB is ample and bounds memory per call.
    // Small buffers keep a call's memory low (tungstenite defaults to 128 KiB each). The read
    // size is also what tungstenite zero-fills before every read: 4 KiB holds a typical audio
    // delta in one read without clearing 16 KiB fifty times a second.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(8 * 1024)
        .max_message_size(Some(1 << 20))
        .max_frame_size(Some(1 << 20));
    match tokio::time::timeout(
        timeout,
        tokio_tungstenite::connect_async_with_config(request, Some(config), true),
    )
    .await
    {
        Ok(Ok((socket, _response))) => Ok(socket),
        Ok(Err(e)) => Err(ConnectError::Handshake(e.to_string())),
        Err(_) => Err(ConnectError::Timeout(timeout)),
    }
}
