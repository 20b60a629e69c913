//! The webhook event queue on SQS (docs/observability.md, "Webhooks"): in AWS a Lambda function
//! cannot keep an outbox running after it answers, so it sends each event to a queue
//! ([`SqsEventSink`]) and the `webhook-delivery` function, triggered by the queue, delivers it.
//! The message body is the whole [`Event`] as JSON, its id included, so every receive signs
//! with the same `webhook-id`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use phone_core::events::{Event, EventSink};

/// Deadline of one `SendMessage` (retries included): the event is dropped and counted after it.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(3);

/// Longest error text logged or returned.
const MAX_ERROR_CHARS: usize = 300;

/// A request to the queue failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// No answer within the deadline.
    #[error("SQS {0} timed out")]
    Timeout(&'static str),
    /// SQS (or the connection to it) refused the request.
    #[error("SQS {operation}: {message}")]
    Failed {
        /// The operation (`SendMessage`, `ChangeMessageVisibility`).
        operation: &'static str,
        /// Its error code and message, shortened.
        message: String,
    },
    /// The event could not be turned into a message.
    #[error("event not serialisable: {0}")]
    Encode(String),
}

fn failed<E, R>(operation: &'static str, e: &SdkError<E, R>) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let message = match e {
        SdkError::TimeoutError(_) => return QueueError::Timeout(operation),
        SdkError::ServiceError(service) => format!(
            "{}: {}",
            service.err().code().unwrap_or("error"),
            service.err().message().unwrap_or("no message")
        ),
        other => DisplayErrorContext(other).to_string(),
    };
    QueueError::Failed {
        operation,
        message: message.chars().take(MAX_ERROR_CHARS).collect(),
    }
}

/// One SQS queue of webhook events.
#[derive(Debug, Clone)]
pub struct WebhookQueue {
    client: Client,
    url: String,
}

impl WebhookQueue {
    /// The queue at `url`.
    pub fn new(client: Client, url: &str) -> Self {
        Self {
            client,
            url: url.to_owned(),
        }
    }

    /// A client from the default AWS configuration (explicit timeouts, bounded retries);
    /// `endpoint` overrides the service endpoint (moto).
    pub async fn connect(url: &str, endpoint: Option<&str>) -> Self {
        let sdk = crate::sdk_config(endpoint).await;
        Self::new(Client::new(&sdk), url)
    }

    /// The queue's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends `event` as one message (its JSON), within [`SEND_TIMEOUT`].
    pub async fn send(&self, event: &Event) -> Result<(), QueueError> {
        let body = serde_json::to_string(event).map_err(|e| QueueError::Encode(e.to_string()))?;
        let request = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send();
        match tokio::time::timeout(SEND_TIMEOUT, request).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(failed("SendMessage", &e)),
            Err(_) => Err(QueueError::Timeout("SendMessage")),
        }
    }

    /// Makes a received message visible again only after `delay` (the backoff before its
    /// next receive, which is the next delivery attempt).
    pub async fn retry_after(
        &self,
        receipt_handle: &str,
        delay: Duration,
    ) -> Result<(), QueueError> {
        let seconds = i32::try_from(delay.as_secs()).unwrap_or(i32::MAX);
        let request = self
            .client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send();
        match tokio::time::timeout(SEND_TIMEOUT, request).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(failed("ChangeMessageVisibility", &e)),
            Err(_) => Err(QueueError::Timeout("ChangeMessageVisibility")),
        }
    }
}

/// A task to run off the emitter's task. A Lambda function passes one that counts it as work
/// the invocation waits for after answering (`phone_api::AppState::background`); the default
/// is `tokio::spawn`.
pub type Spawn = Arc<dyn Fn(Pin<Box<dyn Future<Output = ()> + Send>>) + Send + Sync>;

/// An [`EventSink`] that sends each event to a [`WebhookQueue`] on a task of its own: `emit`
/// returns at once; a failed send is logged (the event's id and type, the error, never the
/// signing secret, which this sink does not hold) and counted ([`SqsEventSink::unsent`]).
#[derive(Clone)]
pub struct SqsEventSink {
    queue: WebhookQueue,
    spawn: Spawn,
    unsent: Arc<AtomicU64>,
}

impl std::fmt::Debug for SqsEventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsEventSink")
            .field("queue", &self.queue.url)
            .field("unsent", &self.unsent())
            .finish()
    }
}

impl SqsEventSink {
    /// Sends to `queue`, each send run by `spawn`.
    pub fn new(queue: WebhookQueue, spawn: Spawn) -> Self {
        Self {
            queue,
            spawn,
            unsent: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Sends to `queue`, each send on a `tokio::spawn`ed task.
    pub fn spawned(queue: WebhookQueue) -> Self {
        Self::new(
            queue,
            Arc::new(|task| {
                tokio::spawn(task);
            }),
        )
    }

    /// Events whose send failed since start-up.
    pub fn unsent(&self) -> u64 {
        self.unsent.load(Ordering::Relaxed)
    }
}

impl EventSink for SqsEventSink {
    fn emit(&self, event: Event) {
        let queue = self.queue.clone();
        let unsent = self.unsent.clone();
        (self.spawn)(Box::pin(async move {
            match queue.send(&event).await {
                Ok(()) => {
                    tracing::debug!(event_id = %event.id, event = event.kind.as_str(), "webhook event queued");
                }
                Err(e) => {
                    let unsent = unsent.fetch_add(1, Ordering::Relaxed) + 1;
                    tracing::error!(event_id = %event.id, event = event.kind.as_str(), error = %e, unsent, "webhook event not queued: dropped");
                }
            }
        }));
    }
}
