//! Helpers for the integration tests of every crate, so no test file copies another.
//!
//! - [`moto`]: starts `moto_server` (DynamoDB and Secrets Manager emulator) on a free loopback
//!   port.
//! - [`store_suite`]: one behavioural suite for every `Records` adapter.

pub mod moto;
pub mod store_suite;
