//! Simulated phone calls, for `phone-agent call` and `phone-agent demo`.
//!
//! - [`audio`]: WAV in any format to 8 kHz μ-law 20 ms frames and back; speech synthesis.
//! - [`vad`]: an energy-based voice activity detector.

pub mod audio;
pub mod vad;
