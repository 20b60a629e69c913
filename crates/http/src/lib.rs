//! What every HTTP entry point of phone-agent shares, whatever it serves (the REST API and
//! Twilio's webhooks in `phone-api`, the media streams in `stream-host`):
//!
//! - [`layers`]: the layers every router gets exactly once (request id and tracing, panic to
//!   500, request timeout, body limit), and the JSON error shape they answer with.
//! - [`server`]: the HTTP/1.1 server loop of the long-running processes, with a header-read
//!   timeout.
//! - [`tasks`]: work in flight (late answers, calls, connections), counted and waited for.

pub mod layers;
pub mod server;
pub mod tasks;

pub use server::{ServerTimeouts, serve};
pub use tasks::{Entry, InFlight};
