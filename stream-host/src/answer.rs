//! Where an outbound call's answering machine verdict comes from.
//!
//! Twilio posts the asynchronous AMD result to the API (`/voice/outbound/amd`), which may run
//! in another process or a Lambda, and records it on the call row. The stream host holding the
//! call reads the row every [`POLL`] until the verdict is there, for at most [`WAIT`]; with
//! none by then, the callee is treated as a person (`unknown`). Why a poll and not a push:
//! the API does not know which host holds the call (hosts sit behind a load balancer), and a
//! read of one item every 250 ms for the few seconds detection takes costs less than an
//! authenticated, routed callback (docs/outbound.md, "Voicemail").

use std::time::Duration;

use phone_core::outbound::AnsweredBy;
use phone_core::{CallSid, Store};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Time between two reads of the call row.
pub(crate) const POLL: Duration = Duration::from_millis(250);
/// Longest wait: Twilio's detection gives up after `MachineDetectionTimeout` (30 s by
/// default), plus the callback's delivery.
pub(crate) const WAIT: Duration = Duration::from_secs(45);

/// Watches `sid`'s row for the verdict; the receiver gets it once. The task ends when the
/// verdict is sent, the wait is over, or the receiver is dropped (the call ended).
pub(crate) fn watch(store: Store, sid: CallSid) -> (oneshot::Receiver<AnsweredBy>, JoinHandle<()>) {
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if tx.is_closed() {
                return;
            }
            match Box::pin(store.get_call(&sid)).await {
                Ok(row) => {
                    if let Some(by) = row.answered_by {
                        let _ = tx.send(by);
                        return;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "call row unreadable while waiting for AMD"),
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(wait = ?WAIT, "no answering machine verdict in time; treating the callee as a person");
                let _ = tx.send(AnsweredBy::Unknown);
                return;
            }
            tokio::time::sleep(POLL).await;
        }
    });
    (rx, task)
}
