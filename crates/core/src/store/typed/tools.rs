//! Settling and deduplicating write tools' records.
//!
//! A write tool is claimed before it runs: a `TOOL#<call id>` record whose result is
//! `"pending"` ([`ToolCallRecord::PENDING`]). If the tool never finishes (it timed out, the call
//! hung up, the process died), the record is settled as "outcome unknown" by whoever notices
//! ([`Store::settle_tool_call`], [`Store::settle_pending_tool_calls`]), and past
//! [`TOOL_PENDING_EXPIRY`] it reads as unknown anyway ([`Store::list_tool_calls`]).
//!
//! The same effect asked again under a new tool call id (the model retrying) is caught by an
//! effect marker: `EFFECT#<hash of the tool name and its canonical arguments>` in the
//! conversation's partition, claimed with a conditional put for [`TOOL_EFFECT_WINDOW`].

use std::time::Duration;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::{Created, Store, ToolCallRecord, from_map};
use crate::store::{Guard, Item, Keys, Page, PageRequest, PutMode, StoreError};

/// How long a write tool's record may stay pending before its outcome counts as unknown.
/// Longer than any tool is allowed to run (the stream host gives a tool 12 s, the SMS agent a
/// whole message 25 s), so a pending record this old belongs to a tool that will never finish.
pub const TOOL_PENDING_EXPIRY: Duration = Duration::from_secs(120);

/// How long a write tool's effect (its name and canonical arguments) is claimed within one
/// conversation: the same SMS, email or event asked again within it is answered with the
/// first outcome instead of being done twice.
pub const TOOL_EFFECT_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Field of an effect marker naming the tool call that claimed it.
const EFFECT_CALL_ID: &str = "call_id";

impl ToolCallRecord {
    /// The `result` of a write tool's record while the tool runs.
    pub const PENDING: &'static str = "pending";

    /// Whether the tool has not finished (or never will: see [`ToolCallRecord::is_stale`]).
    pub fn is_pending(&self) -> bool {
        self.result.as_str() == Some(Self::PENDING)
    }

    /// Whether the record is pending and older than [`TOOL_PENDING_EXPIRY`] at `now`: the
    /// tool can no longer finish, and its outcome is unknown.
    pub fn is_stale(&self, now: OffsetDateTime) -> bool {
        self.is_pending() && now - self.at >= TOOL_PENDING_EXPIRY
    }

    /// The result recorded for a tool whose outcome is unknown. It reads as an upstream
    /// failure, with `outcome: "unknown"`: the effect may or may not have happened.
    pub fn unknown_outcome(name: &str) -> Value {
        json!({
            "error": format!("the outcome of {name} is unknown: it did not finish (it timed out or the conversation ended). It may or may not have happened; check before doing it again."),
            "kind": "upstream",
            "outcome": "unknown",
        })
    }
}

/// Who holds a write tool's effect ([`Store::claim_tool_effect`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EffectClaim {
    /// This tool call claimed it: run the tool.
    Won,
    /// Another tool call of the conversation claimed it within the window.
    Taken {
        /// The tool call id that holds it.
        call_id: String,
    },
}

impl Store {
    /// One tool call record, if recorded.
    pub async fn get_tool_call(
        &self,
        owner_pk: &str,
        call_id: &str,
    ) -> Result<Option<ToolCallRecord>, StoreError> {
        match self
            .records
            .get(owner_pk, &Keys::tool(call_id), self.now())
            .await?
        {
            Some(item) => Ok(Some(from_map(item.data)?)),
            None => Ok(None),
        }
    }

    /// Tool calls recorded under `owner_pk`, in id order. A record pending for longer than
    /// [`TOOL_PENDING_EXPIRY`] reads as settled with [`ToolCallRecord::unknown_outcome`].
    pub async fn list_tool_calls(
        &self,
        owner_pk: &str,
        page: &PageRequest,
    ) -> Result<Page<ToolCallRecord>, StoreError> {
        let now = self.clock.now();
        let mut records: Page<ToolCallRecord> =
            self.query_typed(owner_pk, Keys::TOOL_PREFIX, page).await?;
        for record in &mut records.items {
            if record.is_stale(now) {
                record.result = ToolCallRecord::unknown_outcome(&record.name);
                record.is_error = true;
            }
        }
        Ok(records)
    }

    /// Settles a pending tool call with its outcome, once: the write is conditional on the
    /// record still being pending. [`Created::New`] when this write settled it;
    /// [`Created::Existing`] with the record when something else settled it first.
    pub async fn settle_tool_call(
        &self,
        owner_pk: &str,
        call_id: &str,
        result: Value,
        is_error: bool,
    ) -> Result<Created<ToolCallRecord>, StoreError> {
        let mut fields = Map::new();
        fields.insert("result".into(), result);
        fields.insert("is_error".into(), is_error.into());
        let guards = [Guard::Equals(
            "result".into(),
            Value::String(ToolCallRecord::PENDING.into()),
        )];
        match self
            .records
            .update(owner_pk, &Keys::tool(call_id), fields, &guards, self.now())
            .await
        {
            Ok(_) => Ok(Created::New),
            Err(StoreError::Conflict(_)) => self
                .get_tool_call(owner_pk, call_id)
                .await?
                .map(Created::Existing)
                .ok_or(StoreError::NotFound),
            Err(e) => Err(e),
        }
    }

    /// Settles every still-pending tool call of `owner_pk` as outcome unknown: for a
    /// conversation that has ended, where no tool can finish any more. Returns how many it
    /// settled.
    pub async fn settle_pending_tool_calls(&self, owner_pk: &str) -> Result<u64, StoreError> {
        let mut settled = 0;
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let records: Page<ToolCallRecord> =
                self.query_typed(owner_pk, Keys::TOOL_PREFIX, &page).await?;
            for record in records.items.iter().filter(|r| r.is_pending()) {
                let unknown = ToolCallRecord::unknown_outcome(&record.name);
                if let Created::New = self
                    .settle_tool_call(owner_pk, &record.call_id, unknown, true)
                    .await?
                {
                    settled += 1;
                }
            }
            match records.next {
                Some(next) => page.after = Some(next),
                None => return Ok(settled),
            }
        }
    }

    /// Claims a write tool's effect for `call_id` within `owner_pk`, for
    /// [`TOOL_EFFECT_WINDOW`]. A conditional put: of concurrent claims exactly one wins.
    /// `hash` identifies the effect (the dispatcher hashes the tool name and its canonical
    /// arguments).
    pub async fn claim_tool_effect(
        &self,
        owner_pk: &str,
        hash: &str,
        call_id: &str,
    ) -> Result<EffectClaim, StoreError> {
        let mut data = Map::new();
        data.insert(EFFECT_CALL_ID.into(), Value::String(call_id.into()));
        let item = Item {
            pk: owner_pk.into(),
            sk: Keys::tool_effect(hash),
            ttl: self.ttl(TOOL_EFFECT_WINDOW),
            data,
        };
        // Two rounds: a marker that expires between the failed put and the read is absent.
        for _ in 0..2 {
            match self
                .records
                .put(item.clone(), PutMode::IfAbsent, self.now())
                .await
            {
                Ok(()) => return Ok(EffectClaim::Won),
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
            let held = self
                .records
                .get(owner_pk, &Keys::tool_effect(hash), self.now())
                .await?;
            if let Some(held) = held {
                let call_id = held
                    .data
                    .get(EFFECT_CALL_ID)
                    .and_then(Value::as_str)
                    .ok_or_else(|| StoreError::Corrupt(format!("{}: no call id", held.sk)))?;
                return Ok(EffectClaim::Taken {
                    call_id: call_id.into(),
                });
            }
        }
        Err(StoreError::Conflict(format!(
            "effect {hash} is being claimed concurrently"
        )))
    }

    /// Moves an effect from `from_call_id` (whose tool failed, so nothing was done) to
    /// `call_id`, so a retry after a failure can do it. Conditional on the marker still naming
    /// `from_call_id`: of concurrent retries exactly one takes it over (`true`).
    pub async fn take_over_tool_effect(
        &self,
        owner_pk: &str,
        hash: &str,
        from_call_id: &str,
        call_id: &str,
    ) -> Result<bool, StoreError> {
        let mut fields = Map::new();
        fields.insert(EFFECT_CALL_ID.into(), Value::String(call_id.into()));
        let guards = [Guard::Equals(
            EFFECT_CALL_ID.into(),
            Value::String(from_call_id.into()),
        )];
        match self
            .records
            .update(
                owner_pk,
                &Keys::tool_effect(hash),
                fields,
                &guards,
                self.now(),
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(_) | StoreError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
