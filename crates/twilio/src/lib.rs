//! Twilio wire formats: request signatures, TwiML, Media Streams messages, REST client.
