//! How a media stream ended, written on the call row before Twilio's socket closes: the close
//! makes Twilio request the `<Connect action>` at once, and that webhook answers `<Hangup/>`
//! only for a normal end it can read; anything else gets an apology and the fallback.

use std::time::Duration;

use phone_core::store::Created;
use phone_core::{CallSid, StreamEnd};
use tokio::time::timeout;

use crate::HostState;
use crate::machine::EndReason;

/// Longest [`record_end`] holds up the close of Twilio's socket. Twilio hears nothing while it
/// waits; past this the close goes ahead and the caller gets the fallback.
const RECORD_END_LIMIT: Duration = Duration::from_secs(2);

/// Records on the call row how the stream ended. Call it BEFORE closing Twilio's socket:
/// Twilio requests the `<Connect action>` as soon as the socket closes, and the action answers
/// `<Hangup/>` only for a normal end it can read. Bounded by [`RECORD_END_LIMIT`]; a failure
/// or timeout is logged and the close goes on (the action then treats the end as abnormal, so
/// the caller hears the apology rather than silence). The first end recorded for a call stays.
pub(crate) async fn record_end(state: &HostState, call_sid: &CallSid, end: StreamEnd) {
    let write = Box::pin(state.inner.store.record_stream_end(call_sid, end));
    match timeout(RECORD_END_LIMIT, write).await {
        Ok(Ok(Created::New)) => tracing::info!(?end, "stream end recorded"),
        Ok(Ok(Created::Existing(first))) => {
            tracing::info!(?end, ?first, "stream end already recorded; the first stays")
        }
        Ok(Err(e)) => {
            tracing::error!(?end, error = %e, "stream end not recorded: the caller will hear the fallback")
        }
        Err(_) => tracing::error!(
            ?end,
            limit = ?RECORD_END_LIMIT,
            "stream end not recorded in time: the caller will hear the fallback"
        ),
    }
}

impl From<EndReason> for StreamEnd {
    fn from(reason: EndReason) -> Self {
        match reason {
            EndReason::CallerHungUp => Self::CallerHungUp,
            EndReason::MaxDuration => Self::MaxDuration,
            EndReason::CostLimit => Self::CostLimit,
            EndReason::Idle => Self::Idle,
            EndReason::Drain => Self::Drain,
            EndReason::OpenAiLost => Self::OpenAiLost,
            EndReason::SessionNotConfigured => Self::SessionNotConfigured,
            EndReason::AssistantHungUp => Self::AssistantHungUp,
            EndReason::Transferred => Self::Transferred,
            EndReason::VoicemailLeft => Self::VoicemailLeft,
            EndReason::FaxAnswered => Self::FaxAnswered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_of_the_engine_are_abnormal_ends() {
        for (reason, normal) in [
            (EndReason::CallerHungUp, true),
            (EndReason::MaxDuration, true),
            (EndReason::CostLimit, true),
            (EndReason::Idle, true),
            (EndReason::Drain, true),
            (EndReason::AssistantHungUp, true),
            (EndReason::Transferred, true),
            (EndReason::VoicemailLeft, true),
            (EndReason::FaxAnswered, true),
            (EndReason::OpenAiLost, false),
            (EndReason::SessionNotConfigured, false),
        ] {
            assert_eq!(StreamEnd::from(reason).is_normal(), normal, "{reason:?}");
        }
    }
}
