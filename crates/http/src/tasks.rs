//! Work in flight, counted so that someone can wait for it: the one type behind
//! - the work a handler leaves running after it has answered (a late SMS answer), which a
//!   Lambda waits for before telling Lambda the invocation is done (the environment is frozen
//!   after that), and `phone-agent serve` waits for at exit;
//! - the stream host's calls, capped at `STREAM_MAX_CALLS`, which a drain waits for;
//! - the connections of the server loop, which a graceful shutdown waits for.
//!
//! Each piece of work holds an [`Entry`]; dropping it (the task ending however it ends, panic
//! included) gives it back. [`InFlight::idle`] resolves whenever the count is zero, and can be
//! awaited again and again (a Lambda waits once per invocation).
//!
//! Why not `tokio_util::task::TaskTracker`: its `wait` resolves only once the tracker is
//! *closed* and empty, so a wait per Lambda invocation would need close/reopen around it; and
//! it has no cap, so the stream host would need a second counter (a semaphore) beside it for
//! `STREAM_MAX_CALLS`, checked apart from the first. One atomic counter that both caps and
//! counts is exact and small.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Debug)]
struct Inner {
    count: AtomicUsize,
    max: usize,
    idle: Notify,
}

/// A count of work in flight, with an optional cap, and a way to wait until there is none.
#[derive(Debug, Clone)]
pub struct InFlight {
    inner: Arc<Inner>,
}

/// One piece of work counted by an [`InFlight`]; dropping it ends it.
#[derive(Debug)]
#[must_use = "the work is counted only while the entry lives"]
pub struct Entry(Arc<Inner>);

impl Drop for Entry {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Default for InFlight {
    fn default() -> Self {
        Self::unbounded()
    }
}

impl InFlight {
    /// No cap: [`InFlight::try_enter`] always succeeds.
    pub fn unbounded() -> Self {
        Self::with_max(usize::MAX)
    }

    /// At most `max` entries at once through [`InFlight::try_enter`].
    pub fn with_max(max: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                count: AtomicUsize::new(0),
                max,
                idle: Notify::new(),
            }),
        }
    }

    /// Counts one more piece of work, or `None` when the cap is reached.
    pub fn try_enter(&self) -> Option<Entry> {
        self.inner
            .count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.inner.max).then_some(n + 1)
            })
            .ok()
            .map(|_| Entry(self.inner.clone()))
    }

    /// Counts one more piece of work, past the cap if need be (work already accepted, such as
    /// a connection or a late answer, is never refused).
    pub fn enter(&self) -> Entry {
        self.inner.count.fetch_add(1, Ordering::AcqRel);
        Entry(self.inner.clone())
    }

    /// Runs `task` on the runtime, counted until it ends.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let entry = self.enter();
        tokio::spawn(async move {
            let _entry = entry;
            task.await;
        });
    }

    /// Work in flight now.
    pub fn len(&self) -> usize {
        self.inner.count.load(Ordering::Acquire)
    }

    /// Whether no work is in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cap given to [`InFlight::with_max`].
    pub fn max(&self) -> usize {
        self.inner.max
    }

    /// Resolves once no work is in flight (at once if none is).
    pub async fn idle(&self) {
        loop {
            let notified = self.inner.idle.notified();
            tokio::pin!(notified);
            // Registered before the check, so work ending in between still wakes us.
            notified.as_mut().enable();
            if self.is_empty() {
                return;
            }
            notified.await;
        }
    }

    /// Waits until no work is in flight, for at most `limit`; `Err` holds how much is still
    /// running then.
    pub async fn idle_within(&self, limit: Duration) -> Result<(), usize> {
        match tokio::time::timeout(limit, self.idle()).await {
            Ok(()) => Ok(()),
            Err(_) => Err(self.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn idle_waits_for_every_task_even_one_that_panics() {
        let background = InFlight::default();
        background.idle().await;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        background.spawn(async move {
            let _ = rx.await;
        });
        background.spawn(async { panic!("task failure") });
        assert_eq!(
            background.idle_within(Duration::from_millis(50)).await,
            Err(1),
            "one task is still waiting"
        );
        let _ = tx.send(());
        background
            .idle_within(Duration::from_secs(1))
            .await
            .expect("idle once both ended");
        assert_eq!(background.len(), 0);
        // Idle again and again: a second round of work is waited for the same way.
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        background.spawn(async move {
            let _ = rx.await;
        });
        assert!(
            background
                .idle_within(Duration::from_millis(20))
                .await
                .is_err()
        );
        let _ = tx.send(());
        background.idle().await;
    }

    #[test]
    fn entries_are_refused_beyond_the_max_and_returned_on_drop() {
        let slots = InFlight::with_max(2);
        let a = slots.try_enter().unwrap();
        let _b = slots.try_enter().unwrap();
        assert!(slots.try_enter().is_none());
        drop(a);
        assert_eq!(slots.len(), 1);
        assert!(slots.try_enter().is_some());
        // `enter` counts work already accepted even at the cap.
        let _c = slots.try_enter().unwrap();
        let _d = slots.enter();
        assert_eq!(slots.len(), 3);
    }
}
