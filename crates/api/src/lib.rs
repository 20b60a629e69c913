//! The HTTP side of phone-agent: one axum router per area, shared by the Lambda binaries
//! (through `lambda_http::run`) and the long-running servers (through [`server::serve`], which
//! adds a header-read timeout).
//!
//! - [`auth`]: the API key, as a route layer on every REST router.
//! - [`background`]: work left running after a response, which a Lambda waits for.
//! - [`body_limit`]: the 64 KiB limit on every request body.
//! - [`bootstrap`]: cold-start work: configuration (environment + secret), the store.
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
//! - [`server`]: the HTTP server loop of the long-running processes, with a header-read timeout.
//! - [`token_sink`]: where the Google consent callback keeps the refresh token.

pub mod auth;
pub mod background;
pub mod body_limit;
pub mod bootstrap;
pub mod email_processor;
pub mod error;
pub mod extract;
pub mod guest_limits;
pub mod idempotency;
pub mod lambda;
pub mod openapi;
pub mod reminder_event;
pub mod routes;
pub mod server;
pub mod state;
pub mod token_sink;
pub mod twilio_request;

pub use error::ApiError;
pub use state::AppState;
