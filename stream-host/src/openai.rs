//! The OpenAI side of a call: opening the socket, the session, and the instructions.

use std::time::Duration;

use phone_config::VoiceEngine;
use phone_core::PhoneNumber;
use phone_core::memory::quote_for_model;
use phone_core::store::PageRequest;
use phone_realtime::connect::RealtimeSocket;
use phone_realtime::session::{SessionConfig, TurnDetection, takes_reasoning};

use crate::HostState;
use crate::config::StreamHostConfig;

/// Why the engine's socket did not open. Never contains the API key.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    /// The Realtime endpoint.
    #[error(transparent)]
    Realtime(#[from] phone_realtime::connect::ConnectError),
    /// The GPT-Live endpoint.
    #[error(transparent)]
    Live(#[from] phone_live::connect::ConnectError),
}

/// Opens the configured engine's socket (both are WebSockets of the same type).
///
/// The connect future (DNS, TCP, TLS, WebSocket handshake) is several kilobytes; boxed, it
/// lives on the heap only while connecting instead of inside every call's task for the whole
/// call (the call's future is as large as its largest phase).
pub(crate) async fn connect(config: &StreamHostConfig) -> Result<RealtimeSocket, ConnectError> {
    let key = config.openai_api_key.as_ref();
    let timeout = config.openai_connect_timeout;
    Ok(match config.engine {
        VoiceEngine::Realtime => {
            Box::pin(phone_realtime::connect::connect(
                &config.openai_url,
                key,
                timeout,
            ))
            .await?
        }
        VoiceEngine::Live => {
            Box::pin(phone_live::connect::connect(&config.live_url, key, timeout)).await?
        }
    })
}

/// The `session.update` for a call, tagged `event_id`. It names no model: the socket's model is
/// the URL's.
pub(crate) fn session_update(
    config: &StreamHostConfig,
    tools: &[serde_json::Value],
    instructions: &str,
    event_id: &str,
) -> String {
    let turn_detection = if config.semantic_vad {
        TurnDetection::SemanticVad {
            eagerness: "auto".into(),
        }
    } else {
        TurnDetection::default()
    };
    SessionConfig {
        voice: config.voice.clone(),
        instructions: instructions.to_owned(),
        turn_detection,
        transcription_model: config.transcription_model.clone(),
        tools: tools.to_vec(),
        reasoning_effort: takes_reasoning(&config.model)
            .then(|| config.reasoning_effort.as_str().to_owned()),
    }
    .to_event(event_id)
}

/// Persona, the time, and what the store remembers about this caller, quoted as untrusted
/// data ([`phone_core::memory::quote_for_model`]). `caller` is the call row's
/// [`remembered_caller`](phone_core::CallSession::remembered_caller): `None` for a caller
/// whose number is not verified, who gets no memory at all.
pub(crate) async fn instructions(state: &HostState, caller: Option<&PhoneNumber>) -> String {
    let config = &state.inner.config;
    let store = &state.inner.store;
    let now = store.clock().now();
    let mut text = format!(
        "{}\nThe current time is {} (UTC); the caller's time zone is {}.",
        config.instructions,
        now.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        config.time_zone
    );
    let Some(caller) = caller else { return text };
    // Memory is a help, not a requirement: a store hiccup must not stop the call.
    let lookup = async {
        let memory = store.get_memory(caller).await?;
        let notes = store.list_notes(caller, &PageRequest::newest(5)).await?;
        Ok::<_, phone_core::StoreError>((memory, notes.items))
    };
    match tokio::time::timeout(Duration::from_secs(2), lookup).await {
        Ok(Ok((memory, notes))) => {
            if let Some(quoted) = quote_for_model(&memory, &notes) {
                text.push('\n');
                text.push_str(&quoted);
            }
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "caller memory unavailable"),
        Err(_) => tracing::warn!("caller memory lookup timed out"),
    }
    text
}
