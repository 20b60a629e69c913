//! OpenAI Realtime API (GA) event types and connection.
