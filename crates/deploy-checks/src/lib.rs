//! Checks that the deployment matches the code, and the cold-start benchmark.
//!
//! - `tests/template.rs`: `template.yaml` has a function for every crate under `functions/`,
//!   built with cargo-lambda from the right binary, and names no binary that does not exist.
//! - `tests/lambda_entry_points.rs`: each function binary runs under an emulated Lambda Runtime
//!   API (`phone_test_support::lambda_runtime`) and answers API Gateway HTTP API events.
//! - `benches/cold_starts.rs`: each function's init, first and warm invocation times under the
//!   same emulator (docs/benchmarks.md).
//!
//! [`fixtures`] holds what those share: the functions' configuration, signed Twilio webhooks,
//! authenticated REST requests, and building the binaries.

pub mod fixtures;
