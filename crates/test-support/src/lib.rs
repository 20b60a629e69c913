//! Test helpers shared by the crates' integration tests: moto launcher, store suite, Twilio and Realtime test peers.
