//! Embedded local adapters, used when no cloud is configured, so the whole system runs on a
//! fresh machine with no accounts.
//!
//! - [`LocalRecords`]: the `Records` store, in memory or backed by an append-only file log.

mod log;
mod records;

pub use records::LocalRecords;
