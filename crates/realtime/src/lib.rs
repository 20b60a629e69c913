//! The OpenAI Realtime API, GA shape only (the beta shape is retired; PROTOCOLS.md §2).
//!
//! - [`server`]: events OpenAI sends, parsed borrowing the audio deltas.
//! - [`client`]: events we send, the hot one (`input_audio_buffer.append`) written directly.
//! - [`session`]: the `session.update` we configure a call with.
//! - [`connect`]: opening the WebSocket.

pub mod client;
pub mod connect;
pub mod server;
pub mod session;
