//! Per-turn latency rows (`CALL#<sid>` / `LATENCY#<index>`), the call's percentiles on its
//! row, and its recording link.

use serde_json::Map;

use super::{Store, to_value};
use crate::call::{CallRecording, CallSession, CallSid};
use crate::latency::{LatencyPercentiles, TurnLatency};
use crate::store::{Item, Keys, Page, PageRequest, PutMode, StoreError};

impl Store {
    /// Stores one turn's latency; the same index twice is a [`StoreError::Conflict`].
    pub async fn append_turn_latency(
        &self,
        sid: &CallSid,
        turn: &TurnLatency,
    ) -> Result<(), StoreError> {
        let item = Item {
            pk: Keys::call(sid),
            sk: Keys::latency(turn.index),
            ttl: self.ttl(self.retention.calls),
            data: super::to_map(turn)?,
        };
        self.records.put(item, PutMode::IfAbsent, self.now()).await
    }

    /// A call's turn latencies, in turn order.
    pub async fn list_turn_latencies(
        &self,
        sid: &CallSid,
        page: &PageRequest,
    ) -> Result<Page<TurnLatency>, StoreError> {
        self.query_typed(&Keys::call(sid), Keys::LATENCY_PREFIX, page)
            .await
    }

    /// Writes the call's latency percentiles on its row.
    pub async fn save_call_latency(
        &self,
        sid: &CallSid,
        percentiles: &LatencyPercentiles,
    ) -> Result<CallSession, StoreError> {
        let mut fields = Map::new();
        fields.insert("latency".into(), to_value(percentiles)?);
        let item = self
            .records
            .update(&Keys::call(sid), Keys::META, fields, &[], self.now())
            .await?;
        super::from_map(item.data)
    }

    /// Writes (or replaces, as Twilio reports progress) the call's recording on its row. An
    /// unknown call is [`StoreError::NotFound`].
    pub async fn save_call_recording(
        &self,
        sid: &CallSid,
        recording: &CallRecording,
    ) -> Result<CallSession, StoreError> {
        let mut fields = Map::new();
        fields.insert("recording".into(), to_value(recording)?);
        let item = self
            .records
            .update(&Keys::call(sid), Keys::META, fields, &[], self.now())
            .await?;
        super::from_map(item.data)
    }
}
