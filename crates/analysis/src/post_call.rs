//! The post-call step for one call: read its transcript and tool calls, analyse them, store the
//! analysis with the call and emit `call.analyzed`. Run in the background when a call ends
//! (the stream host) and again on `POST /calls/{sid}/analysis`.

use std::sync::Arc;

use phone_core::analysis::CallAnalysis;
use phone_core::events::{EventType, Events};
use phone_core::store::{Keys, PageRequest};
use phone_core::{CallSid, Store, StoreError};
use serde_json::json;

use crate::{AnalysisSpec, Analyst};

/// Most turns and tool calls read for one analysis.
const MAX_ITEMS: u32 = 1000;

/// What analyses calls, with where the results go. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PostCallAnalysis {
    spec: Arc<AnalysisSpec>,
    analyst: Analyst,
    store: Store,
    events: Events,
}

impl PostCallAnalysis {
    /// Analyses with `analyst` against `spec`, storing in `store` and emitting to `events`.
    pub fn new(spec: AnalysisSpec, analyst: Analyst, store: Store, events: Events) -> Self {
        Self {
            spec: Arc::new(spec),
            analyst,
            store,
            events,
        }
    }

    /// Who analyses (`openai:<model>` or `stand-in`).
    pub fn describe(&self) -> String {
        self.analyst.describe()
    }

    /// Analyses call `sid`, replacing any earlier analysis, and emits `call.analyzed`.
    /// An unknown call is [`StoreError::NotFound`], a call whose caller asked to be forgotten
    /// [`StoreError::Conflict`] (nothing is derived from it); a model that fails gives a stored
    /// failed analysis, not an error.
    pub async fn run(&self, sid: &CallSid) -> Result<CallAnalysis, StoreError> {
        if self.store.is_call_forgotten(sid).await? {
            return Err(StoreError::Conflict(format!(
                "the caller of {sid} asked to be forgotten: the call is not analysed"
            )));
        }
        let page = PageRequest::first(MAX_ITEMS);
        let turns = self.store.list_turns(sid, &page).await?.items;
        let tools = self
            .store
            .list_tool_calls(&Keys::call(sid), &page)
            .await?
            .items;
        let now = self.store.clock().now();
        let analysis = self.analyst.analyze(&self.spec, &turns, &tools, now).await;
        self.store.save_analysis(sid, &analysis).await?;
        tracing::info!(call_sid = %sid, status = ?analysis.status, model = %analysis.model, "call analysed");
        self.events.emit(
            EventType::CallAnalyzed,
            now,
            Some(sid.clone()),
            json!({"analysis": analysis}),
        );
        Ok(analysis)
    }
}
