//! Twilio's wire formats.
//!
//! - [`signature`]: `X-Twilio-Signature` on webhooks and the Media Streams WebSocket upgrade
//!   (HMAC-SHA1 with the auth token, or a SharedKey's HMAC-SHA256 per
//!   `X-Twilio-Webhooks-Signature-Settings`).
//! - [`twiml`]: the TwiML the webhooks answer with.
//! - [`webhook`]: typed webhook forms (voice, status callback, SMS).
//! - [`media`]: Media Streams messages, both directions.
//! - [`recording`]: the call recording's status callback.
//! - [`mulaw`]: G.711 μ-law, the audio Media Streams carry.
//! - [`dtmf`]: keypad tones in μ-law: generated (to press keys in-band) and detected.
//! - [`rest`]: the REST API as the SMS and call-control adapters.

pub mod dtmf;
pub mod media;
pub mod mulaw;
pub mod recording;
pub mod rest;
pub mod signature;
pub mod twiml;
pub mod webhook;
