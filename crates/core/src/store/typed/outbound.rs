//! Outbound call requests (`OUTBOUND#<id>` / `META`), the retries waiting for their time
//! (`RETRIES` / `DUE#<at>#<id>`), and the outbound fields of call rows.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::{Created, Store, from_map, to_map, to_value};
use crate::call::CallSid;
use crate::outbound::{AnsweredBy, OutboundCall, OutboundId, OutboundOutcome};
use crate::store::{Guard, Item, Keys, PageRequest, PutMode, StoreError};

/// Optimistic-concurrency counter on a request row: every update is conditional on it.
const VERSION: &str = "version";
/// Rounds of read-modify-write before giving up on a contended request row.
const ROUNDS: usize = 8;

/// A retry whose time has come ([`Store::due_retries`]).
#[derive(Debug, Clone, PartialEq)]
pub struct DueRetry {
    /// The request to dial again.
    pub id: OutboundId,
    /// When it was due.
    pub at: OffsetDateTime,
}

impl Store {
    /// Records a new request once; a request with the same id (the same idempotency key) gets
    /// [`Created::Existing`] with the stored one, unchanged.
    pub async fn create_outbound(
        &self,
        call: &OutboundCall,
    ) -> Result<Created<OutboundCall>, StoreError> {
        let mut data = to_map(call)?;
        data.insert(VERSION.into(), 1.into());
        let item = Item {
            pk: Keys::outbound(&call.id),
            sk: Keys::META.into(),
            ttl: self.ttl(self.retention.calls),
            data,
        };
        match self.records.put(item, PutMode::IfAbsent, self.now()).await {
            Ok(()) => Ok(Created::New),
            Err(StoreError::Conflict(_)) => {
                Ok(Created::Existing(self.get_outbound(&call.id).await?))
            }
            Err(e) => Err(e),
        }
    }

    /// Reads a request.
    pub async fn get_outbound(&self, id: &OutboundId) -> Result<OutboundCall, StoreError> {
        let item = self
            .records
            .get(&Keys::outbound(id), Keys::META, self.now())
            .await?;
        from_map(item.ok_or(StoreError::NotFound)?.data)
    }

    /// Deletes a request (one refused after it was recorded).
    pub async fn delete_outbound(&self, id: &OutboundId) -> Result<(), StoreError> {
        self.records.delete(&Keys::outbound(id), Keys::META).await
    }

    /// Changes a request with `change`, atomically: read, change, write on the condition that
    /// nobody wrote in between (else read again). `change` returns `false` to write nothing.
    /// Returns the request as stored afterwards.
    pub async fn update_outbound(
        &self,
        id: &OutboundId,
        mut change: impl FnMut(&mut OutboundCall) -> bool,
    ) -> Result<OutboundCall, StoreError> {
        let pk = Keys::outbound(id);
        for _ in 0..ROUNDS {
            let item = self
                .records
                .get(&pk, Keys::META, self.now())
                .await?
                .ok_or(StoreError::NotFound)?;
            let version = item.data.get(VERSION).and_then(Value::as_u64).unwrap_or(0);
            let mut call: OutboundCall = from_map(item.data)?;
            if !change(&mut call) {
                return Ok(call);
            }
            let mut fields = to_map(&call)?;
            fields.insert(VERSION.into(), (version + 1).into());
            let guard = if version == 0 {
                Guard::Missing(VERSION.into())
            } else {
                Guard::Equals(VERSION.into(), version.into())
            };
            match self
                .records
                .update(&pk, Keys::META, fields, &[guard], self.now())
                .await
            {
                Ok(item) => return from_map(item.data),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Throttled(format!(
            "outbound request {id} is too contended"
        )))
    }

    /// Puts a request in the retry queue, due at `at`.
    pub async fn schedule_retry(
        &self,
        id: &OutboundId,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut data = Map::new();
        data.insert("id".into(), Value::String(id.to_string()));
        data.insert("at".into(), at.unix_timestamp().into());
        let item = Item {
            pk: Keys::RETRIES.into(),
            sk: Keys::retry_due(at, id),
            ttl: self.ttl(self.retention.calls),
            data,
        };
        self.records.put(item, PutMode::Overwrite, self.now()).await
    }

    /// The retries due at or before now, oldest first, at most `limit`.
    pub async fn due_retries(&self, limit: u32) -> Result<Vec<DueRetry>, StoreError> {
        let now = self.clock.now();
        let page = self
            .records
            .query(
                Keys::RETRIES,
                Keys::RETRY_PREFIX,
                &PageRequest::first(limit),
                self.now(),
            )
            .await?;
        let mut due = Vec::new();
        for item in page.items {
            let at = item.data.get("at").and_then(Value::as_i64);
            let id = item
                .data
                .get("id")
                .and_then(Value::as_str)
                .and_then(|s| OutboundId::parse(s).ok());
            let (Some(at), Some(id)) = (at, id) else {
                return Err(StoreError::Corrupt(format!("retry entry {}", item.sk)));
            };
            let at = OffsetDateTime::from_unix_timestamp(at)
                .map_err(|e| StoreError::Corrupt(format!("retry time: {e}")))?;
            if at > now {
                break;
            }
            due.push(DueRetry { id, at });
        }
        Ok(due)
    }

    /// Takes a retry out of the queue (it was dialled, or is no longer wanted).
    pub async fn remove_retry(&self, retry: &DueRetry) -> Result<(), StoreError> {
        self.records
            .delete(Keys::RETRIES, &Keys::retry_due(retry.at, &retry.id))
            .await
    }

    /// Records what answered an outbound call.
    pub async fn set_call_answered_by(
        &self,
        sid: &CallSid,
        answered_by: AnsweredBy,
    ) -> Result<crate::CallSession, StoreError> {
        let mut fields = Map::new();
        fields.insert("answered_by".into(), to_value(&answered_by)?);
        let item = self
            .records
            .update(&Keys::call(sid), Keys::META, fields, &[], self.now())
            .await?;
        from_map(item.data)
    }

    /// Records how an outbound call ended, once: the first outcome stays (the stream host's
    /// `voicemail_left` is not replaced by the `completed` callback that follows it).
    pub async fn set_call_outcome(
        &self,
        sid: &CallSid,
        outcome: OutboundOutcome,
    ) -> Result<Created<OutboundOutcome>, StoreError> {
        let mut fields = Map::new();
        fields.insert("outcome".into(), to_value(&outcome)?);
        let guards = [Guard::Missing("outcome".into())];
        match self
            .records
            .update(&Keys::call(sid), Keys::META, fields, &guards, self.now())
            .await
        {
            Ok(_) => Ok(Created::New),
            Err(StoreError::Conflict(_)) => {
                let call = self.get_call(sid).await?;
                call.outcome.map(Created::Existing).ok_or_else(|| {
                    StoreError::Corrupt(format!("{sid}: outcome guard failed but none is set"))
                })
            }
            Err(e) => Err(e),
        }
    }
}
