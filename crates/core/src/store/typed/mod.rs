//! The typed store: domain operations expressed once over [`Records`]. Call rows are in
//! `calls`, caller memory in `memory`, "forget me" in `forget`, settling and deduplicating tool
//! calls in `tools`, guests' daily counters in `quota`, reminders in `reminders`; transcripts, tool call records, idempotency keys and SMS opt-out are here.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};
use time::OffsetDateTime;

mod calls;
mod forget;
mod latency;
mod memory;
mod outbound;
mod post_call;
mod quota;
mod reminders;
mod tools;

pub use calls::PinAttempt;
pub use outbound::DueRetry;
pub use post_call::{DeliveryStatus, WebhookDelivery};
pub use reminders::ReminderClaim;
pub use tools::{EffectClaim, TOOL_EFFECT_WINDOW, TOOL_PENDING_EXPIRY};

use super::{Item, Keys, Page, PageRequest, PutMode, Records, StoreError};
use crate::call::CallSid;
use crate::clock::Clock;
use crate::phone::PhoneNumber;
use crate::transcript::Turn;

/// How long each kind of data is kept before its `ttl` expires it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Call rows, turns and tool calls.
    pub calls: Duration,
    /// Caller memory and notes.
    pub memory: Duration,
    /// SMS history.
    pub sms: Duration,
    /// Webhook idempotency markers (Twilio retries within minutes; a day is ample).
    pub idempotency: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        const DAY: u64 = 24 * 3600;
        Self {
            calls: Duration::from_secs(90 * DAY),
            memory: Duration::from_secs(365 * DAY),
            sms: Duration::from_secs(90 * DAY),
            idempotency: Duration::from_secs(DAY),
        }
    }
}

/// Whether a create-once write made something new.
#[derive(Debug, Clone, PartialEq)]
pub enum Created<T> {
    /// This write created it.
    New,
    /// It already existed; here it is, unchanged.
    Existing(T),
}

/// A tool the assistant ran (`CALL#<sid>` / `TOOL#<call_id>`); written once per tool call id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ToolCallRecord {
    /// The model's id for this tool call.
    pub call_id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments as the model gave them.
    pub arguments: Value,
    /// What the tool returned to the model.
    pub result: Value,
    /// Whether the tool failed (its `result` then explains why).
    pub is_error: bool,
    /// How long it took.
    pub latency_ms: u64,
    /// When it ran.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Typed access to the table for every part of the system.
#[derive(Clone)]
pub struct Store {
    records: Arc<dyn Records>,
    clock: Arc<dyn Clock>,
    retention: Retention,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("records", &self.records.describe())
            .finish()
    }
}

impl Store {
    /// Wraps a [`Records`] adapter.
    pub fn new(records: Arc<dyn Records>, clock: Arc<dyn Clock>, retention: Retention) -> Self {
        Self {
            records,
            clock,
            retention,
        }
    }

    /// The underlying adapter, for health checks and tests.
    pub fn records(&self) -> &Arc<dyn Records> {
        &self.records
    }

    /// The clock this store stamps and expires with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    fn ttl(&self, keep: Duration) -> i64 {
        self.now()
            .saturating_add(i64::try_from(keep.as_secs()).unwrap_or(i64::MAX))
    }

    // ---- transcript ----

    /// Appends a turn; writing the same `seq` twice is a [`StoreError::Conflict`].
    pub async fn append_turn(&self, sid: &CallSid, turn: &Turn) -> Result<(), StoreError> {
        let item = Item {
            pk: Keys::call(sid),
            sk: Keys::turn(turn.seq),
            ttl: self.ttl(self.retention.calls),
            data: to_map(turn)?,
        };
        self.records.put(item, PutMode::IfAbsent, self.now()).await
    }

    /// Reads a call's turns in order.
    pub async fn list_turns(
        &self,
        sid: &CallSid,
        page: &PageRequest,
    ) -> Result<Page<Turn>, StoreError> {
        self.query_typed(&Keys::call(sid), Keys::TURN_PREFIX, page)
            .await
    }

    // ---- tool calls ----

    /// Records a tool call once per `(owner, call_id)`. A repeat (a model retry, a replay) gets
    /// [`Created::Existing`] with the first result, so the caller can return it instead of
    /// running the tool again.
    pub async fn record_tool_call(
        &self,
        owner_pk: &str,
        record: &ToolCallRecord,
    ) -> Result<Created<ToolCallRecord>, StoreError> {
        let item = Item {
            pk: owner_pk.into(),
            sk: Keys::tool(&record.call_id),
            ttl: self.ttl(self.retention.calls),
            data: to_map(record)?,
        };
        match self.records.put(item, PutMode::IfAbsent, self.now()).await {
            Ok(()) => Ok(Created::New),
            Err(StoreError::Conflict(_)) => {
                let existing = self
                    .records
                    .get(owner_pk, &Keys::tool(&record.call_id), self.now())
                    .await?;
                Ok(Created::Existing(from_map(
                    existing.ok_or(StoreError::NotFound)?.data,
                )?))
            }
            Err(e) => Err(e),
        }
    }

    // ---- idempotency ----

    /// Claims a webhook idempotency key (e.g. a MessageSid). `true` the first time, `false`
    /// for every repeat until the marker expires.
    pub async fn claim_idempotency_key(&self, key: &str) -> Result<bool, StoreError> {
        let item = Item {
            pk: Keys::idempotency(key),
            sk: Keys::IDEMPOTENCY.into(),
            ttl: self.ttl(self.retention.idempotency),
            data: Map::new(),
        };
        match self.records.put(item, PutMode::IfAbsent, self.now()).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Claims `key` until `expires_at` (epoch seconds) instead of for the idempotency retention:
    /// for a token that is valid only until then, so its marker lives exactly as long as a
    /// replay could be accepted. `true` the first time, `false` for every repeat.
    pub async fn claim_key_until(&self, key: &str, expires_at: i64) -> Result<bool, StoreError> {
        let item = Item {
            pk: Keys::idempotency(key),
            sk: Keys::IDEMPOTENCY.into(),
            ttl: expires_at,
            data: Map::new(),
        };
        match self.records.put(item, PutMode::IfAbsent, self.now()).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Gives up a claim taken with [`Store::claim_idempotency_key`], so that a retry of the
    /// same request is processed instead of being ignored: for work that failed after the claim.
    pub async fn release_idempotency_key(&self, key: &str) -> Result<(), StoreError> {
        self.records
            .delete(&Keys::idempotency(key), Keys::IDEMPOTENCY)
            .await
    }

    // ---- SMS opt-out ----

    /// Records a STOP (`true`) or START (`false`) from `number`. Opt-outs are compliance
    /// records, kept for the memory retention period and not erased by "forget me".
    pub async fn set_sms_opt_out(
        &self,
        number: &PhoneNumber,
        opted_out: bool,
    ) -> Result<(), StoreError> {
        if !opted_out {
            return self
                .records
                .delete(&Keys::opt_out(number), Keys::META)
                .await;
        }
        let mut data = Map::new();
        data.insert("at".into(), self.now().into());
        let item = Item {
            pk: Keys::opt_out(number),
            sk: Keys::META.into(),
            ttl: self.ttl(self.retention.memory),
            data,
        };
        self.records.put(item, PutMode::Overwrite, self.now()).await
    }

    /// Whether `number` has opted out of SMS.
    pub async fn is_sms_opted_out(&self, number: &PhoneNumber) -> Result<bool, StoreError> {
        Ok(self
            .records
            .get(&Keys::opt_out(number), Keys::META, self.now())
            .await?
            .is_some())
    }

    // ---- helpers ----

    async fn query_typed<T: DeserializeOwned>(
        &self,
        pk: &str,
        prefix: &str,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        let raw = self.records.query(pk, prefix, page, self.now()).await?;
        let items = raw
            .items
            .into_iter()
            .map(|i| from_map(i.data))
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            next: raw.next,
        })
    }

    /// Writes an arbitrary typed item under the given keys; for adapters of other ports
    /// (the local calendar, outboxes, SMS history) that keep their data in the same table.
    pub async fn put_value<T: Serialize>(
        &self,
        pk: &str,
        sk: &str,
        value: &T,
        keep: Duration,
        mode: PutMode,
    ) -> Result<(), StoreError> {
        let item = Item {
            pk: pk.into(),
            sk: sk.into(),
            ttl: self.ttl(keep),
            data: to_map(value)?,
        };
        self.records.put(item, mode, self.now()).await
    }

    /// Reads an arbitrary typed item.
    pub async fn get_value<T: DeserializeOwned>(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<T, StoreError> {
        let item = self.records.get(pk, sk, self.now()).await?;
        from_map(item.ok_or(StoreError::NotFound)?.data)
    }

    /// Queries arbitrary typed items by sort-key prefix.
    pub async fn query_values<T: DeserializeOwned>(
        &self,
        pk: &str,
        prefix: &str,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        self.query_typed(pk, prefix, page).await
    }

    /// Deletes one item.
    pub async fn delete_value(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.records.delete(pk, sk).await
    }

    /// The retention policy in force.
    pub fn retention(&self) -> Retention {
        self.retention
    }
}

fn rfc3339(at: OffsetDateTime) -> Result<String, StoreError> {
    at.format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| StoreError::Invalid(format!("timestamp: {e}")))
}

fn to_value<T: Serialize>(value: &T) -> Result<Value, StoreError> {
    serde_json::to_value(value).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn to_map<T: Serialize>(value: &T) -> Result<Map<String, Value>, StoreError> {
    match to_value(value)? {
        Value::Object(map) => Ok(map),
        other => Err(StoreError::Invalid(format!(
            "expected an object, got {other}"
        ))),
    }
}

fn from_map<T: DeserializeOwned>(map: Map<String, Value>) -> Result<T, StoreError> {
    serde_json::from_value(Value::Object(map)).map_err(|e| StoreError::Corrupt(e.to_string()))
}
