//! Twilio's `start` message: which call a media stream belongs to, and the stream token that
//! proves it.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures_util::StreamExt;
use phone_core::CallSid;
use phone_twilio::media::{StreamEvent, parse_stream_event};
use tokio::time::timeout;

/// What `start` told us.
pub(crate) struct StreamStart {
    pub(crate) stream_sid: String,
    pub(crate) call_sid: CallSid,
    pub(crate) token: String,
}

/// Why a stream was refused before bridging.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error("Twilio sent no start within {0:?}")]
    Timeout(Duration),
    #[error("the socket closed before start")]
    Closed,
    #[error("start without {0}")]
    Missing(&'static str),
}

/// Reads frames until `start` (other frames, and oversized ones, are skipped), within `limit`.
pub(crate) async fn wait_for_start(
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
                return Ok(StreamStart {
                    stream_sid: start.stream_sid,
                    call_sid,
                    token,
                });
            }
        }
        Err(StartError::Closed)
    };
    timeout(limit, read)
        .await
        .unwrap_or(Err(StartError::Timeout(limit)))
}
