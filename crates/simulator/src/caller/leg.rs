//! The part of a simulated call that is the same whichever way it rang: once the voice
//! webhook has answered `<Connect><Stream>`, open the stream with a signed upgrade, play the
//! plan, ask the `<Connect action>` what comes next when the server ends the stream, post the
//! final `completed` status callback, and gather the summary.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use phone_twilio::signature::compute_signature;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::webhook::{StreamInstruction, new_sid, post_signed};
use super::{
    CallError, CallEvent, CallPlan, CallSummary, Emitter, EndedBy, after, monitor, stream,
};
use crate::audio;

/// One answered call, as Twilio knows it.
pub(super) struct Leg {
    pub(super) http: reqwest::Client,
    /// Where requests go.
    pub(super) server: String,
    /// The base URL the server believes it is reached at (signatures cover it).
    pub(super) public: String,
    pub(super) auth_token: String,
    pub(super) api_key: Option<String>,
    pub(super) call_sid: String,
    pub(super) account_sid: String,
    /// The call's standard parameters, sent with the action request and status callbacks.
    pub(super) form: Vec<(String, String)>,
    /// The status callback's path (and query) under `server` / `public`.
    pub(super) status_path: String,
    /// The voice webhook's round trip.
    pub(super) webhook_ms: u64,
    /// The next status callback's `SequenceNumber`.
    pub(super) sequence: AtomicU32,
}

impl Leg {
    /// Posts a status callback with `status` (and `extra` fields), signed; a non-2xx is an
    /// error naming `step`.
    pub(super) async fn post_status(
        &self,
        step: &'static str,
        status: &str,
        extra: &[(&str, String)],
    ) -> Result<(), CallError> {
        let mut form = self.form.clone();
        form.retain(|(k, _)| k != "CallStatus");
        form.push(("CallStatus".into(), status.into()));
        for (k, v) in extra {
            form.push(((*k).to_owned(), v.clone()));
        }
        form.push(("CallbackSource".into(), "call-progress-events".into()));
        let sequence = self.sequence.fetch_add(1, Ordering::SeqCst);
        form.push(("SequenceNumber".into(), sequence.to_string()));
        let path = &self.status_path;
        let (code, body) = post_signed(
            &self.http,
            &format!("{}{path}", self.server),
            &format!("{}{path}", self.public),
            &self.auth_token,
            &form,
        )
        .await?;
        if !(200..300).contains(&code) {
            return Err(CallError::Rejected {
                step,
                status: code,
                body,
            });
        }
        Ok(())
    }

    /// Opens the stream, plays `plan`, and ends the call as Twilio would; what it measured.
    pub(super) async fn talk(
        &self,
        stream: &StreamInstruction,
        plan: &CallPlan,
        events: &Emitter,
        record_to: Option<PathBuf>,
    ) -> Result<CallSummary, CallError> {
        // Twilio signs the upgrade over the stream URL with no parameters.
        let mut request = stream
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| CallError::WebSocket(e.to_string()))?;
        let signature = compute_signature(&self.auth_token, &stream.url, &[]);
        let header =
            HeaderValue::from_str(&signature).map_err(|e| CallError::WebSocket(e.to_string()))?;
        request.headers_mut().insert("X-Twilio-Signature", header);
        let socket = match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => socket,
            Err(e) => {
                let error = CallError::WebSocket(format!("upgrade to {}: {e}", stream.url));
                // Twilio goes on to the action with the caller still there; so does the caller.
                events.emit(CallEvent::Note(error.to_string()));
                if let Some(action) = &stream.action {
                    let next = self.request_action(action).await?;
                    events.emit(CallEvent::AfterStream {
                        action: action.clone(),
                        next,
                    });
                }
                return Err(error);
            }
        };
        events.emit(CallEvent::StreamOpen);

        let monitor = self.api_key.as_ref().map(|key| {
            monitor::Monitor::start(
                self.http.clone(),
                &self.server,
                key,
                &self.call_sid,
                events.clone(),
            )
        });
        let ids = stream::StreamIds {
            account_sid: self.account_sid.clone(),
            call_sid: self.call_sid.clone(),
            stream_sid: new_sid("MZ"),
            parameters: stream.parameters.clone(),
        };
        let stats = stream::run(socket, &ids, plan, events).await?;
        let ended_by = stats.ended_by.unwrap_or(EndedBy::Server);
        events.emit(CallEvent::Ended(ended_by));
        let duration_ms = stats.heard.len() as u64 / 8;
        let after_stream = match (&stream.action, ended_by) {
            // Only the server's close leaves the caller on the line for what comes next.
            (Some(action), EndedBy::Server) => {
                let next = self.request_action(action).await?;
                events.emit(CallEvent::AfterStream {
                    action: action.clone(),
                    next: next.clone(),
                });
                Some(next)
            }
            _ => None,
        };

        self.post_status(
            "the completed status callback",
            "completed",
            &[("CallDuration", duration_ms.div_ceil(1000).to_string())],
        )
        .await?;

        if let Some(path) = &record_to {
            audio::write_mulaw_wav(path, &stats.heard)?;
        }
        let server_report = match monitor {
            Some(m) => m.finish().await,
            None => None,
        };
        Ok(CallSummary {
            call_sid: self.call_sid.clone(),
            webhook_ms: self.webhook_ms,
            frames_sent: stats.frames_sent,
            media_received: stats.media_received,
            audio_received_ms: stats.bytes_received / 8,
            marks_received: stats.marks_received,
            marks_echoed: stats.marks_echoed,
            clears: stats.clears,
            cleared_ms: stats.cleared_ms,
            unknown_messages: stats.unknown_messages,
            reply_latencies_ms: stats.reply_latencies_ms,
            ended_by,
            recording: record_to,
            duration_ms,
            server_report,
            after_stream,
            keys_heard: stats.keys_heard,
        })
    }

    async fn request_action(&self, action: &str) -> Result<Vec<super::NextVerb>, CallError> {
        after::request_action(
            &self.http,
            &self.server,
            &self.public,
            action,
            &self.auth_token,
            &self.form,
        )
        .await
    }
}
