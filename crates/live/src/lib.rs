//! OpenAI GPT-Live over its primary WebSocket (`/v1/live/sessions`), the second voice engine
//! beside the Realtime API (`/live/sessions` protocol, see PROTOCOLS-LIVE.md §A).
//!
//! - [`session`]: the `session.start` a call opens with (μ-law 8 kHz, Responses delegation).
//! - [`client`]: the other events we send, the hot one (`session.input_audio.append`) written
//!   directly.
//! - [`server`]: events GPT-Live sends, parsed borrowing the audio deltas; the nested Responses
//!   events of a delegation that the bridge acts on.
//! - [`connect`]: opening the WebSocket.
//! - [`transcript`]: transcript deltas grouped into turns per speaker.
//! - [`usage`]: what a session is billed for (seconds, backend tokens).

pub mod client;
pub mod connect;
pub mod server;
pub mod session;
pub mod transcript;
pub mod usage;
