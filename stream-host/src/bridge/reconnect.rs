//! The OpenAI session: configuring it, and replacing a dropped connection with a new session
//! that carries the conversation so far.
//!
//! Reconnecting runs inside the call's loop (a connect future polled beside Twilio's socket),
//! so hang-ups and marks are handled while OpenAI is away, and caller audio is queued, not
//! lost. The attempts are a budget for the whole call: a server that accepts and closes again
//! at once does not get endless billed sessions.

use std::time::Duration;

use phone_core::Role;
use phone_realtime::client;
use phone_realtime::connect::{ConnectError, RealtimeSocket};
use tokio::time::Instant;

use super::{Bridge, EndReason, REPLAYED_TURNS, Step};
use crate::bargein::Playback;
use crate::openai;

/// First pause before a reconnect attempt; doubled for each later one.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

impl Bridge {
    /// Sends `session.update` (tagged, so a refusal can be told apart) and replays `replay`;
    /// audio waits until `session.updated`.
    pub(super) async fn configure_session(&mut self, replay: &[(Role, String)]) -> Step {
        let state = self.state.clone();
        let config = &state.inner.config;
        self.session.opened += 1;
        self.session.update_id = format!("session-{}", self.session.opened);
        self.session.ready = false;
        self.session.deadline = Instant::now() + config.session_timeout;
        let mut setup = vec![openai::session_update(
            config,
            &self.instructions,
            &self.session.update_id,
        )];
        for (role, text) in replay {
            setup.push(match role {
                Role::Caller => client::user_text(text),
                Role::Assistant => client::assistant_text(text),
            });
        }
        for text in setup {
            if self.send_openai(text).await.is_err() {
                return self.connection_lost();
            }
        }
        Step::Continue
    }

    /// OpenAI closed or failed: start the next attempt, or end the call when the budget is
    /// spent or the call was ending anyway (its goodbye cannot be said any more).
    pub(super) fn connection_lost(&mut self) -> Step {
        self.openai = None;
        self.session.ready = false;
        self.responses.session_replaced();
        // Audio of the old session cannot be truncated in the new one; its calls never finish.
        self.playback = Playback::default();
        self.held_calls.clear();
        self.tool_turns.clear();
        if let Some((reason, _)) = self.ending {
            tracing::warn!(?reason, "OpenAI connection lost while the call was ending");
            return Step::End(reason);
        }
        let config = &self.state.inner.config;
        if self.reconnects_left == 0 {
            tracing::error!(
                attempts = config.reconnect_attempts,
                "OpenAI could not be reached again; ending the call"
            );
            return Step::End(EndReason::OpenAiLost);
        }
        let attempt = config.reconnect_attempts - self.reconnects_left + 1;
        self.reconnects_left -= 1;
        let backoff = FIRST_BACKOFF * 2u32.saturating_pow(attempt - 1);
        tracing::warn!(attempt, ?backoff, "OpenAI connection lost; reconnecting");
        let state = self.state.clone();
        self.connecting = Some(Box::pin(async move {
            tokio::time::sleep(backoff).await;
            openai::connect(&state.inner.config).await
        }));
        Step::Continue
    }

    /// A reconnect attempt ended: configure the new session with the conversation so far, or
    /// try again.
    pub(super) async fn on_connect_attempt(
        &mut self,
        connected: Result<RealtimeSocket, ConnectError>,
    ) -> Step {
        match connected {
            Ok(socket) => {
                self.openai = Some(socket);
                self.outcome.stats.reconnects += 1;
                let skip = self.conversation.len().saturating_sub(REPLAYED_TURNS);
                let replay = self.conversation[skip..].to_vec();
                self.configure_session(&replay).await
            }
            Err(e) => {
                tracing::warn!(error = %e, "reconnect failed");
                self.connection_lost()
            }
        }
    }
}
