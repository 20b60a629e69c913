//! Call rows: created once per CallSid, single-use stream tokens, status, outcome, how the
//! stream ended.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::{Created, Store, from_map, rfc3339, to_map, to_value};
use crate::access::{AccessLevel, MAX_PIN_ATTEMPTS};
use crate::call::{CallSession, CallSid, CallStats, CallStatus, StreamEnd};
use crate::store::{Guard, Item, Keys, Page, PageRequest, PutMode, StoreError};
use crate::usage::{Cost, Usage};

/// Field names inside a call row that are not part of [`CallSession`].
mod call_fields {
    pub const TOKEN_HASH: &str = "stream_token_hash";
    pub const TOKEN_EXPIRES: &str = "stream_token_expires_at";
    pub const TOKEN_USED: &str = "stream_token_used_at";
    /// Present only on a call that was asked for the owner PIN: wrong attempts so far.
    pub const PIN_ATTEMPTS: &str = "pin_attempts";
    /// [`CallSession::stream_end`](crate::CallSession::stream_end).
    pub const STREAM_END: &str = "stream_end";
    /// [`CallSession::verified_caller`](crate::CallSession::verified_caller).
    pub const VERIFIED_CALLER: &str = "verified_caller";
}

/// What one PIN attempt did to a call ([`Store::settle_pin_attempt`]).
#[derive(Debug, Clone, PartialEq)]
pub enum PinAttempt {
    /// The PIN was right: the call row now says owner.
    Accepted(Box<CallSession>),
    /// Wrong; `attempts` wrong ones so far, fewer than the limit.
    Rejected {
        /// Wrong attempts so far.
        attempts: u32,
    },
    /// Wrong too many times (or already exhausted): the call stays a guest.
    Exhausted,
    /// This call was never asked for a PIN, or its stream already started: nothing changes.
    NotAsked,
}

impl Store {
    /// Creates the call row once. A repeated webhook for the same CallSid gets
    /// [`Created::Existing`] and changes nothing. The stream token is stored only as its hash.
    /// A caller with a number also gets a pointer row (`CALLER#<number>` / `CALL#<sid>`) so
    /// that [`Store::forget_caller`] finds the call.
    pub async fn create_call(
        &self,
        call: &CallSession,
        stream_token_hash: &str,
        token_expires_at: OffsetDateTime,
    ) -> Result<Created<CallSession>, StoreError> {
        self.create_call_with(call, stream_token_hash, token_expires_at, Map::new())
            .await
    }

    /// [`Store::create_call`] for a call that will be asked for the owner PIN before its
    /// stream connects: the row counts the attempts ([`Store::settle_pin_attempt`]).
    pub async fn create_call_awaiting_pin(
        &self,
        call: &CallSession,
        stream_token_hash: &str,
        token_expires_at: OffsetDateTime,
    ) -> Result<Created<CallSession>, StoreError> {
        let mut extra = Map::new();
        extra.insert(call_fields::PIN_ATTEMPTS.into(), 0.into());
        self.create_call_with(call, stream_token_hash, token_expires_at, extra)
            .await
    }

    async fn create_call_with(
        &self,
        call: &CallSession,
        stream_token_hash: &str,
        token_expires_at: OffsetDateTime,
        extra: Map<String, Value>,
    ) -> Result<Created<CallSession>, StoreError> {
        let mut data = to_map(call)?;
        data.extend(extra);
        data.insert(
            call_fields::TOKEN_HASH.into(),
            Value::String(stream_token_hash.into()),
        );
        data.insert(
            call_fields::TOKEN_EXPIRES.into(),
            token_expires_at.unix_timestamp().into(),
        );
        if let Some(from) = &call.from {
            // The pointer first: a pointer to a call row that was never written erases
            // nothing, but a call row without its pointer would escape "forget me".
            let mut pointer = Map::new();
            pointer.insert("call_sid".into(), Value::String(call.call_sid.to_string()));
            let item = Item {
                pk: Keys::caller(from),
                sk: Keys::call_pointer(&call.call_sid),
                ttl: self.ttl(self.retention.calls),
                data: pointer,
            };
            self.records
                .put(item, PutMode::Overwrite, self.now())
                .await?;
        }
        let item = Item {
            pk: Keys::call(&call.call_sid),
            sk: Keys::META.into(),
            ttl: self.ttl(self.retention.calls),
            data,
        };
        match self.records.put(item, PutMode::IfAbsent, self.now()).await {
            Ok(()) => {
                // Indexed only once the row is new: a retried webhook (a later `started_at`)
                // must not list the call twice. The row holds the sid alone, no caller data.
                let mut index = Map::new();
                index.insert("call_sid".into(), Value::String(call.call_sid.to_string()));
                let item = Item {
                    pk: Keys::CALL_INDEX.into(),
                    sk: Keys::call_index(call.started_at, &call.call_sid),
                    ttl: self.ttl(self.retention.calls),
                    data: index,
                };
                self.records
                    .put(item, PutMode::Overwrite, self.now())
                    .await?;
                Ok(Created::New)
            }
            Err(StoreError::Conflict(_)) => {
                Ok(Created::Existing(self.get_call(&call.call_sid).await?))
            }
            Err(e) => Err(e),
        }
    }

    /// Recent calls, newest first, through the recent-calls index. `page.after` is a cursor
    /// from a previous page ([`Keys::call_index`] shape). A call erased since it was indexed
    /// ("forget me") is skipped, so a page may hold fewer calls than asked for while `next`
    /// still says more may follow.
    pub async fn list_recent_calls(
        &self,
        page: &PageRequest,
    ) -> Result<Page<CallSession>, StoreError> {
        let index = self
            .records
            .query(Keys::CALL_INDEX, "", page, self.now())
            .await?;
        let mut calls = Vec::with_capacity(index.items.len());
        for row in index.items {
            let Some(sid) = row
                .data
                .get("call_sid")
                .and_then(Value::as_str)
                .and_then(|s| CallSid::parse(s).ok())
            else {
                return Err(StoreError::Corrupt(format!(
                    "call index row {} has no call_sid",
                    row.sk
                )));
            };
            match self.get_call(&sid).await {
                Ok(call) => calls.push(call),
                Err(StoreError::NotFound) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(Page {
            items: calls,
            next: index.next,
        })
    }

    /// Reads a call row.
    pub async fn get_call(&self, sid: &CallSid) -> Result<CallSession, StoreError> {
        let item = self
            .records
            .get(&Keys::call(sid), Keys::META, self.now())
            .await?;
        from_map(item.ok_or(StoreError::NotFound)?.data)
    }

    /// Replaces the stream token of a call whose token has not been used yet: a retried voice
    /// webhook hands Twilio new TwiML, so the token in it must become the valid one.
    /// A used token is [`StoreError::Conflict`] (the stream already connected).
    pub async fn rotate_stream_token(
        &self,
        sid: &CallSid,
        stream_token_hash: &str,
        token_expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut fields = Map::new();
        fields.insert(
            call_fields::TOKEN_HASH.into(),
            Value::String(stream_token_hash.into()),
        );
        fields.insert(
            call_fields::TOKEN_EXPIRES.into(),
            token_expires_at.unix_timestamp().into(),
        );
        let guards = [Guard::Missing(call_fields::TOKEN_USED.into())];
        self.records
            .update(&Keys::call(sid), Keys::META, fields, &guards, self.now())
            .await?;
        Ok(())
    }

    /// Uses the call's stream token: succeeds once, only with the right hash, before expiry.
    /// A wrong, reused or expired token is [`StoreError::Conflict`]; an unknown call is
    /// [`StoreError::NotFound`].
    pub async fn consume_stream_token(
        &self,
        sid: &CallSid,
        token_hash: &str,
    ) -> Result<CallSession, StoreError> {
        let now = self.now();
        let mut fields = Map::new();
        fields.insert(call_fields::TOKEN_USED.into(), now.into());
        let guards = [
            Guard::Equals(
                call_fields::TOKEN_HASH.into(),
                Value::String(token_hash.into()),
            ),
            Guard::Missing(call_fields::TOKEN_USED.into()),
            Guard::GreaterThan(call_fields::TOKEN_EXPIRES.into(), now),
        ];
        let item = self
            .records
            .update(&Keys::call(sid), Keys::META, fields, &guards, now)
            .await?;
        from_map(item.data)
    }

    /// Records one owner-PIN attempt on a call that was asked for it. `right` is the result of
    /// the constant-time comparison ([`crate::access::pin_matches`]). A right PIN turns the
    /// call into an owner call, only while its stream has not started (the stream host reads
    /// the access level once, when it consumes the token). Each attempt is a conditional write
    /// on the attempt count, so concurrent attempts cannot exceed the limit.
    pub async fn settle_pin_attempt(
        &self,
        sid: &CallSid,
        right: bool,
    ) -> Result<PinAttempt, StoreError> {
        let item = self
            .records
            .get(&Keys::call(sid), Keys::META, self.now())
            .await?
            .ok_or(StoreError::NotFound)?;
        let Some(attempts) = item
            .data
            .get(call_fields::PIN_ATTEMPTS)
            .and_then(Value::as_u64)
        else {
            return Ok(PinAttempt::NotAsked);
        };
        if item.data.contains_key(call_fields::TOKEN_USED) {
            return Ok(PinAttempt::NotAsked);
        }
        if attempts >= u64::from(MAX_PIN_ATTEMPTS) {
            return Ok(PinAttempt::Exhausted);
        }
        let mut fields = Map::new();
        let guards = [
            Guard::Equals(call_fields::PIN_ATTEMPTS.into(), attempts.into()),
            Guard::Missing(call_fields::TOKEN_USED.into()),
        ];
        if right {
            fields.insert("access".into(), to_value(&AccessLevel::Owner)?);
            // The PIN proves the caller: their memory may be read and written.
            fields.insert(call_fields::VERIFIED_CALLER.into(), true.into());
            let item = self
                .records
                .update(&Keys::call(sid), Keys::META, fields, &guards, self.now())
                .await?;
            return Ok(PinAttempt::Accepted(Box::new(from_map(item.data)?)));
        }
        let wrong = attempts + 1;
        fields.insert(call_fields::PIN_ATTEMPTS.into(), wrong.into());
        self.records
            .update(&Keys::call(sid), Keys::META, fields, &guards, self.now())
            .await?;
        if wrong >= u64::from(MAX_PIN_ATTEMPTS) {
            Ok(PinAttempt::Exhausted)
        } else {
            Ok(PinAttempt::Rejected {
                attempts: wrong as u32,
            })
        }
    }

    /// Records a status from Twilio's status callback or the stream host. A final status is
    /// never replaced by a live one (callbacks can arrive out of order).
    pub async fn set_call_status(
        &self,
        sid: &CallSid,
        status: CallStatus,
        duration_secs: Option<u64>,
    ) -> Result<CallSession, StoreError> {
        let now = self.clock.now();
        let mut fields = Map::new();
        fields.insert("status".into(), to_value(&status)?);
        if status.is_final() {
            fields.insert("ended_at".into(), to_value(&rfc3339(now)?)?);
        }
        if let Some(d) = duration_secs {
            fields.insert("duration_secs".into(), d.into());
        }
        let current = self.get_call(sid).await?;
        if current.status.is_final() && !status.is_final() {
            return Ok(current);
        }
        let item = self
            .records
            .update(
                &Keys::call(sid),
                Keys::META,
                fields,
                &[],
                now.unix_timestamp(),
            )
            .await?;
        from_map(item.data)
    }

    /// Writes what the stream host measured, when the stream ends.
    pub async fn save_call_outcome(
        &self,
        sid: &CallSid,
        host: &str,
        stats: &CallStats,
        usage: &Usage,
        cost: &Cost,
    ) -> Result<CallSession, StoreError> {
        let mut fields = Map::new();
        fields.insert("host".into(), Value::String(host.into()));
        fields.insert("stats".into(), to_value(stats)?);
        fields.insert("usage".into(), to_value(usage)?);
        fields.insert("cost".into(), to_value(cost)?);
        let item = self
            .records
            .update(&Keys::call(sid), Keys::META, fields, &[], self.now())
            .await?;
        from_map(item.data)
    }

    /// Records how the call's media stream ended. The first end recorded stays: it is why the
    /// stream ended, and a later write (a second path of the host noticing the same close)
    /// gets [`Created::Existing`] with it. An unknown call is [`StoreError::NotFound`].
    pub async fn record_stream_end(
        &self,
        sid: &CallSid,
        end: StreamEnd,
    ) -> Result<Created<StreamEnd>, StoreError> {
        let mut fields = Map::new();
        fields.insert(call_fields::STREAM_END.into(), to_value(&end)?);
        let guards = [Guard::Missing(call_fields::STREAM_END.into())];
        match self
            .records
            .update(&Keys::call(sid), Keys::META, fields, &guards, self.now())
            .await
        {
            Ok(_) => Ok(Created::New),
            Err(StoreError::Conflict(_)) => {
                let call = self.get_call(sid).await?;
                call.stream_end.map(Created::Existing).ok_or_else(|| {
                    StoreError::Corrupt(format!("{sid}: stream end guard failed but none is set"))
                })
            }
            Err(e) => Err(e),
        }
    }
}
