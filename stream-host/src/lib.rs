//! The stream host: one task per call bridging Twilio Media Streams and OpenAI Realtime.
