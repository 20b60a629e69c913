//! Tests only (see `tests/`): checks that the deployment matches the code.
//!
//! - `tests/template.rs`: `template.yaml` has a function for every crate under `functions/`,
//!   built with cargo-lambda from the right binary, and names no binary that does not exist.
//! - `tests/lambda_entry_points.rs`: each function binary runs under an emulated Lambda Runtime
//!   API (`phone_test_support::lambda_runtime`) and answers API Gateway HTTP API events.
