//! Storage: the [`Records`] port that adapters implement, and the typed [`Store`] on top.
//!
//! The data model is one table in single-table design (DESIGN.md "Data"): every item has a
//! partition key `pk`, a sort key `sk`, a `ttl` in epoch seconds and a JSON object of fields.
//! [`Records`] is deliberately that small, so that the DynamoDB adapter and the embedded file
//! store stay thin and are tested by one suite; [`Store`] turns domain calls ("create this
//! call once", "append a turn") into records, in one place.

mod error;
mod keys;
mod records;
mod typed;

pub use error::StoreError;
pub use keys::Keys;
pub use records::{Guard, Item, Page, PageRequest, PutMode, Records};
pub use typed::{
    Created, DeliveryStatus, DueRetry, EffectClaim, PinAttempt, ReminderClaim, Retention, Store,
    TOOL_EFFECT_WINDOW, TOOL_PENDING_EXPIRY, ToolCallRecord, WebhookDelivery,
};
