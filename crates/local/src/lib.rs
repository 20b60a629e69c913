//! Embedded local adapters, used when no cloud is configured, so the whole system runs on a
//! fresh machine with no accounts.
//!
//! - [`LocalRecords`]: the `Records` store, in memory or backed by an append-only file log.
//! - [`LocalCalendar`]: a calendar kept in the store.
//! - [`SmsOutbox`], [`MailOutbox`]: messages recorded instead of sent.
//! - [`LocalCallControl`]: hang-ups and transfers of simulated calls.
//! - [`LocalDialer`]: outbound calls a simulated callee answers.
//! - [`reminders`]: the local reminder scheduler ([`reminders::run_scheduler`]) and its alarm.

mod calendar;
mod call_control;
mod dialer;
mod log;
mod outbox;
mod records;
pub mod reminders;

pub use calendar::LocalCalendar;
pub use call_control::{CallAction, LocalCallControl};
pub use dialer::{DialedCall, LocalDialer};
pub use outbox::{MailOutbox, SmsOutbox};
pub use records::LocalRecords;
