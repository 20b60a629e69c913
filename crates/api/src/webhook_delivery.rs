//! The `webhook-delivery` function's handler: a batch of the webhook queue's messages (SQS
//! event source mapping, `ReportBatchItemFailures`), each an event sent by another function.
//! One delivery attempt per receive; the queue's redelivery is the retry, under the same
//! `webhook-id` (the id travels in the message). A message not delivered to every URL is
//! reported as a batch item failure and put back with the backoff of the in-process schedule
//! (5 s, 30 s, 120 s) before its next receive; after [`MAX_RECEIVES`] the queue's redrive
//! policy moves it to the dead-letter queue. Each attempt is recorded in the store, as in
//! `serve`, so failures show over REST (`GET /webhooks/deliveries`).

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use phone_aws::WebhookQueue;
use phone_config::{ConfigError, keys};
use phone_core::events::Event;
use phone_core::{Store, SystemClock};
use phone_webhooks::{Deliverer, RetrySchedule};
use phone_wiring::BootstrapError;

/// Receives of one message before the redrive policy moves it to the dead-letter queue: the
/// attempts of the in-process schedule. template.yaml's `maxReceiveCount` must equal it.
pub const MAX_RECEIVES: u32 = 4;

/// Delivers the queue's messages.
#[derive(Debug, Clone)]
pub struct QueueDelivery {
    deliverer: Deliverer,
    queue: WebhookQueue,
    backoff: RetrySchedule,
}

impl QueueDelivery {
    /// Delivers with `deliverer`; `queue` is the queue the messages come from (to put a failed
    /// one back with its backoff).
    pub fn new(deliverer: Deliverer, queue: WebhookQueue) -> Self {
        Self {
            deliverer,
            queue,
            backoff: RetrySchedule::default(),
        }
    }

    /// Handles one batch; the response lists the messages to receive again.
    pub async fn handle(&self, batch: SqsEvent) -> SqsBatchResponse {
        let outcomes = futures_util::future::join_all(
            batch.records.iter().map(|message| self.deliver(message)),
        )
        .await;
        let mut response = SqsBatchResponse::default();
        for (message, delivered) in batch.records.iter().zip(outcomes) {
            if !delivered {
                response.add_failure(message.message_id.clone().unwrap_or_default());
            }
        }
        response
    }

    /// One attempt of one message; `false` when it must be received again.
    async fn deliver(&self, message: &SqsMessage) -> bool {
        let message_id = message.message_id.as_deref().unwrap_or("(no id)");
        let receive = message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(1)
            .max(1);
        let event: Event = match message
            .body
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
        {
            Ok(Some(event)) => event,
            // Not an event: no receive will make it one. Reported as failed so that it ends in
            // the dead-letter queue, where it can be looked at, rather than vanish.
            Ok(None) | Err(_) => {
                tracing::error!(message_id, receive, "webhook queue message is not an event");
                return false;
            }
        };
        match self.deliverer.attempt(&event, receive, MAX_RECEIVES).await {
            Ok(()) => true,
            Err(undelivered) => {
                tracing::warn!(event_id = %event.id, event = event.kind.as_str(), receive, error = %undelivered, "webhook delivery attempt failed");
                self.back_off(message, receive).await;
                false
            }
        }
    }

    /// Puts a failed message back with the wait before its next attempt. Without it (or when
    /// this fails) it comes back when its visibility timeout ends.
    async fn back_off(&self, message: &SqsMessage, receive: u32) {
        let (Some(handle), Some(wait)) = (
            message.receipt_handle.as_deref(),
            self.backoff.0.get(receive as usize - 1),
        ) else {
            return;
        };
        if let Err(e) = self.queue.retry_after(handle, *wait).await {
            tracing::warn!(error = %e, "webhook message not put back with its backoff");
        }
    }
}

/// The configuration, the store, the deliverer and the queue: the state of the delivery
/// function, once per cold start. `WEBHOOK_URLS`, `WEBHOOK_SECRET` and `WEBHOOK_QUEUE_URL`
/// are required.
pub async fn load() -> Result<QueueDelivery, BootstrapError> {
    let config = phone_wiring::load_config().await?;
    let queue = config
        .post_call
        .webhook_queue
        .clone()
        .ok_or(ConfigError::Missing(keys::WEBHOOK_QUEUE_URL))?;
    let records = phone_wiring::open_records(&config).await?;
    let store = Store::new(records, Arc::new(SystemClock), config.retention);
    let deliverer = phone_wiring::webhook_deliverer(&config, &store)?
        .ok_or(ConfigError::Missing(keys::WEBHOOK_URLS))?;
    let queue = WebhookQueue::connect(&queue.url, queue.endpoint.as_deref()).await;
    Ok(QueueDelivery::new(deliverer, queue))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As many receives as the in-process schedule has attempts, and a backoff for each
    /// receive but the last.
    #[test]
    fn receives_match_the_in_process_schedule() {
        let schedule = RetrySchedule::default();
        assert_eq!(MAX_RECEIVES, schedule.attempts());
        assert_eq!(schedule.0.len() as u32, MAX_RECEIVES - 1);
    }
}
