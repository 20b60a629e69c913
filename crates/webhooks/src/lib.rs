//! Signed webhooks to the customer's server (docs/observability.md, "Webhooks").
//!
//! - [`signing`]: the Standard Webhooks signature (`webhook-id`, `webhook-timestamp`,
//!   `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`).
//! - [`delivery`]: one event to every configured URL, retried with backoff under the same id,
//!   each attempt recorded in the store (`GET /webhooks/deliveries`); or one attempt per
//!   receive of a queue that redelivers ([`Deliverer::attempt`], the AWS delivery function).
//! - [`outbox`]: the bounded queue the rest of the system emits into
//!   ([`phone_core::events::EventSink`]), drained by a background task, so a slow or dead
//!   receiver never holds up a call.

pub mod delivery;
pub mod outbox;
pub mod signing;

pub use delivery::{Deliverer, RetrySchedule, Undelivered};
pub use outbox::WebhookOutbox;
pub use signing::{InvalidSecret, WebhookSecret};
