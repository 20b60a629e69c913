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
/// Key signing the call console's session cookies (secret), optional: without it the key is
/// derived from `API_KEY`, so rotating either logs every console session out.
pub const CONSOLE_SESSION_SECRET: &str = "CONSOLE_SESSION_SECRET";
/// Greeting spoken first on every call.
pub const GREETING: &str = "GREETING";
/// `dual` to have Twilio record each call in two channels; `off` (the default) records nothing.
pub const RECORDING: &str = "RECORDING";
/// What a recorded call says before the greeting (default "This call is recorded.").
pub const RECORDING_NOTICE: &str = "RECORDING_NOTICE";
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
/// Milliseconds after a caller's last keypad press before their entry goes to the assistant
/// (default 3000; 500 to 30000). `#` or `KEYPAD_MAX_KEYS` ends an entry sooner.
pub const KEYPAD_TIMEOUT_MS: &str = "KEYPAD_TIMEOUT_MS";
/// Keys after which a caller's keypad entry goes to the assistant without waiting (default 16;
/// 1 to 32).
pub const KEYPAD_MAX_KEYS: &str = "KEYPAD_MAX_KEYS";
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
/// The JSON Schema of the fields the post-call analysis extracts: inline JSON (starting with
/// `{`) or the path of a file holding it. In OpenAI's strict subset: every object lists all its
/// properties in `required` and sets `additionalProperties: false` (an optional field is typed
/// `["string", "null"]`). Default: `appointment_booked` (boolean) and `callback_number`
/// (string or null).
pub const ANALYSIS_SCHEMA: &str = "ANALYSIS_SCHEMA";
/// What a successful call achieves, in words, for the analysis's `success` verdict.
pub const ANALYSIS_GOAL: &str = "ANALYSIS_GOAL";
/// Comma-separated `https://` (or `http://`) URLs that receive the signed webhooks; none: no
/// webhooks are sent.
pub const WEBHOOK_URLS: &str = "WEBHOOK_URLS";
/// The webhook signing secret, Standard Webhooks form `whsec_<base64 of 24 to 64 bytes>`.
/// Required with `WEBHOOK_URLS`; kept in the configuration secret in AWS.
pub const WEBHOOK_SECRET: &str = "WEBHOOK_SECRET";
/// URL of the SQS queue webhook events go through in AWS (set by template.yaml): with
/// `WEBHOOK_URLS`, a Lambda function sends each event there and the `webhook-delivery`
/// function delivers it. Unset: the process delivers from its own outbox.
pub const WEBHOOK_QUEUE_URL: &str = "WEBHOOK_QUEUE_URL";
/// SQS endpoint override for [`WEBHOOK_QUEUE_URL`] (tests on moto; unset in AWS).
pub const WEBHOOK_QUEUE_ENDPOINT: &str = "WEBHOOK_QUEUE_ENDPOINT";
/// The assistant's name, in the first words of an outbound call ("Hi, this is Ava calling for
/// …"; default `Ava`).
pub const ASSISTANT_NAME: &str = "ASSISTANT_NAME";
/// The owner's name as the assistant says it on outbound calls ("calling for Sam"); without
/// it the assistant says it is an assistant calling about the purpose.
pub const OWNER_NAME: &str = "OWNER_NAME";
/// Hours outbound calls may go out, in the callee's local time (`HH:MM-HH:MM`, default
/// `08:00-21:00`, end exclusive). A call asked for outside them is refused (422
/// `quiet_hours`); a retry falling outside them waits for the next opening.
pub const OUTBOUND_CALL_WINDOW: &str = "OUTBOUND_CALL_WINDOW";
/// Further attempts after an outbound call gets no answer or busy (default 2, at most 10).
pub const OUTBOUND_MAX_RETRIES: &str = "OUTBOUND_MAX_RETRIES";
/// Seconds before the first retry; each next one waits twice as long (default 600).
pub const OUTBOUND_RETRY_BACKOFF_SECS: &str = "OUTBOUND_RETRY_BACKOFF_SECS";
/// Outbound call attempts per UTC day for the whole deployment, retries included (default 20).
pub const OUTBOUND_CALLS_PER_DAY: &str = "OUTBOUND_CALLS_PER_DAY";
/// Seconds an outbound call rings before Twilio gives up with `no-answer` (Twilio's
/// `Timeout`, 5 to 600; default 30).
pub const OUTBOUND_RING_TIMEOUT_SECS: &str = "OUTBOUND_RING_TIMEOUT_SECS";

/// EventBridge Scheduler group that reminders' one-time schedules are created in (set by
/// template.yaml). With [`REMINDER_TARGET_ARN`] and [`REMINDER_SCHEDULER_ROLE_ARN`] it makes
/// reminders fire through EventBridge Scheduler; without it, only `phone-agent serve`'s local
/// scheduler fires them (docs/outbound.md, "Reminders").
pub const REMINDER_SCHEDULE_GROUP: &str = "REMINDER_SCHEDULE_GROUP";
/// ARN of the Lambda function a reminder's schedule invokes (the `reminders` function).
pub const REMINDER_TARGET_ARN: &str = "REMINDER_TARGET_ARN";
/// ARN of the role EventBridge Scheduler assumes to invoke [`REMINDER_TARGET_ARN`].
pub const REMINDER_SCHEDULER_ROLE_ARN: &str = "REMINDER_SCHEDULER_ROLE_ARN";
/// EventBridge Scheduler endpoint override (tests on moto; unset in AWS).
pub const REMINDER_SCHEDULER_ENDPOINT: &str = "REMINDER_SCHEDULER_ENDPOINT";
