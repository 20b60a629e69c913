//! Turning Google's error JSON and transport failures into [`PortError`]s.

use phone_core::ports::PortError;
use serde::Deserialize;

/// Google's error envelope: `{"error":{"code":..,"message":..,"errors":[..]}}`.
#[derive(Deserialize)]
struct Envelope {
    error: Body,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    message: String,
}

/// Maps a non-success answer to `Upstream`, keeping Google's own message (truncated) as the reason.
pub(crate) async fn error_from(service: &'static str, resp: reqwest::Response) -> PortError {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    let message = serde_json::from_str::<Envelope>(&text)
        .map(|e| e.error.message)
        .unwrap_or_else(|_| text.chars().take(300).collect());
    PortError::Upstream {
        service,
        status: Some(status),
        message,
    }
}

/// Maps a transport failure; timeouts get their own variant so a tool can say "try again".
pub(crate) fn transport(service: &'static str, err: reqwest::Error) -> PortError {
    if err.is_timeout() {
        PortError::Timeout(service)
    } else {
        // Without the URL: it may carry query text the user typed.
        PortError::Upstream {
            service,
            status: None,
            message: err.without_url().to_string(),
        }
    }
}
