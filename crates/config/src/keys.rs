//! Every configuration key, in one place. Each is an environment variable locally and a key of
//! the JSON secret in AWS.

/// Public HTTPS base of the webhooks, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com`.
pub const PUBLIC_BASE_URL: &str = "PUBLIC_BASE_URL";
/// Public `wss://…/voice/stream` URL of the stream host.
pub const STREAM_PUBLIC_URL: &str = "STREAM_PUBLIC_URL";
/// Twilio account SID (`AC…`).
pub const TWILIO_ACCOUNT_SID: &str = "TWILIO_ACCOUNT_SID";
/// Twilio auth token (secret).
pub const TWILIO_AUTH_TOKEN: &str = "TWILIO_AUTH_TOKEN";
/// Twilio API key SID (`SK…`), optional.
pub const TWILIO_API_KEY_SID: &str = "TWILIO_API_KEY_SID";
/// Twilio API key secret (secret), optional.
pub const TWILIO_API_KEY_SECRET: &str = "TWILIO_API_KEY_SECRET";
/// Twilio REST base URL (default `https://api.twilio.com`).
pub const TWILIO_API_BASE_URL: &str = "TWILIO_API_BASE_URL";
/// Our Twilio number (E.164), SMS sender.
pub const TWILIO_FROM_NUMBER: &str = "TWILIO_FROM_NUMBER";
/// Human to transfer calls to (E.164).
pub const TRANSFER_NUMBER: &str = "TRANSFER_NUMBER";
/// OpenAI API key (secret).
pub const OPENAI_API_KEY: &str = "OPENAI_API_KEY";
/// OpenAI Realtime URL (default `wss://api.openai.com/v1/realtime?model=gpt-realtime`).
pub const OPENAI_REALTIME_URL: &str = "OPENAI_REALTIME_URL";
/// Realtime model name (default `gpt-realtime`).
pub const OPENAI_REALTIME_MODEL: &str = "OPENAI_REALTIME_MODEL";
/// Voice (default `marin`).
pub const OPENAI_VOICE: &str = "OPENAI_VOICE";
/// OpenAI REST base URL (default `https://api.openai.com/v1`).
pub const OPENAI_API_BASE_URL: &str = "OPENAI_API_BASE_URL";
/// Text model for the SMS/REST/email agent.
pub const OPENAI_TEXT_MODEL: &str = "OPENAI_TEXT_MODEL";
/// DynamoDB table; when absent the embedded local store is used.
pub const TABLE_NAME: &str = "TABLE_NAME";
/// DynamoDB endpoint override (moto, DynamoDB Local).
pub const DYNAMODB_ENDPOINT: &str = "DYNAMODB_ENDPOINT";
/// File of the embedded local store; when absent it keeps state in memory.
pub const LOCAL_STORE_PATH: &str = "LOCAL_STORE_PATH";
/// Bearer key for the REST API (secret).
pub const API_KEY: &str = "API_KEY";
/// Greeting spoken first on every call.
pub const GREETING: &str = "GREETING";
/// IANA time zone of the assistant (default `UTC`).
pub const TIME_ZONE: &str = "TIME_ZONE";
/// Extra instructions for the assistant.
pub const ASSISTANT_INSTRUCTIONS: &str = "ASSISTANT_INSTRUCTIONS";
/// Days to keep calls, turns and tool calls.
pub const RETENTION_CALLS_DAYS: &str = "RETENTION_CALLS_DAYS";
/// Days to keep caller memory.
pub const RETENTION_MEMORY_DAYS: &str = "RETENTION_MEMORY_DAYS";
/// Days to keep SMS history.
pub const RETENTION_SMS_DAYS: &str = "RETENTION_SMS_DAYS";
/// JSON price table (see `phone_core::PriceTable`).
pub const PRICE_TABLE_JSON: &str = "PRICE_TABLE_JSON";
/// Seconds a stream token stays valid (default 120).
pub const STREAM_TOKEN_TTL_SECS: &str = "STREAM_TOKEN_TTL_SECS";
/// Secrets Manager secret id whose JSON overlays the environment (AWS only).
pub const CONFIG_SECRET_ID: &str = "CONFIG_SECRET_ID";
/// `json` or `pretty`; defaults to JSON in AWS and pretty elsewhere.
pub const LOG_FORMAT: &str = "LOG_FORMAT";
/// Most concurrent calls per stream host (default 500).
pub const STREAM_MAX_CALLS: &str = "STREAM_MAX_CALLS";
/// Longest call in seconds before a polite goodbye (default 1800).
pub const MAX_CALL_SECS: &str = "MAX_CALL_SECS";
/// Model cost in USD (by the price table) at which a call says a short goodbye and ends, e.g.
/// `0.50`; unset means no cap.
pub const MAX_CALL_COST_USD: &str = "MAX_CALL_COST_USD";
/// Seconds of caller silence before "are you still there?" then goodbye (default 60).
pub const IDLE_TIMEOUT_SECS: &str = "IDLE_TIMEOUT_SECS";
/// Seconds live calls get after SIGTERM before they are ended (default 100; Fargate's
/// stopTimeout is at most 120).
pub const DRAIN_SECS: &str = "DRAIN_SECS";
/// Turn detection: `server_vad` (default) or `semantic_vad`.
pub const TURN_DETECTION: &str = "TURN_DETECTION";
/// Google OAuth client id; with the secret and a refresh token it switches the calendar to
/// Google Calendar and mail to Gmail.
pub const GOOGLE_CLIENT_ID: &str = "GOOGLE_CLIENT_ID";
/// Google OAuth client secret (secret).
pub const GOOGLE_CLIENT_SECRET: &str = "GOOGLE_CLIENT_SECRET";
/// Google refresh token from the consent flow (secret).
pub const GOOGLE_REFRESH_TOKEN: &str = "GOOGLE_REFRESH_TOKEN";
/// Google token endpoint (default `https://oauth2.googleapis.com/token`).
pub const GOOGLE_TOKEN_URL: &str = "GOOGLE_TOKEN_URL";
/// Gmail API base (default `https://gmail.googleapis.com/gmail/v1/users/me`).
pub const GMAIL_BASE_URL: &str = "GMAIL_BASE_URL";
/// Google Calendar API base (default `https://www.googleapis.com/calendar/v3`).
pub const GOOGLE_CALENDAR_BASE_URL: &str = "GOOGLE_CALENDAR_BASE_URL";
/// Which Google calendar the tools use (default `primary`, the authorised user's own).
pub const GOOGLE_CALENDAR_ID: &str = "GOOGLE_CALENDAR_ID";
/// Google's consent screen (default `https://accounts.google.com/o/oauth2/v2/auth`).
pub const GOOGLE_AUTH_URL: &str = "GOOGLE_AUTH_URL";
/// The dotenv file `/auth/google/callback` writes the refresh token into when there is no
/// configuration secret (default `.env`, the file `phone-agent` reads at start).
pub const LOCAL_ENV_FILE: &str = "LOCAL_ENV_FILE";
/// Key that signs the OAuth `state` of `/auth/google` (secret, at least 32 characters).
pub const OAUTH_STATE_SECRET: &str = "OAUTH_STATE_SECRET";
/// What the email processor does with the replies it writes: `draft` (default: saved as a
/// draft in the thread for the owner to send), `send`, or `off` (kept in its record only).
pub const EMAIL_REPLY_POLICY: &str = "EMAIL_REPLY_POLICY";
/// Mail search the email processor reads (Gmail syntax; default
/// `in:inbox newer_than:2d -from:me`).
pub const EMAIL_QUERY: &str = "EMAIL_QUERY";
/// Seconds `POST /sms/incoming` waits for the agent before answering Twilio with an empty
/// reply and texting the answer through the REST API when it is ready (default 10).
pub const SMS_REPLY_DEADLINE_SECS: &str = "SMS_REPLY_DEADLINE_SECS";
/// Seconds `POST /agent` may take in all before it answers 504 (default 25, at most 28: the
/// agent function's Lambda timeout is 29 s and API Gateway's 30 s).
pub const AGENT_DEADLINE_SECS: &str = "AGENT_DEADLINE_SECS";
/// Seconds an HTTP client has to send a request's line and headers to `phone-agent serve` or
/// the stream host before the connection is closed (slowloris; default 10).
pub const HEADER_READ_TIMEOUT_SECS: &str = "HEADER_READ_TIMEOUT_SECS";
