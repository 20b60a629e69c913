//! Helpers for the integration tests of every crate, so no test file copies another.
//!
//! - [`gmail_server`]: a Gmail API and token endpoint holding a mailbox, recording drafts and sends.
//! - [`openai_chat`]: a scripted Chat Completions server.
//! - [`openai_chat_oracle`]: the official `openai` package checking Chat Completions requests.
//! - [`openai_structured`]: the strict structured-output rules that server enforces.
//! - [`logs`]: capturing what the code under test logs.
//! - [`loopback`]: serving an axum app on a free loopback port.
//! - [`moto`]: starts `moto_server` (DynamoDB and Secrets Manager emulator) on a free loopback
//!   port.
//! - [`store_suite`]: one behavioural suite for every `Records` adapter.
//! - [`realtime_server`]: an OpenAI Realtime (GA) server for the bridge's tests and benchmark,
//!   strict where the real API is.
//! - [`openai_oracle`]: the official `openai` Python package checking Realtime events.
//! - [`otlp_receiver`]: an OTLP/HTTP trace receiver (JSON decoded, protobuf kept).
//! - [`paths`]: the workspace's files, found from the checkout the test runs in.
//! - [`python_oracle`]: runs the Python scripts that check our output with official packages.
//! - [`live_oracle`]: GPT-Live events validated against the official `openai` package.
//! - [`live_server`]: a strict GPT-Live server (`/v1/live/sessions`) tests script.
//! - [`slowloris`]: a client that sends a request head a byte at a time, never finishing it.
//! - [`google_server`]: Google's token endpoint and Calendar v3.
//! - [`twilio_rest_server`]: Twilio's `Messages.json`, recording every SMS posted, and a strict
//!   `Calls.json` placing outbound calls.
//! - [`twilio_stream`]: a Media Streams client that sends exactly what Twilio sends.
//! - [`twilio_webhook`]: posting a form signed as Twilio signs its webhooks.
//! - [`webhook_receiver`]: the customer's webhook receiver (fails first, or never answers).
//! - [`standard_webhooks_oracle`]: the PyPI `standardwebhooks` package verifying signatures.

pub mod gmail_server;
pub mod google_server;
pub mod lambda_runtime;
pub mod live_oracle;
pub mod live_server;
pub mod logs;
pub mod loopback;
pub mod moto;
pub mod openai_chat;
pub mod openai_chat_oracle;
pub mod openai_oracle;
pub mod openai_structured;
pub mod otlp_receiver;
pub mod paths;
pub mod python_oracle;
pub mod realtime_server;
pub mod slowloris;
pub mod standard_webhooks_oracle;
pub mod store_suite;
pub mod twilio_rest_server;
pub mod twilio_stream;
pub mod twilio_webhook;
pub mod webhook_receiver;
