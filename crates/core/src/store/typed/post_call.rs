//! After the call: its analysis (`CALL#<sid>` / `ANALYSIS`) and the delivery records of the
//! webhooks sent about it, kept twice: in the `WEBHOOKS` partition for `GET
//! /webhooks/deliveries` (newest first), and under the call for its report.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Store, from_map};
use crate::analysis::CallAnalysis;
use crate::call::CallSid;
use crate::events::EventType;
use crate::store::{Keys, Page, PageRequest, PutMode, StoreError};

/// Where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not yet accepted; more attempts are scheduled.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed; `last_error` says how the last one did.
    Failed,
}

/// One event sent to one URL, with its attempts so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookDelivery {
    /// The event's id (`webhook-id`), the same on every attempt.
    pub id: String,
    /// The event's type.
    pub event: EventType,
    /// The receiver, without its query string (which may carry a token).
    pub url: String,
    /// Requests made so far.
    pub attempts: u32,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// How the last failed attempt failed (an HTTP status or a transport error).
    pub last_error: Option<String>,
    /// When the last attempt was made.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_attempt_at: Option<OffsetDateTime>,
    /// The call the event concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_sid: Option<CallSid>,
    /// When the event was queued (orders the list).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Which configured URL (its position in `WEBHOOK_URLS`): one event has one record per URL.
    pub url_index: u32,
}

impl WebhookDelivery {
    fn sort_key(&self, prefix: &str) -> String {
        Self::key(prefix, self.created_at, &self.id, self.url_index)
    }

    fn key(prefix: &str, created_at: OffsetDateTime, id: &str, url_index: u32) -> String {
        format!(
            "{prefix}{:020}#{id}#{url_index}",
            created_at.unix_timestamp_nanos()
        )
    }
}

impl Store {
    /// Stores (or replaces, when re-run) the call's analysis.
    pub async fn save_analysis(
        &self,
        sid: &CallSid,
        analysis: &CallAnalysis,
    ) -> Result<(), StoreError> {
        self.put_value(
            &Keys::call(sid),
            Keys::ANALYSIS,
            analysis,
            self.retention.calls,
            PutMode::Overwrite,
        )
        .await
    }

    /// The call's analysis, if one was stored.
    pub async fn get_analysis(&self, sid: &CallSid) -> Result<Option<CallAnalysis>, StoreError> {
        match self
            .records
            .get(&Keys::call(sid), Keys::ANALYSIS, self.now())
            .await?
        {
            Some(item) => Ok(Some(from_map(item.data)?)),
            None => Ok(None),
        }
    }

    /// Writes a delivery's current state, in the deliveries list and under its call.
    pub async fn save_webhook_delivery(&self, d: &WebhookDelivery) -> Result<(), StoreError> {
        let keep = self.retention.calls;
        self.put_value(
            Keys::WEBHOOKS,
            &d.sort_key(Keys::DELIVERY_PREFIX),
            d,
            keep,
            PutMode::Overwrite,
        )
        .await?;
        if let Some(sid) = &d.call_sid {
            self.put_value(
                &Keys::call(sid),
                &d.sort_key(Keys::WEBHOOK_PREFIX),
                d,
                keep,
                PutMode::Overwrite,
            )
            .await?;
        }
        Ok(())
    }

    /// One delivery record, by the event's id, the record's `created_at` and the URL's index
    /// (the queue's delivery function reads it back on each receive: a URL already delivered
    /// is not sent to again).
    pub async fn get_webhook_delivery(
        &self,
        id: &str,
        created_at: OffsetDateTime,
        url_index: u32,
    ) -> Result<Option<WebhookDelivery>, StoreError> {
        let key = WebhookDelivery::key(Keys::DELIVERY_PREFIX, created_at, id, url_index);
        match self.records.get(Keys::WEBHOOKS, &key, self.now()).await? {
            Some(item) => Ok(Some(from_map(item.data)?)),
            None => Ok(None),
        }
    }

    /// Deliveries of every event, newest first.
    pub async fn list_webhook_deliveries(
        &self,
        page: &PageRequest,
    ) -> Result<Page<WebhookDelivery>, StoreError> {
        self.query_typed(Keys::WEBHOOKS, Keys::DELIVERY_PREFIX, page)
            .await
    }

    /// Deliveries of one call's events, oldest first.
    pub async fn list_call_webhook_deliveries(
        &self,
        sid: &CallSid,
        page: &PageRequest,
    ) -> Result<Page<WebhookDelivery>, StoreError> {
        self.query_typed(&Keys::call(sid), Keys::WEBHOOK_PREFIX, page)
            .await
    }
}
