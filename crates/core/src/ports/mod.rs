//! The ports the tools act through. Each has a real adapter (Google, Gmail, Twilio REST) and an
//! embedded local one (a calendar kept in the store, outboxes), chosen by configuration.
//!
//! Times crossing these ports are UTC instants ([`time::OffsetDateTime`]); converting the
//! model's local wall times happens in the tools, with the configured time zone.

mod calendar;
mod call_control;
mod chat;
mod error;
mod mail;
mod messaging;
mod outbound;
mod reminders;

pub use calendar::{
    Calendar, CalendarEvent, EventPatch, NewEvent, Reminder, ReminderMethod, TimeRange,
};
pub use call_control::{CallControl, HangUpOutcome};
pub use chat::{
    ChatMessage, ChatModel, ChatReply, ChatRole, ChatToolCall, ChatUsage, JsonSchemaFormat,
    StructuredModel, StructuredReply, ToolSpec,
};
pub use error::PortError;
pub use mail::{EmailMessage, Mail, OutgoingEmail, SentEmail};
pub use messaging::{Messaging, SmsMessage, SmsQuery};
pub use outbound::{OutboundCallRequest, OutboundCalls, PlacedCall};
pub use reminders::{NoAlarm, ReminderAlarm, ReminderDelivery, SmsDelivery};
