//! Call recording (`RECORDING=dual`; docs/observability.md, "Recording").
//!
//! The voice webhook's TwiML starts the recording with `<Start><Recording channels="dual">`
//! before `<Connect><Stream>` (Twilio's documented TwiML way: no REST request on the webhook's
//! path), naming `POST /voice/recording` as its status callback. Each callback, signature-
//! checked like every Twilio request, stores the recording's sid, link, status, channels and
//! length on the call row, where `GET /calls/{sid}` reports it. Off (the default), nothing is
//! recorded and no callback is named.

use axum::extract::State;
use axum::http::StatusCode;
use phone_config::{Config, RecordingMode};
use phone_core::StoreError;
use phone_twilio::recording::RecordingCallback;
use phone_twilio::twiml::{Response, TwimlError, Verb};

use crate::twilio_request::SignedForm;
use crate::{ApiError, AppState};

/// The recording status callback's path.
pub const PATH: &str = "/voice/recording";

/// `twiml` with the recording started first, when calls are recorded.
pub fn start_if_enabled(
    config: &Config,
    public_base_url: &str,
    twiml: Response,
) -> Result<Response, TwimlError> {
    match config.recording.mode {
        RecordingMode::Off => Ok(twiml),
        RecordingMode::Dual => twiml.push(Verb::StartDualRecording {
            status_callback: format!("{}{PATH}", public_base_url.trim_end_matches('/')),
        }),
    }
}

/// `POST /voice/recording`: stores the recording on the call row. An unknown call is
/// acknowledged (Twilio would retry) and logged.
pub(super) async fn recording_status(
    State(state): State<AppState>,
    SignedForm(form): SignedForm,
) -> Result<StatusCode, ApiError> {
    let callback =
        RecordingCallback::from_form(&form).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    match state
        .store
        .save_call_recording(&callback.call_sid, &callback.recording)
        .await
    {
        Ok(_) => tracing::info!(
            call_sid = %callback.call_sid,
            recording_sid = %callback.recording.sid,
            status = %callback.recording.status,
            "call recording"
        ),
        Err(StoreError::NotFound) => {
            tracing::warn!(call_sid = %callback.call_sid, "recording for unknown call")
        }
        Err(e) => return Err(e.into()),
    }
    Ok(StatusCode::NO_CONTENT)
}
