//! Checks that a server refuses what Twilio did not sign: a voice webhook with a wrong
//! signature and a media stream upgrade with none. A demo that only shows signed requests
//! succeeding would not show that signatures are checked.

use phone_twilio::signature::compute_signature;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::webhook::{incoming_form, new_sid, post_signed};
use super::{CallError, CallTarget};

/// What the server did with forged requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgeryProbe {
    /// HTTP status of `POST /voice/incoming` signed with the wrong token (403 expected).
    pub webhook_status: u16,
    /// Whether an unsigned upgrade of `stream_url` was refused.
    pub stream_refused: bool,
}

impl ForgeryProbe {
    /// Both forgeries were refused.
    pub fn all_refused(&self) -> bool {
        self.webhook_status == 403 && self.stream_refused
    }
}

/// Sends a webhook signed with a wrong token and a stream upgrade whose signature is for
/// another URL, and reports what the server did.
pub async fn probe_forgeries(
    target: &CallTarget,
    stream_url: &str,
) -> Result<ForgeryProbe, CallError> {
    let http = reqwest::Client::new();
    let server = target.server.trim_end_matches('/');
    let public = target
        .public_url
        .as_deref()
        .unwrap_or(server)
        .trim_end_matches('/');
    let form = incoming_form(&new_sid("CA"), &new_sid("AC"), &target.from, &target.to);
    let wrong_token = format!("{}-forged", target.auth_token);
    let (webhook_status, _) = post_signed(
        &http,
        &format!("{server}/voice/incoming"),
        &format!("{public}/voice/incoming"),
        &wrong_token,
        &form,
    )
    .await?;
    let mut request = stream_url
        .into_client_request()
        .map_err(|e| CallError::WebSocket(e.to_string()))?;
    let signature = compute_signature(
        &target.auth_token,
        "wss://elsewhere.example/voice/stream",
        &[],
    );
    let header =
        HeaderValue::from_str(&signature).map_err(|e| CallError::WebSocket(e.to_string()))?;
    request.headers_mut().insert("X-Twilio-Signature", header);
    let stream_refused = tokio_tungstenite::connect_async(request).await.is_err();
    Ok(ForgeryProbe {
        webhook_status,
        stream_refused,
    })
}
