//! Simulated phone calls, for `phone-agent call` and `phone-agent demo`.
//!
//! - [`audio`]: WAV in any format to 8 kHz μ-law 20 ms frames and back; speech synthesis.
//! - [`vad`]: an energy-based voice activity detector.
//! - [`offline`]: the offline OpenAI Realtime stand-in used by the demo without an API key.
//! - [`caller`]: a simulated Twilio call (webhook, TwiML, signed Media Stream, play-out).
//! - [`echo`]: a Realtime peer that echoes caller audio, for load measurement.

#![warn(missing_docs)]

pub mod audio;
pub mod caller;
pub mod echo;
pub mod offline;
pub mod vad;
