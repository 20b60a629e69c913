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
/// Secret of the Twilio SharedKey that signs webhooks matched by a Webhooks Rule (secret),
/// optional. Requests carrying `X-Twilio-Webhooks-Signature-Settings` are checked with it and
/// the algorithm the header names (HMAC-SHA256 or HMAC-SHA1), and refused when it is unset;
/// requests without that header are still checked with `TWILIO_AUTH_TOKEN` (HMAC-SHA1).
pub const TWILIO_WEBHOOK_SHARED_KEY_SECRET: &str = "TWILIO_WEBHOOK_SHARED_KEY_SECRET";
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
/// The voice engine calls are bridged to: `realtime` (default, OpenAI Realtime) or `live`
/// (GPT-Live). One setting per deployment; see docs/voice.md "Choosing an engine".
pub const VOICE_ENGINE: &str = "VOICE_ENGINE";
/// GPT-Live WebSocket URL (default `wss://api.openai.com/v1/live/sessions`), no query string.
pub const OPENAI_LIVE_URL: &str = "OPENAI_LIVE_URL";
/// GPT-Live model (default `gpt-live-1.1`); its tools run on a backend Responses model, the
/// text model (`OPENAI_TEXT_MODEL`).
pub const OPENAI_LIVE_MODEL: &str = "OPENAI_LIVE_MODEL";
/// OpenAI Realtime WebSocket base URL (default `wss://api.openai.com/v1/realtime`). The
/// connect URL is this with `model=<OPENAI_REALTIME_MODEL>` added to its query (other query
/// parameters are kept); a `model=` already in it must name the same model, or the
/// configuration is refused.
pub const OPENAI_REALTIME_URL: &str = "OPENAI_REALTIME_URL";
/// Realtime (voice) model, set once here (default `gpt-realtime-2.1`): it goes into the
/// connect URL, never into `session.update`, and prices the call until the server reports its
/// model.
pub const OPENAI_REALTIME_MODEL: &str = "OPENAI_REALTIME_MODEL";
/// `reasoning.effort` of reasoning Realtime models (the `gpt-realtime-2` family):
/// `minimal`, `low` (default), `medium`, `high` or `xhigh`. Not sent to other models.
pub const OPENAI_REALTIME_REASONING_EFFORT: &str = "OPENAI_REALTIME_REASONING_EFFORT";
/// Model transcribing the caller during a call (default `gpt-transcribe`).
pub const OPENAI_TRANSCRIPTION_MODEL: &str = "OPENAI_TRANSCRIPTION_MODEL";
/// Voice (default `marin`).
pub const OPENAI_VOICE: &str = "OPENAI_VOICE";
/// OpenAI REST base URL (default `https://api.openai.com/v1`).
pub const OPENAI_API_BASE_URL: &str = "OPENAI_API_BASE_URL";
/// Text model for the SMS/REST/email agent, over Chat Completions (default `gpt-5.4-mini`).
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
/// Model cost in USD (by the price table) at which a call says a short goodbye and ends
/// (default `2.00`, about a normal 30-minute conversation; see
/// `DEFAULT_MAX_CALL_COST_NANO_USD`). `off` turns the cap off; `0` is refused. With a cap, a
/// Realtime model the price table does not price is a startup error of the stream host.
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
/// Seconds any HTTP request may take before it is answered 504 `timeout` (default 29: API
/// Gateway's limit is 30 s; above `AGENT_DEADLINE_SECS`, so `POST /agent` gives its own answer
/// first). A WebSocket upgrade is answered at once; the call it starts is not cut by this.
pub const REQUEST_TIMEOUT_SECS: &str = "REQUEST_TIMEOUT_SECS";
/// The owner's phone numbers, E.164, comma-separated. A caller from one of them is the owner
/// only with full STIR/SHAKEN attestation or the PIN; a texter from one of them is the owner.
/// Booking requests, guests' messages and failed-call notices are texted to the first.
pub const OWNER_NUMBERS: &str = "OWNER_NUMBERS";
/// The owner's mail address(es), comma-separated: the email processor treats mail from them
/// as the owner's.
pub const OWNER_EMAIL: &str = "OWNER_EMAIL";
/// The owner PIN (secret, 4 to 12 digits): typed on the keypad, it makes a call from an owner
/// number without full attestation an owner call.
pub const OWNER_PIN: &str = "OWNER_PIN";
/// Calls a guest (any caller who is not the owner) may make per UTC day, per number; withheld
/// numbers share one count (default 5, `off` for no limit, `0` refuses every guest call). A
/// call past it is answered with a short message and hung up.
pub const GUEST_CALLS_PER_DAY: &str = "GUEST_CALLS_PER_DAY";
/// Minutes of calls a guest may use per UTC day (default 20, `off` for no limit). A guest's
/// call may last at most the minutes left (and `MAX_CALL_SECS`); none left is answered like a
/// call past `GUEST_CALLS_PER_DAY`.
pub const GUEST_CALL_MINUTES_PER_DAY: &str = "GUEST_CALL_MINUTES_PER_DAY";
/// Texts from a guest the assistant answers per UTC day (default 20, `off` for no limit). Past
/// it the guest gets one "limit reached" reply that day, then none; STOP and HELP still work.
pub const GUEST_SMS_PER_DAY: &str = "GUEST_SMS_PER_DAY";
/// Write tools (`send_sms`, `request_booking`, `leave_message`, an emailed `create_event`) a
/// guest's conversations may run per UTC day, per number or mail sender (default 10, `off` for
/// no limit); reads and call control are not counted.
pub const GUEST_TOOL_WRITES_PER_DAY: &str = "GUEST_TOOL_WRITES_PER_DAY";
