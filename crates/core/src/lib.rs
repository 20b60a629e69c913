//! The phone agent's domain, free of network and AWS code.
//!
//! - [`access`]: who may do what: owner or guest, and how each channel proves the owner.
//! - [`booking`]: a guest's booking request and the owner's YES/NO by SMS.
//! - [`call`]: one phone call's session row and its live statistics.
//! - [`keypad`]: the DTMF keys, and key sequences parsed and bounded.
//! - [`transcript`]: the turns spoken on a call.
//! - [`latency`]: per-turn latency (end of the caller's speech to the first reply audio).
//! - [`memory`]: what the assistant remembers about a caller between calls.
//! - [`usage`]: OpenAI Realtime token usage and its price.
//! - [`phone`]: E.164 numbers, masked when logged.
//! - [`quota`]: guests' daily limits (calls, minutes, texts, write tools).
//! - [`reminders`]: reminders the owner set, fired once at their time, following their event.
//! - [`store`]: the storage port ([`store::Records`]) and the typed [`store::Store`] built on it.
//! - [`clock`]: the time port, so tests can pin "now".
//! - [`analysis`]: a call's post-call analysis record.
//! - [`events`]: events for the customer's signed webhooks, and the port that queues them.
//! - [`agent`]: the text agent (SMS, REST, email) over a chat model and the tools.
//! - [`email`]: the email processor: new mail → the agent with calendar tools → a draft or reply.
//! - [`outbound`]: calls the assistant places: the request, its policy, its outcome.
//! - [`mail_address`]: recipient strings split into checked addresses.
//!
//! Adapters (DynamoDB, the embedded file store, Twilio, OpenAI, Google) live in other crates and
//! implement the traits defined here.

pub mod access;
pub mod agent;
pub mod analysis;
pub mod booking;
pub mod call;
pub mod clock;
pub mod email;
pub mod events;
pub mod keypad;
pub mod latency;
pub mod mail_address;
pub mod memory;
pub mod outbound;
pub mod phone;
pub mod ports;
pub mod quota;
pub mod reminders;
pub mod sms;
pub mod store;
pub mod token;
pub mod tools;
pub mod transcript;
pub mod usage;

pub use access::AccessLevel;
pub use call::{CallRecording, CallSession, CallSid, CallStats, CallStatus, StreamEnd};
pub use clock::{Clock, SystemClock};
pub use latency::{LatencyPercentiles, LatencyReport, TurnLatency};
pub use memory::{CallerMemory, MemoryNote};
pub use phone::PhoneNumber;
pub use store::{Store, StoreError};
pub use transcript::{Role, Turn};
pub use usage::{Cost, PriceTable, Usage};
