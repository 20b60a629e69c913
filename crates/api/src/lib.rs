//! The HTTP side of phone-agent: one axum router per area, shared by the Lambda binaries
//! (through [`lambda`]) and `phone-agent serve` (through `phone_http::serve`, which adds a
//! header-read timeout). Both entry points add the layers of `phone_http::layers` (request
//! id, tracing, panic to 500, request timeout, 64 KiB body limit) once; the routers here do not.
//! The adapters the handlers act through are built by `phone_wiring`.
//!
//! - [`auth`]: the API key, as a route layer on every REST router.
//! - [`email_processor`]: one run of the email processor over the configured adapters.
//! - [`lambda`]: a router as a Lambda function that waits for its background work.
//! - [`state`]: what every handler shares.
//! - [`error`]: the one error type handlers return, and its JSON shape.
//! - [`extract`]: JSON body and query extractors whose rejections are that error.
//! - [`openapi`]: the OpenAPI 3.1 document, generated from the handlers and their types.
//! - [`guest_limits`]: guests' daily limits on calls, minutes and texts.
//! - [`idempotency`]: `Idempotency-Key`, bound to the endpoint and the arguments.
//! - [`reminder_event`]: the reminders function's event (a schedule firing a reminder).
//! - [`routes`]: the routers, one module per area.
//! - [`webhook_delivery`]: the `webhook-delivery` function's handler (the webhook queue's
//!   messages, one delivery attempt per receive).

pub mod auth;
pub mod email_processor;
pub mod error;
pub mod extract;
pub mod guest_limits;
pub mod idempotency;
pub mod lambda;
pub mod openapi;
pub mod reminder_event;
pub mod routes;
pub mod state;
pub mod twilio_request;
pub mod webhook_delivery;

pub use error::ApiError;
pub use state::AppState;
