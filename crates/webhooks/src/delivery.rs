//! Delivering one event to every configured URL: a signed POST per attempt, the same
//! `webhook-id` on every retry (a fresh timestamp and signature each time), backoff between
//! attempts, a timeout on every request, and the delivery's state stored after each attempt.

use std::time::Duration;

use phone_core::Store;
use phone_core::events::Event;
use phone_core::store::{DeliveryStatus, WebhookDelivery};

use crate::signing::WebhookSecret;

/// Deadline of one request (connect, send, answer).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest error text kept on a delivery record.
const MAX_ERROR_CHARS: usize = 300;

/// The waits before each retry: the first attempt is immediate, then one retry per entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<Duration>);

impl Default for RetrySchedule {
    /// 5 s, 30 s, 2 min: four attempts within about 3 minutes.
    fn default() -> Self {
        Self(vec![
            Duration::from_secs(5),
            Duration::from_secs(30),
            Duration::from_secs(120),
        ])
    }
}

impl RetrySchedule {
    /// Attempts in all.
    pub fn attempts(&self) -> u32 {
        self.0.len() as u32 + 1
    }
}

/// Delivers events to the configured URLs.
#[derive(Debug, Clone)]
pub struct Deliverer {
    http: reqwest::Client,
    urls: Vec<String>,
    secret: WebhookSecret,
    store: Store,
    schedule: RetrySchedule,
}

/// The URLs (as shown: no query or credentials) an attempt did not deliver to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("undelivered to {}", .0.join(", "))]
pub struct Undelivered(pub Vec<String>);

/// Why a deliverer could not be built.
#[derive(Debug, thiserror::Error)]
#[error("webhook HTTP client: {0}")]
pub struct ClientError(String);

impl Deliverer {
    /// Sends to `urls` signed with `secret`, recording in `store`, retrying per `schedule`.
    pub fn new(
        urls: Vec<String>,
        secret: WebhookSecret,
        store: Store,
        schedule: RetrySchedule,
    ) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            // A redirect is not an answer: the receiver is the URL configured, nothing else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientError(e.to_string()))?;
        Ok(Self {
            http,
            urls,
            secret,
            store,
            schedule,
        })
    }

    /// Delivers `event` to every URL concurrently; returns when each has succeeded or used
    /// all its attempts.
    pub async fn deliver(&self, event: &Event) {
        let body = match serde_json::to_vec(&event.payload()) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(event_id = %event.id, error = %e, "webhook body not serialisable");
                return;
            }
        };
        let created_at = self.store.clock().now();
        let sends = self.urls.iter().enumerate().map(|(index, url)| {
            let record = WebhookDelivery {
                id: event.id.clone(),
                event: event.kind,
                url: shown_url(url),
                attempts: 0,
                status: DeliveryStatus::Pending,
                last_error: None,
                last_attempt_at: None,
                call_sid: event.call_sid.clone(),
                created_at,
                url_index: index as u32,
            };
            self.deliver_to(url, record, &body)
        });
        // Each URL retries on its own schedule; a dead one does not hold up the others.
        futures_util::future::join_all(sends).await;
    }

    async fn deliver_to(&self, url: &str, mut record: WebhookDelivery, body: &[u8]) {
        self.save(&record).await;
        let attempts = self.schedule.attempts();
        for attempt in 1..=attempts {
            if self
                .attempt_once(url, &mut record, attempt, attempts, body)
                .await
            {
                return;
            }
            if let Some(wait) = self.schedule.0.get(attempt as usize - 1) {
                tokio::time::sleep(*wait).await;
            }
        }
        tracing::error!(event_id = %record.id, event = record.event.as_str(), url = %record.url, attempts, "webhook undelivered after every attempt");
    }

    /// One attempt of `event` to every URL not yet delivered, for a queue that redelivers
    /// (the AWS delivery function: the queue's redelivery is the retry, under the same id).
    /// `attempt` is this receive's number (1 for the first) and `attempts` the most there will
    /// be: a failure at the last one is recorded `failed`, earlier ones `pending`. The records
    /// are keyed by the event's own timestamp, so every receive updates the same record, and a
    /// URL whose record says `delivered` (a duplicate receive, or another URL failing) is not
    /// sent again. `Err` lists the URLs (as shown) still undelivered.
    pub async fn attempt(
        &self,
        event: &Event,
        attempt: u32,
        attempts: u32,
    ) -> Result<(), Undelivered> {
        let body = serde_json::to_vec(&event.payload())
            .map_err(|e| Undelivered(vec![format!("body not serialisable: {e}")]))?;
        let sends = self.urls.iter().enumerate().map(|(index, url)| {
            let body = &body;
            async move {
                let index = index as u32;
                let known = self
                    .store
                    .get_webhook_delivery(&event.id, event.timestamp, index)
                    .await
                    .unwrap_or_else(|e| {
                        tracing::warn!(event_id = %event.id, error = %e, "webhook delivery record not read");
                        None
                    });
                let mut record = match known {
                    Some(r) if r.status == DeliveryStatus::Delivered => return Ok(()),
                    Some(r) => r,
                    None => WebhookDelivery {
                        id: event.id.clone(),
                        event: event.kind,
                        url: shown_url(url),
                        attempts: 0,
                        status: DeliveryStatus::Pending,
                        last_error: None,
                        last_attempt_at: None,
                        call_sid: event.call_sid.clone(),
                        created_at: event.timestamp,
                        url_index: index,
                    },
                };
                // The queue's receive count is approximate; never count backwards.
                let attempt = attempt.max(record.attempts + 1);
                if self.attempt_once(url, &mut record, attempt, attempts, body).await {
                    Ok(())
                } else {
                    Err(record.url)
                }
            }
        });
        let failed: Vec<String> = futures_util::future::join_all(sends)
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Undelivered(failed))
        }
    }

    /// Attempt number `attempt` of `attempts` to `url`, recorded; `true` once delivered.
    async fn attempt_once(
        &self,
        url: &str,
        record: &mut WebhookDelivery,
        attempt: u32,
        attempts: u32,
        body: &[u8],
    ) -> bool {
        let now = self.store.clock().now();
        record.attempts = attempt;
        record.last_attempt_at = Some(now);
        let delivered = match self.post(url, &record.id, now.unix_timestamp(), body).await {
            Ok(()) => {
                record.status = DeliveryStatus::Delivered;
                tracing::info!(event_id = %record.id, event = record.event.as_str(), attempt, "webhook delivered");
                true
            }
            Err(why) => {
                tracing::warn!(event_id = %record.id, event = record.event.as_str(), url = %record.url, attempt, error = %why, "webhook attempt failed");
                record.last_error = Some(why);
                if attempt >= attempts {
                    record.status = DeliveryStatus::Failed;
                }
                false
            }
        };
        self.save(record).await;
        delivered
    }

    /// One signed POST; `Err` says how it failed (never includes the secret or the URL's query).
    async fn post(&self, url: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<(), String> {
        let signature = self.secret.sign(id, timestamp, body);
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    format!("timed out after {} s", REQUEST_TIMEOUT.as_secs())
                } else {
                    e.without_url().to_string()
                }
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text: String = response
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(MAX_ERROR_CHARS)
            .collect();
        Err(format!("HTTP {}: {text}", status.as_u16())
            .trim_end_matches(": ")
            .to_owned())
    }

    async fn save(&self, record: &WebhookDelivery) {
        if let Err(e) = self.store.save_webhook_delivery(record).await {
            tracing::warn!(event_id = %record.id, error = %e, "webhook delivery record not stored");
        }
    }
}

/// The URL as recorded and logged: scheme, host, port and path, without credentials, query or
/// fragment (which may carry a token).
pub fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            u.set_fragment(None);
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => "(invalid URL)".into(),
    }
}
