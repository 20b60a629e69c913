//! Work a handler leaves running after it has answered, e.g. an SMS answer that was not ready
//! before Twilio's webhook deadline and is texted when it is.
//!
//! In the long-running `phone-agent serve` the tasks simply run. In Lambda the execution
//! environment is frozen once the response is sent, so the function's `main` waits for
//! [`Background::idle`] before telling Lambda it is done (see [`crate::lambda`]).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

#[derive(Debug, Default)]
struct Inner {
    pending: AtomicUsize,
    idle: Notify,
}

/// A counter of spawned tasks still running, and a way to wait until there are none.
#[derive(Debug, Clone, Default)]
pub struct Background {
    inner: Arc<Inner>,
}

/// Decrements the counter when the task ends, however it ends (panic included).
struct Pending(Arc<Inner>);

impl Drop for Pending {
    fn drop(&mut self) {
        if self.0.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Background {
    /// Runs `task` on the runtime, counted until it ends.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.inner.pending.fetch_add(1, Ordering::AcqRel);
        let pending = Pending(self.inner.clone());
        tokio::spawn(async move {
            let _pending = pending;
            task.await;
        });
    }

    /// Tasks still running.
    pub fn pending(&self) -> usize {
        self.inner.pending.load(Ordering::Acquire)
    }

    /// Resolves once no task is running.
    pub async fn idle(&self) {
        loop {
            let notified = self.inner.idle.notified();
            tokio::pin!(notified);
            // Registered before the check, so a task ending in between still wakes us.
            notified.as_mut().enable();
            if self.pending() == 0 {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn idle_waits_for_every_task_even_one_that_panics() {
        let background = Background::default();
        background.idle().await;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        background.spawn(async move {
            let _ = rx.await;
        });
        background.spawn(async { panic!("task failure") });
        assert!(
            tokio::time::timeout(Duration::from_millis(50), background.idle())
                .await
                .is_err(),
            "one task is still waiting"
        );
        let _ = tx.send(());
        tokio::time::timeout(Duration::from_secs(1), background.idle())
            .await
            .expect("idle once both ended");
        assert_eq!(background.pending(), 0);
    }
}
