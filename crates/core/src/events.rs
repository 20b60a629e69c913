//! Events for the customer's server (signed webhooks, docs/observability.md "Webhooks"): what
//! happened on a call, emitted where it happens through one small port, [`EventSink`].
//!
//! Emitting never blocks and never fails the caller: a sink queues the event (a bounded outbox
//! in `phone-agent serve`, a queue in AWS) and delivery runs elsewhere. With no webhook URL
//! configured, [`Events::none`] drops every event on purpose: there is nobody to tell.

use std::sync::Arc;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::call::CallSid;

/// The kinds of event sent to the customer's server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EventType {
    /// The call's media stream connected to the assistant.
    #[serde(rename = "call.started")]
    CallStarted,
    /// The call is over; its outcome, usage and cost are stored.
    #[serde(rename = "call.ended")]
    CallEnded,
    /// The post-call analysis is stored (valid or failed).
    #[serde(rename = "call.analyzed")]
    CallAnalyzed,
    /// The assistant ran a tool.
    #[serde(rename = "tool.called")]
    ToolCalled,
    /// The assistant transferred the caller to a human.
    #[serde(rename = "call.transferred")]
    CallTransferred,
}

impl EventType {
    /// Every kind, in the order documented.
    pub const ALL: [Self; 5] = [
        Self::CallStarted,
        Self::CallEnded,
        Self::CallAnalyzed,
        Self::ToolCalled,
        Self::CallTransferred,
    ];

    /// The wire name (`call.started`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CallStarted => "call.started",
            Self::CallEnded => "call.ended",
            Self::CallAnalyzed => "call.analyzed",
            Self::ToolCalled => "tool.called",
            Self::CallTransferred => "call.transferred",
        }
    }
}

/// One event. Its JSON ([`Event::payload`]) is the webhook body; its id is the `webhook-id`
/// header, the same on every retry so the receiver can deduplicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `msg_` + 32 hex digits, unique per event.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// The call it concerns, if any (a tool run by SMS or the REST agent has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_sid: Option<CallSid>,
    /// The event's details (docs/observability.md lists them per type).
    pub data: Value,
}

impl Event {
    /// A new event with a fresh id.
    pub fn new(
        kind: EventType,
        timestamp: OffsetDateTime,
        call_sid: Option<CallSid>,
        data: Value,
    ) -> Self {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        Self {
            id: format!("msg_{}", hex::encode(bytes)),
            kind,
            timestamp,
            call_sid,
            data,
        }
    }

    /// The webhook body: `{"type", "timestamp", "data"}` (the Standard Webhooks payload
    /// structure), with `call_sid` inside `data` when there is one.
    pub fn payload(&self) -> Value {
        let mut data = self.data.clone();
        if let (Some(sid), Value::Object(map)) = (&self.call_sid, &mut data) {
            map.entry("call_sid")
                .or_insert_with(|| Value::String(sid.to_string()));
        }
        serde_json::json!({
            "type": self.kind.as_str(),
            "timestamp": self.timestamp.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "data": data,
        })
    }
}

/// Where events go. Implementations must return at once: queue the event, never deliver it
/// on the caller's task, and log (never return) a failure to queue.
pub trait EventSink: Send + Sync + 'static {
    /// Queues `event` for delivery.
    fn emit(&self, event: Event);
}

/// The event sink every part of the system holds, cheap to clone.
#[derive(Clone, Default)]
pub struct Events(Option<Arc<dyn EventSink>>);

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Events(sink)"
        } else {
            "Events(none)"
        })
    }
}

impl Events {
    /// Events sent to `sink`.
    pub fn new(sink: Arc<dyn EventSink>) -> Self {
        Self(Some(sink))
    }

    /// No webhook is configured: events are dropped.
    pub fn none() -> Self {
        Self(None)
    }

    /// Whether events go anywhere.
    pub fn is_enabled(&self) -> bool {
        self.0.is_some()
    }

    /// Emits a new event of `kind` at `at`.
    pub fn emit(
        &self,
        kind: EventType,
        at: OffsetDateTime,
        call_sid: Option<CallSid>,
        data: Value,
    ) {
        if let Some(sink) = &self.0 {
            sink.emit(Event::new(kind, at, call_sid, data));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_has_the_standard_shape_and_the_call() {
        let sid = CallSid::parse("CA0123456789abcdef0123456789abcdef").unwrap();
        let event = Event::new(
            EventType::CallEnded,
            OffsetDateTime::UNIX_EPOCH,
            Some(sid),
            serde_json::json!({"reason": "caller_hung_up"}),
        );
        let body = event.payload();
        assert_eq!(body["type"], "call.ended");
        assert_eq!(body["timestamp"], "1970-01-01T00:00:00Z");
        assert_eq!(
            body["data"]["call_sid"],
            "CA0123456789abcdef0123456789abcdef"
        );
        assert_eq!(body["data"]["reason"], "caller_hung_up");
        assert!(event.id.starts_with("msg_") && event.id.len() == 36);
        assert_ne!(
            event.id,
            Event::new(
                EventType::CallEnded,
                OffsetDateTime::UNIX_EPOCH,
                None,
                Value::Null
            )
            .id
        );
    }

    #[test]
    fn wire_names_match_serde() {
        for kind in EventType::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
