//! Guests' daily counters (`QUOTA#<identity>` / `DAY#<yyyy-mm-dd>#<kind>`), raised with a
//! compare-and-set so that concurrent requests cannot pass the limit.

use std::time::Duration;

use serde_json::{Map, Value};

use super::Store;
use crate::call::CallSid;
use crate::quota::{QuotaKind, QuotaTake};
use crate::store::{Guard, Item, Keys, PutMode, StoreError};

/// The counter's field.
const COUNT: &str = "count";
/// On a call row: its seconds were added to the caller's [`QuotaKind::CallSeconds`].
const SECONDS_COUNTED: &str = "quota_seconds_counted";
/// A counter outlives its UTC day by a couple of days, then expires.
const KEEP: Duration = Duration::from_secs(3 * 24 * 3600);
/// Compare-and-set rounds before giving up: each lost round means another request counted, so
/// this many in a row is a flood, and refusing it with a retryable error is right.
const ROUNDS: usize = 16;

impl Store {
    /// Counts `amount` of `kind` for `identity` today (UTC), only if today's total stays at or
    /// below `limit`; past it nothing is counted and the answer is [`QuotaTake::Refused`].
    /// Atomic: a conditional create, then conditional updates on the previous total.
    pub async fn take_quota(
        &self,
        identity: &str,
        kind: QuotaKind,
        amount: u64,
        limit: u64,
    ) -> Result<QuotaTake, StoreError> {
        let pk = Keys::quota(identity);
        for _ in 0..ROUNDS {
            let now = self.now();
            let sk = Keys::quota_day(self.clock.now().date(), kind);
            let current = self.records.get(&pk, &sk, now).await?;
            let used = match &current {
                None => 0,
                Some(item) => count_of(item)?,
            };
            let total = used.saturating_add(amount);
            if total > limit {
                return Ok(QuotaTake::Refused { used });
            }
            let mut fields = Map::new();
            fields.insert(COUNT.into(), total.into());
            let written = match current {
                None => {
                    let item = Item {
                        pk: pk.clone(),
                        sk,
                        ttl: self.ttl(KEEP),
                        data: fields,
                    };
                    self.records.put(item, PutMode::IfAbsent, now).await
                }
                Some(_) => {
                    let guards = [Guard::Equals(COUNT.into(), used.into())];
                    self.records
                        .update(&pk, &sk, fields, &guards, now)
                        .await
                        .map(|_| ())
                }
            };
            match written {
                Ok(()) => return Ok(QuotaTake::Taken { used: total }),
                // Another request counted (or the item expired) in between: read again.
                Err(StoreError::Conflict(_) | StoreError::NotFound) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Throttled(format!(
            "quota counter {pk} is too contended"
        )))
    }

    /// Today's (UTC) total of `kind` for `identity`.
    pub async fn quota_used(&self, identity: &str, kind: QuotaKind) -> Result<u64, StoreError> {
        let sk = Keys::quota_day(self.clock.now().date(), kind);
        match self
            .records
            .get(&Keys::quota(identity), &sk, self.now())
            .await?
        {
            Some(item) => count_of(&item),
            None => Ok(0),
        }
    }

    /// Sets a call's own longest duration ([`crate::CallSession::max_call_secs`]) on its row,
    /// for a call whose limits are decided after the row was written (the PIN step).
    pub async fn set_call_max_secs(&self, sid: &CallSid, secs: u32) -> Result<(), StoreError> {
        let mut fields = Map::new();
        fields.insert("max_call_secs".into(), secs.into());
        self.records
            .update(&Keys::call(sid), Keys::META, fields, &[], self.now())
            .await
            .map(|_| ())
    }

    /// Marks a call's duration as counted in its caller's quota, once: `true` the first time,
    /// `false` after (Twilio may deliver the `completed` callback more than once).
    pub async fn claim_call_seconds(&self, sid: &CallSid) -> Result<bool, StoreError> {
        let mut fields = Map::new();
        fields.insert(SECONDS_COUNTED.into(), Value::Bool(true));
        let guards = [Guard::Missing(SECONDS_COUNTED.into())];
        match self
            .records
            .update(&Keys::call(sid), Keys::META, fields, &guards, self.now())
            .await
        {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

fn count_of(item: &Item) -> Result<u64, StoreError> {
    item.data.get(COUNT).and_then(Value::as_u64).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "{} / {}: counter without a count",
            item.pk, item.sk
        ))
    })
}
