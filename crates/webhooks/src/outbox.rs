//! The bounded outbox: [`WebhookOutbox::emit`] puts an event in a queue and returns at once; a
//! background task delivers queued events, a bounded number at a time. A full queue drops the
//! event with an error log rather than wait: a call never waits for a webhook.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use phone_core::events::{Event, EventSink};
use tokio::sync::{Semaphore, mpsc};

use crate::delivery::Deliverer;

/// Events waiting for delivery before new ones are dropped.
pub const QUEUE_CAPACITY: usize = 1024;
/// Events delivered at the same time.
pub const CONCURRENT_DELIVERIES: usize = 32;

/// The sending side, given to everything that emits events.
#[derive(Debug, Clone)]
pub struct WebhookOutbox {
    queue: mpsc::Sender<Event>,
    state: Arc<State>,
}

#[derive(Debug)]
struct State {
    /// Events queued or being delivered.
    pending: AtomicUsize,
    slots: Arc<Semaphore>,
}

impl WebhookOutbox {
    /// Starts the delivery task on the current runtime.
    pub fn start(deliverer: Deliverer) -> Self {
        let (queue, mut events) = mpsc::channel::<Event>(QUEUE_CAPACITY);
        let state = Arc::new(State {
            pending: AtomicUsize::new(0),
            slots: Arc::new(Semaphore::new(CONCURRENT_DELIVERIES)),
        });
        let worker = state.clone();
        let deliverer = Arc::new(deliverer);
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let Ok(slot) = worker.slots.clone().acquire_owned().await else {
                    break;
                };
                let (deliverer, worker) = (deliverer.clone(), worker.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    deliverer.deliver(&event).await;
                    worker.pending.fetch_sub(1, Ordering::AcqRel);
                });
            }
        });
        Self { queue, state }
    }

    /// Events queued or being delivered.
    pub fn pending(&self) -> usize {
        self.state.pending.load(Ordering::Acquire)
    }

    /// Waits up to `limit` for every queued event to be delivered or given up; `false` if
    /// some are still pending (for a clean exit of `serve`).
    pub async fn flush(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.pending() > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }
}

impl EventSink for WebhookOutbox {
    fn emit(&self, event: Event) {
        self.state.pending.fetch_add(1, Ordering::AcqRel);
        if let Err(e) = self.queue.try_send(event) {
            self.state.pending.fetch_sub(1, Ordering::AcqRel);
            let (reason, event) = match e {
                mpsc::error::TrySendError::Full(event) => ("outbox full", event),
                mpsc::error::TrySendError::Closed(event) => ("outbox closed", event),
            };
            tracing::error!(event_id = %event.id, event = event.kind.as_str(), reason, "webhook event dropped");
        }
    }
}
