//! Opening the Live WebSocket: `wss://api.openai.com/v1/live/sessions` with no query string
//! (the model goes in `session.start`), `Authorization: Bearer`, no `OpenAI-Beta` header. The
//! server sends nothing until it receives `session.start`.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The official endpoint.
pub const DEFAULT_URL: &str = "wss://api.openai.com/v1/live/sessions";

/// The socket type of a Live session.
pub type LiveSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why the socket did not open. Never contains the API key.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL is not a usable Live URL.
    #[error("invalid Live URL: {0}")]
    Url(String),
    /// The handshake failed (refused, TLS, HTTP status).
    #[error("Live connection failed: {0}")]
    Handshake(String),
    /// No answer in time.
    #[error("Live connection timed out after {0:?}")]
    Timeout(Duration),
}

/// Connects to `url` with the key (if any: the local stand-in needs none).
///
/// A URL with a query string is refused before connecting: Live takes none, and a `?model=`
/// copied from a Realtime URL would mean the model is configured in the wrong place.
pub async fn connect(
    url: &str,
    api_key: Option<&SecretString>,
    timeout: Duration,
) -> Result<LiveSocket, ConnectError> {
    let mut request = url
        .into_client_request()
        .map_err(|e| ConnectError::Url(e.to_string()))?;
    if request.uri().query().is_some() {
        return Err(ConnectError::Url(
            "a Live URL takes no query string (the model goes in session.start)".into(),
        ));
    }
    if let Some(key) = api_key {
        let value =
            HeaderValue::from_str(&format!("Bearer {}", key.expose_secret())).map_err(|_| {
                ConnectError::Url("API key contains characters not allowed in a header".into())
            })?;
        request.headers_mut().insert("Authorization", value);
    }
    // The same bounds as the Realtime socket: a frame can carry a long audio delta, 1 MiB is
    // ample and bounds memory per call; small buffers keep a call's memory low, and a 4 KiB
    // read buffer holds a typical delta in one read.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_url_with_a_query_string_is_refused_before_connecting() {
        // Port 9 (discard) on loopback: were it dialled, the error would be a handshake one.
        let err = connect(
            "ws://127.0.0.1:9/v1/live/sessions?model=gpt-live-1",
            None,
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, ConnectError::Url(m) if m.contains("no query string")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_listener_that_never_answers_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/v1/live/sessions", listener.local_addr().unwrap());
        let err = connect(&url, None, Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(matches!(err, ConnectError::Timeout(_)), "{err}");
    }

    #[test]
    fn the_default_url_has_no_query() {
        assert!(!DEFAULT_URL.contains('?'));
        assert!(DEFAULT_URL.ends_with("/v1/live/sessions"));
    }
}
