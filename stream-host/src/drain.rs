//! Graceful drain on SIGTERM, as one small type (like mini-redis's `Shutdown`).
//!
//! On drain: `/health` answers 503 so the load balancer stops routing new calls here, new
//! upgrades are refused, and live calls continue until the drain deadline, when each says a
//! short goodbye and ends.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// The host's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Taking calls.
    Serving,
    /// No new calls; live calls must end by `deadline`.
    Draining {
        /// When live calls are ended politely.
        deadline: Instant,
    },
}

/// The side that starts a drain (the binary's signal handler, tests).
#[derive(Debug, Clone)]
pub struct DrainController {
    tx: watch::Sender<Phase>,
}

/// The side every call and the router watch.
#[derive(Debug, Clone)]
pub struct DrainSignal {
    rx: watch::Receiver<Phase>,
}

/// A controller and its signal.
pub fn channel() -> (DrainController, DrainSignal) {
    let (tx, rx) = watch::channel(Phase::Serving);
    (DrainController { tx }, DrainSignal { rx })
}

impl DrainController {
    /// Starts draining; live calls get `grace` to finish.
    pub fn drain(&self, grace: Duration) {
        let deadline = Instant::now() + grace;
        self.tx.send_replace(Phase::Draining { deadline });
    }
}

impl DrainSignal {
    /// Whether the host is draining.
    pub fn is_draining(&self) -> bool {
        matches!(*self.rx.borrow(), Phase::Draining { .. })
    }

    /// Resolves once a drain has started (never while serving).
    pub async fn started(&mut self) {
        while !self.is_draining() {
            if self.rx.changed().await.is_err() {
                // Controller gone: nobody can ever start a drain.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Resolves when the drain deadline passes (never while serving).
    pub async fn deadline_passed(&mut self) {
        loop {
            let phase = *self.rx.borrow_and_update();
            match phase {
                Phase::Draining { deadline } => return tokio::time::sleep_until(deadline).await,
                Phase::Serving => {
                    if self.rx.changed().await.is_err() {
                        // Controller gone: nobody can ever start a drain.
                        std::future::pending::<()>().await;
                    }
                }
            }
        }
    }
}
