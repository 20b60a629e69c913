//! Reopening the OpenAI session after a drop, with the conversation so far.

use std::time::Duration;

use phone_core::Role;
use phone_realtime::client;

use super::{Bridge, EndReason, REPLAYED_TURNS};
use crate::bargein::Playback;
use crate::openai;

impl Bridge {
    /// Opens a new OpenAI session after a drop, replays the conversation, and has the assistant
    /// excuse the pause. Caller audio arriving meanwhile is queued, not lost.
    pub(super) async fn reconnect(&mut self) -> Result<(), EndReason> {
        let state = self.state.clone();
        let config = &state.inner.config;
        self.session_ready = false;
        self.playback = Playback::default();
        for attempt in 1..=config.reconnect_attempts {
            tracing::warn!(attempt, "OpenAI connection lost; reconnecting");
            tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt - 1))).await;
            let socket = match openai::connect(config).await {
                Ok(socket) => socket,
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "reconnect failed");
                    continue;
                }
            };
            self.openai = socket;
            self.outcome.stats.reconnects += 1;
            let mut setup = vec![openai::session_update(
                config,
                &self.instructions,
                "session-1",
            )];
            let skip = self.conversation.len().saturating_sub(REPLAYED_TURNS);
            for (role, text) in &self.conversation[skip..] {
                setup.push(match role {
                    Role::Caller => client::user_text(text),
                    Role::Assistant => client::assistant_text(text),
                });
            }
            setup.push(client::response_create(Some(
                "The line dropped for a moment. Say one short sentence of apology and continue the conversation.",
            )));
            let mut sent = true;
            for text in setup {
                if self.send_openai(text).await.is_err() {
                    sent = false;
                    break;
                }
            }
            if sent {
                // The greeting was given already; do not repeat it.
                self.greeted = true;
                return Ok(());
            }
        }
        tracing::error!("OpenAI could not be reached again; ending the call");
        Err(EndReason::OpenAiLost)
    }
}
