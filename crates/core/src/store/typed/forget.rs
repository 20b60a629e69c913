//! "Forget me": erasing what is stored about a phone number, its calls included.
//!
//! The table has no index from a number to its calls, so [`Store::create_call`] writes a
//! pointer row (`CALLER#<number>` / `CALL#<sid>`) beside the caller's memory; forgetting
//! follows the pointers to each call's partition.

use serde_json::{Map, Value};

use super::{Store, rfc3339};
use crate::call::CallSid;
use crate::phone::PhoneNumber;
use crate::store::{Keys, PageRequest, StoreError};

/// Field set on a call row whose caller was forgotten ([`Store::erase_call`]).
const FORGOTTEN_AT: &str = "forgotten_at";

impl Store {
    /// Whether call `sid`'s caller asked to be forgotten ([`Store::erase_call`] ran on it):
    /// nothing more may be derived from it (no post-call analysis).
    pub async fn is_call_forgotten(&self, sid: &CallSid) -> Result<bool, StoreError> {
        let item = self
            .records
            .get(&Keys::call(sid), Keys::META, self.now())
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(item.data.contains_key(FORGOTTEN_AT))
    }

    /// Erases everything stored under a caller's number: memory, notes and SMS history (with
    /// the SMS conversation's tool records), and for each call the number made, its transcript,
    /// its tool records and its effect markers; the call row itself is kept for the call's cost
    /// with the caller's number removed ([`Store::erase_call`]). Not erased: the SMS opt-out
    /// (a compliance record), messages and booking requests the caller left for the owner (the
    /// owner's inbox), and webhook idempotency markers (a day). Returns how many items were
    /// deleted.
    pub async fn forget_caller(&self, number: &PhoneNumber) -> Result<u64, StoreError> {
        let caller_pk = Keys::caller(number);
        let mut deleted = 0;
        loop {
            let page = self
                .records
                .query(
                    &caller_pk,
                    Keys::CALL_POINTER_PREFIX,
                    &PageRequest::first(PageRequest::MAX_LIMIT),
                    self.now(),
                )
                .await?;
            for pointer in &page.items {
                let sid = pointer.sk.strip_prefix(Keys::CALL_POINTER_PREFIX);
                if let Some(sid) = sid.and_then(|s| CallSid::parse(s).ok()) {
                    deleted += self.erase_call(&sid).await?;
                }
                self.records.delete(&pointer.pk, &pointer.sk).await?;
                deleted += 1;
            }
            if page.items.is_empty() || page.next.is_none() {
                break;
            }
        }
        deleted += self.delete_prefix(&caller_pk, "").await?;
        deleted += self.delete_prefix(&Keys::sms(number), "").await?;
        Ok(deleted)
    }

    /// Erases what one call recorded of its caller: the transcript (`TURN#`), the tool records
    /// (`TOOL#`, with their arguments and results), the effect markers (`EFFECT#`) and the
    /// post-call analysis (`ANALYSIS`). The call
    /// row (`META`) stays, with `from` set to null and `forgotten_at` set: it holds no words of
    /// the caller, only the call's times, status, access level, statistics, token usage and
    /// cost, which the operator's spending limits and bills are reckoned from. Returns how many
    /// items were deleted.
    pub async fn erase_call(&self, sid: &CallSid) -> Result<u64, StoreError> {
        let pk = Keys::call(sid);
        let mut deleted = 0;
        for prefix in [Keys::TURN_PREFIX, Keys::TOOL_PREFIX, Keys::EFFECT_PREFIX] {
            deleted += self.delete_prefix(&pk, prefix).await?;
        }
        // The analysis summarises what the caller said.
        self.records.delete(&pk, Keys::ANALYSIS).await?;
        let mut fields = Map::new();
        fields.insert("from".into(), Value::Null);
        fields.insert(
            FORGOTTEN_AT.into(),
            Value::String(rfc3339(self.clock.now())?),
        );
        match self
            .records
            .update(&pk, Keys::META, fields, &[], self.now())
            .await
        {
            Ok(_) | Err(StoreError::NotFound) => Ok(deleted),
            Err(e) => Err(e),
        }
    }

    /// Deletes every live item of partition `pk` whose sort key starts with `prefix`.
    async fn delete_prefix(&self, pk: &str, prefix: &str) -> Result<u64, StoreError> {
        let mut deleted = 0;
        loop {
            let page = self
                .records
                .query(
                    pk,
                    prefix,
                    &PageRequest::first(PageRequest::MAX_LIMIT),
                    self.now(),
                )
                .await?;
            for item in &page.items {
                self.records.delete(&item.pk, &item.sk).await?;
                deleted += 1;
            }
            if page.items.is_empty() || page.next.is_none() {
                return Ok(deleted);
            }
        }
    }
}
