//! Configuration and logging set-up shared by every binary.
//!
//! - [`Config`] is read from a flat map of `KEY → value`: the process environment locally, and
//!   in AWS the environment overlaid with one Secrets Manager secret (a JSON object with the
//!   same keys), loaded once per cold start by the caller (see `phone-wiring`).
//! - Every key is documented in [`keys`]; a missing or malformed value gives one
//!   [`ConfigError`] naming the key.
//! - Secrets are [`secrecy::SecretString`]: `Debug` prints `[REDACTED]`, so a `Config` can be
//!   logged whole without leaking anything.
//! - [`logging::init`] sets up `tracing`: JSON in AWS, readable text locally.

pub mod keys;
pub mod logging;
mod openai;
mod parse;
mod post_call;
mod recording;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use phone_core::email::ReplyPolicy;
use phone_core::quota::GuestQuotas;
use phone_core::store::Retention;
use phone_core::{PhoneNumber, PriceTable};
use secrecy::SecretString;

pub use openai::{
    DEFAULT_LIVE_MODEL, DEFAULT_LIVE_URL, DEFAULT_REALTIME_BASE_URL, DEFAULT_REALTIME_MODEL,
    DEFAULT_TEXT_MODEL, DEFAULT_TRANSCRIPTION_MODEL, OpenAiConfig, ReasoningEffort, VoiceEngine,
};
pub use parse::ConfigError;
use parse::Source;
pub use post_call::{PostCallConfig, WebhookQueueConfig};
pub use recording::{DEFAULT_RECORDING_NOTICE, RecordingConfig, RecordingMode};

/// The default `MAX_CALL_COST_USD`, $2.00 in nano-USD. The model cost of a normal
/// conversation that lasts the whole default `MAX_CALL_SECS` (30 minutes: about 15 of caller
/// audio, 10 of assistant audio, a hundred responses re-billing their context) is about $1.60
/// by the default model's prices (docs/operations.md has the arithmetic), so the cap cuts only
/// calls that spend faster than a conversation does: a model talking on its own, a runaway
/// loop, a caller keeping it busy on purpose. A typical 3-minute call costs about $0.13.
pub const DEFAULT_MAX_CALL_COST_NANO_USD: u64 = 2_000_000_000;

/// Where state is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// DynamoDB single table; `endpoint` overrides the AWS endpoint (moto, DynamoDB Local).
    DynamoDb {
        /// Table name.
        table: String,
        /// Endpoint override, e.g. `http://127.0.0.1:5000`.
        endpoint: Option<String>,
    },
    /// The embedded file-backed store; `None` keeps everything in memory.
    Local {
        /// File path of the store's log.
        path: Option<PathBuf>,
    },
}

/// Twilio account settings.
#[derive(Debug, Clone)]
pub struct TwilioConfig {
    /// Account SID (`AC…`), for REST paths.
    pub account_sid: Option<String>,
    /// Auth token: signs webhooks and, without an API key, authenticates REST calls.
    pub auth_token: Option<SecretString>,
    /// SharedKey secret for webhooks a Webhooks Rule signs (they carry
    /// `X-Twilio-Webhooks-Signature-Settings`); `None` refuses such webhooks.
    pub webhook_shared_key: Option<SecretString>,
    /// Optional API key SID (`SK…`) for REST calls.
    pub api_key_sid: Option<String>,
    /// Secret of the API key.
    pub api_key_secret: Option<SecretString>,
    /// REST base URL; tests point it at loopback.
    pub api_base_url: String,
    /// Our Twilio number, used as the SMS sender.
    pub from_number: Option<PhoneNumber>,
    /// Where `transfer_call` sends the caller.
    pub transfer_number: Option<PhoneNumber>,
}

/// Google account access; the adapters are used only when client id, secret and refresh token
/// are all set.
#[derive(Debug, Clone)]
pub struct GoogleConfig {
    /// OAuth client id.
    pub client_id: Option<String>,
    /// OAuth client secret.
    pub client_secret: Option<SecretString>,
    /// Refresh token.
    pub refresh_token: Option<SecretString>,
    /// Token endpoint.
    pub token_url: Option<String>,
    /// Gmail API base.
    pub gmail_base_url: Option<String>,
    /// Google Calendar API base.
    pub calendar_base_url: Option<String>,
    /// Calendar the tools use (`primary` unless set).
    pub calendar_id: String,
    /// Consent screen URL.
    pub auth_url: Option<String>,
    /// Key signing the OAuth `state`.
    pub state_secret: Option<SecretString>,
}

/// What the assistant says and assumes.
#[derive(Debug, Clone)]
pub struct AssistantConfig {
    /// First words on every call.
    pub greeting: String,
    /// IANA time zone the assistant works in, e.g. `Europe/Paris`.
    pub time_zone: String,
    /// Extra instructions appended to the built-in ones.
    pub instructions: Option<String>,
    /// The assistant's name, said on outbound calls (`ASSISTANT_NAME`, default `Ava`).
    pub name: String,
    /// The owner's name, said on outbound calls (`OWNER_NAME`).
    pub owner_name: Option<String>,
}

/// Outbound calls: the policy and how long they ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundSettings {
    /// Quiet hours, retries, daily cap.
    pub policy: phone_core::outbound::policy::CallPolicy,
    /// Seconds an attempt rings (Twilio's `Timeout`).
    pub ring_timeout_secs: u32,
}

/// Limits and behaviour of the stream host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSettings {
    /// Most concurrent calls on one host.
    pub max_calls: usize,
    /// Longest call.
    pub max_call: Duration,
    /// Model cost (nano-USD) at which a call ends politely (default
    /// [`DEFAULT_MAX_CALL_COST_NANO_USD`]); `None` means no cap (`MAX_CALL_COST_USD=off`).
    pub max_cost_nano_usd: Option<u64>,
    /// Caller silence before the assistant checks in, then says goodbye.
    pub idle_timeout: Duration,
    /// Time live calls get after SIGTERM.
    pub drain: Duration,
    /// `semantic_vad` instead of `server_vad`.
    pub semantic_vad: bool,
    /// Wait after a keypad press before the entry goes to the assistant (`KEYPAD_TIMEOUT_MS`).
    pub keypad_timeout: Duration,
    /// Keys that end a keypad entry without waiting (`KEYPAD_MAX_KEYS`).
    pub keypad_max_keys: usize,
}

/// The email processor's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSettings {
    /// What happens to the replies it writes.
    pub reply_policy: ReplyPolicy,
    /// The mail search it reads.
    pub query: String,
}

/// Where reminders' EventBridge Scheduler schedules go (all three set, or none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderScheduler {
    /// The schedule group (`REMINDER_SCHEDULE_GROUP`).
    pub group: String,
    /// The function a schedule invokes (`REMINDER_TARGET_ARN`).
    pub target_arn: String,
    /// The role the scheduler invokes it with (`REMINDER_SCHEDULER_ROLE_ARN`).
    pub role_arn: String,
    /// Endpoint override (`REMINDER_SCHEDULER_ENDPOINT`), for tests.
    pub endpoint: Option<String>,
}

/// Every setting of the system. Build with [`Config::from_env`] or [`Config::from_map`].
#[derive(Debug, Clone)]
pub struct Config {
    /// Public HTTPS base of the webhooks (`https://abc.execute-api…/`), the URL Twilio signs.
    /// Never taken from the `Host` header, which a proxy or an attacker controls.
    pub public_base_url: Option<String>,
    /// Public `wss://…/voice/stream` URL of the stream host, put in TwiML and signed by Twilio.
    pub stream_url: Option<String>,
    /// Twilio account.
    pub twilio: TwilioConfig,
    /// OpenAI account.
    pub openai: OpenAiConfig,
    /// State store.
    pub store: StoreChoice,
    /// Bearer key for the REST API.
    pub api_key: Option<SecretString>,
    /// Key signing the call console's session cookies (`CONSOLE_SESSION_SECRET`); `None`
    /// derives it from `api_key`.
    pub console_session_secret: Option<SecretString>,
    /// Assistant behaviour.
    pub assistant: AssistantConfig,
    /// How long data is kept.
    pub retention: Retention,
    /// Prices for cost accounting.
    pub prices: PriceTable,
    /// Stream token lifetime: Twilio connects within seconds of the TwiML.
    pub stream_token_ttl: Duration,
    /// Stream host limits.
    pub stream: StreamSettings,
    /// Google account access.
    pub google: GoogleConfig,
    /// The email processor.
    pub email: EmailSettings,
    /// EventBridge Scheduler for reminders; `None` outside AWS (the local scheduler fires them).
    pub reminder_scheduler: Option<ReminderScheduler>,
    /// How long `POST /sms/incoming` waits for the agent before answering Twilio empty and
    /// texting the answer later.
    pub sms_reply_deadline: Duration,
    /// How long `POST /agent` may take in all: below the agent function's Lambda timeout, so
    /// the client gets a clear 504 rather than a cut connection.
    pub agent_deadline: Duration,
    /// How long a client has to send a request's line and headers to a long-running server.
    pub header_read_timeout: Duration,
    /// How long any HTTP request may take before it is answered 504.
    pub request_timeout: Duration,
    /// The owner's numbers (`OWNER_NUMBERS`), in the order given; the first is texted booking
    /// requests, guests' messages, and when a call fails with no transfer number.
    pub owner_numbers: Vec<PhoneNumber>,
    /// The owner's mail addresses, lower-case (`OWNER_EMAIL`).
    pub owner_emails: Vec<String>,
    /// The owner PIN (`OWNER_PIN`), redacted in `Debug`.
    pub owner_pin: Option<SecretString>,
    /// Guests' daily limits (`GUEST_CALLS_PER_DAY`, `GUEST_CALL_MINUTES_PER_DAY`,
    /// `GUEST_SMS_PER_DAY`, `GUEST_TOOL_WRITES_PER_DAY`).
    pub guest_quotas: GuestQuotas,
    /// Call recording (`RECORDING`, `RECORDING_NOTICE`); off by default.
    pub recording: RecordingConfig,
    /// Post-call analysis and signed webhooks (`ANALYSIS_*`, `WEBHOOK_*`).
    pub post_call: PostCallConfig,
    /// Outbound calls (`OUTBOUND_*`).
    pub outbound: OutboundSettings,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_map(&std::env::vars().collect())
    }

    /// Reads a `KEY → value` map (environment, secret, or both merged).
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let src = Source::new(map);
        let store = match src.string(keys::TABLE_NAME) {
            Some(table) => StoreChoice::DynamoDb {
                table,
                endpoint: src.string(keys::DYNAMODB_ENDPOINT),
            },
            None => StoreChoice::Local {
                path: src.string(keys::LOCAL_STORE_PATH).map(PathBuf::from),
            },
        };
        let day = 24 * 3600;
        let defaults = Retention::default();
        let retention = Retention {
            calls: src.days(keys::RETENTION_CALLS_DAYS, defaults.calls.as_secs() / day)?,
            memory: src.days(keys::RETENTION_MEMORY_DAYS, defaults.memory.as_secs() / day)?,
            sms: src.days(keys::RETENTION_SMS_DAYS, defaults.sms.as_secs() / day)?,
            idempotency: defaults.idempotency,
        };
        let prices = match src.string(keys::PRICE_TABLE_JSON) {
            Some(json) => PriceTable::from_json(&json)
                .map_err(|e| ConfigError::invalid(keys::PRICE_TABLE_JSON, e.to_string()))?,
            None => PriceTable::default(),
        };
        Ok(Self {
            public_base_url: src.url(keys::PUBLIC_BASE_URL, &["https", "http"])?,
            stream_url: src.url(keys::STREAM_PUBLIC_URL, &["wss", "ws"])?,
            twilio: TwilioConfig {
                account_sid: src.prefixed(keys::TWILIO_ACCOUNT_SID, "AC")?,
                auth_token: src.secret(keys::TWILIO_AUTH_TOKEN),
                webhook_shared_key: src.secret(keys::TWILIO_WEBHOOK_SHARED_KEY_SECRET),
                api_key_sid: src.prefixed(keys::TWILIO_API_KEY_SID, "SK")?,
                api_key_secret: src.secret(keys::TWILIO_API_KEY_SECRET),
                api_base_url: src
                    .url(keys::TWILIO_API_BASE_URL, &["https", "http"])?
                    .unwrap_or_else(|| "https://api.twilio.com".into()),
                from_number: src.phone(keys::TWILIO_FROM_NUMBER)?,
                transfer_number: src.phone(keys::TRANSFER_NUMBER)?,
            },
            openai: OpenAiConfig::from_source(&src)?,
            post_call: PostCallConfig::from_source(&src)?,
            store,
            api_key: src.secret(keys::API_KEY),
            console_session_secret: src.secret(keys::CONSOLE_SESSION_SECRET),
            assistant: AssistantConfig {
                greeting: src
                    .string(keys::GREETING)
                    .unwrap_or_else(|| "Hello! I'm your assistant. How can I help?".into()),
                time_zone: src
                    .time_zone(keys::TIME_ZONE)?
                    .unwrap_or_else(|| "UTC".into()),
                instructions: src.string(keys::ASSISTANT_INSTRUCTIONS),
                name: src
                    .string(keys::ASSISTANT_NAME)
                    .unwrap_or_else(|| "Ava".into()),
                owner_name: src.string(keys::OWNER_NAME),
            },
            retention,
            prices,
            stream_token_ttl: Duration::from_secs(src.u64(keys::STREAM_TOKEN_TTL_SECS, 120)?),
            google: GoogleConfig {
                client_id: src.string(keys::GOOGLE_CLIENT_ID),
                client_secret: src.secret(keys::GOOGLE_CLIENT_SECRET),
                refresh_token: src.secret(keys::GOOGLE_REFRESH_TOKEN),
                token_url: src.url(keys::GOOGLE_TOKEN_URL, &["https", "http"])?,
                gmail_base_url: src.url(keys::GMAIL_BASE_URL, &["https", "http"])?,
                calendar_base_url: src.url(keys::GOOGLE_CALENDAR_BASE_URL, &["https", "http"])?,
                calendar_id: src
                    .string(keys::GOOGLE_CALENDAR_ID)
                    .unwrap_or_else(|| "primary".into()),
                auth_url: src.url(keys::GOOGLE_AUTH_URL, &["https", "http"])?,
                state_secret: match src.secret(keys::OAUTH_STATE_SECRET) {
                    Some(key) if secrecy::ExposeSecret::expose_secret(&key).len() < 32 => {
                        return Err(ConfigError::invalid(
                            keys::OAUTH_STATE_SECRET,
                            "must be at least 32 characters (a random key)",
                        ));
                    }
                    other => other,
                },
            },
            email: EmailSettings {
                reply_policy: match src.string(keys::EMAIL_REPLY_POLICY) {
                    Some(value) => value
                        .parse()
                        .map_err(|e: String| ConfigError::invalid(keys::EMAIL_REPLY_POLICY, e))?,
                    None => ReplyPolicy::default(),
                },
                query: src
                    .string(keys::EMAIL_QUERY)
                    .unwrap_or_else(|| phone_core::email::DEFAULT_QUERY.into()),
            },
            reminder_scheduler: match (
                src.string(keys::REMINDER_SCHEDULE_GROUP),
                src.string(keys::REMINDER_TARGET_ARN),
                src.string(keys::REMINDER_SCHEDULER_ROLE_ARN),
            ) {
                (Some(group), Some(target_arn), Some(role_arn)) => Some(ReminderScheduler {
                    group,
                    target_arn,
                    role_arn,
                    endpoint: src.string(keys::REMINDER_SCHEDULER_ENDPOINT),
                }),
                (None, None, None) => None,
                _ => {
                    return Err(ConfigError::invalid(
                        keys::REMINDER_SCHEDULE_GROUP,
                        "set REMINDER_SCHEDULE_GROUP, REMINDER_TARGET_ARN and REMINDER_SCHEDULER_ROLE_ARN together, or none of them",
                    ));
                }
            },
            owner_numbers: src.phones(keys::OWNER_NUMBERS)?,
            owner_emails: src.emails(keys::OWNER_EMAIL)?,
            owner_pin: src.pin(keys::OWNER_PIN)?,
            recording: RecordingConfig::from_source(&src)?,
            guest_quotas: {
                let d = GuestQuotas::default();
                GuestQuotas {
                    calls: src.limit(keys::GUEST_CALLS_PER_DAY, d.calls)?,
                    call_minutes: src.limit(keys::GUEST_CALL_MINUTES_PER_DAY, d.call_minutes)?,
                    sms: src.limit(keys::GUEST_SMS_PER_DAY, d.sms)?,
                    tool_writes: src.limit(keys::GUEST_TOOL_WRITES_PER_DAY, d.tool_writes)?,
                }
            },
            sms_reply_deadline: match src.u64(keys::SMS_REPLY_DEADLINE_SECS, 10)? {
                // Twilio gives up on a webhook after 15 s; past 14 the empty answer is too late.
                secs @ 1..=14 => Duration::from_secs(secs),
                _ => {
                    return Err(ConfigError::invalid(
                        keys::SMS_REPLY_DEADLINE_SECS,
                        "expected 1 to 14 seconds (Twilio waits 15)",
                    ));
                }
            },
            agent_deadline: match src.u64(keys::AGENT_DEADLINE_SECS, 25)? {
                // template.yaml gives the agent function 29 s; the 504 must leave before that.
                secs @ 1..=28 => Duration::from_secs(secs),
                _ => {
                    return Err(ConfigError::invalid(
                        keys::AGENT_DEADLINE_SECS,
                        "expected 1 to 28 seconds (the agent function's timeout is 29)",
                    ));
                }
            },
            header_read_timeout: match src.u64(keys::HEADER_READ_TIMEOUT_SECS, 10)? {
                secs @ 1..=300 => Duration::from_secs(secs),
                _ => {
                    return Err(ConfigError::invalid(
                        keys::HEADER_READ_TIMEOUT_SECS,
                        "expected 1 to 300 seconds",
                    ));
                }
            },
            outbound: outbound_settings(&src)?,
            request_timeout: match src.u64(keys::REQUEST_TIMEOUT_SECS, 29)? {
                secs @ 1..=900 => Duration::from_secs(secs),
                _ => {
                    return Err(ConfigError::invalid(
                        keys::REQUEST_TIMEOUT_SECS,
                        "expected 1 to 900 seconds",
                    ));
                }
            },
            stream: StreamSettings {
                max_calls: src.u64(keys::STREAM_MAX_CALLS, 500)? as usize,
                max_call: Duration::from_secs(src.u64(keys::MAX_CALL_SECS, 1800)?),
                max_cost_nano_usd: src.usd_cap(
                    keys::MAX_CALL_COST_USD,
                    Some(DEFAULT_MAX_CALL_COST_NANO_USD),
                )?,
                idle_timeout: Duration::from_secs(src.u64(keys::IDLE_TIMEOUT_SECS, 60)?),
                keypad_timeout: match src.u64(keys::KEYPAD_TIMEOUT_MS, 3000)? {
                    ms @ 500..=30_000 => Duration::from_millis(ms),
                    _ => {
                        return Err(ConfigError::invalid(
                            keys::KEYPAD_TIMEOUT_MS,
                            "expected 500 to 30000 milliseconds",
                        ));
                    }
                },
                keypad_max_keys: match src.u64(keys::KEYPAD_MAX_KEYS, 16)? {
                    n @ 1..=32 => n as usize,
                    _ => {
                        return Err(ConfigError::invalid(
                            keys::KEYPAD_MAX_KEYS,
                            "expected 1 to 32 keys",
                        ));
                    }
                },
                drain: Duration::from_secs(src.u64(keys::DRAIN_SECS, 100)?),
                semantic_vad: match src.string(keys::TURN_DETECTION).as_deref() {
                    None | Some("server_vad") => false,
                    Some("semantic_vad") => true,
                    Some(_) => {
                        return Err(ConfigError::invalid(
                            keys::TURN_DETECTION,
                            "expected server_vad or semantic_vad",
                        ));
                    }
                },
            },
        })
    }

    /// The Twilio auth token, or an error naming `TWILIO_AUTH_TOKEN`.
    pub fn require_twilio_auth_token(&self) -> Result<&SecretString, ConfigError> {
        self.twilio
            .auth_token
            .as_ref()
            .ok_or(ConfigError::Missing(keys::TWILIO_AUTH_TOKEN))
    }

    /// The public webhook base URL, or an error naming `PUBLIC_BASE_URL`.
    pub fn require_public_base_url(&self) -> Result<&str, ConfigError> {
        self.public_base_url
            .as_deref()
            .ok_or(ConfigError::Missing(keys::PUBLIC_BASE_URL))
    }

    /// The stream host's public URL, or an error naming `STREAM_PUBLIC_URL`.
    pub fn require_stream_url(&self) -> Result<&str, ConfigError> {
        self.stream_url
            .as_deref()
            .ok_or(ConfigError::Missing(keys::STREAM_PUBLIC_URL))
    }

    /// Who the owner is, for the access decisions.
    pub fn owners(&self) -> phone_core::access::Owners {
        phone_core::access::Owners {
            numbers: self.owner_numbers.clone(),
            emails: self.owner_emails.clone(),
        }
    }

    /// The REST API key, or an error naming `API_KEY`.
    pub fn require_api_key(&self) -> Result<&SecretString, ConfigError> {
        self.api_key
            .as_ref()
            .ok_or(ConfigError::Missing(keys::API_KEY))
    }
}

/// `OUTBOUND_*`, each checked against its range.
fn outbound_settings(src: &Source<'_>) -> Result<OutboundSettings, ConfigError> {
    use phone_core::outbound::policy::CallPolicy;
    let d = CallPolicy::default();
    let window = match src.string(keys::OUTBOUND_CALL_WINDOW) {
        Some(v) => v
            .parse()
            .map_err(|e: String| ConfigError::invalid(keys::OUTBOUND_CALL_WINDOW, e))?,
        None => d.window,
    };
    let max_retries = src.u64(keys::OUTBOUND_MAX_RETRIES, d.max_retries.into())?;
    if max_retries > 10 {
        return Err(ConfigError::invalid(
            keys::OUTBOUND_MAX_RETRIES,
            "expected 0 to 10",
        ));
    }
    let backoff = src.u64(keys::OUTBOUND_RETRY_BACKOFF_SECS, d.retry_backoff.as_secs())?;
    if !(1..=86_400).contains(&backoff) {
        return Err(ConfigError::invalid(
            keys::OUTBOUND_RETRY_BACKOFF_SECS,
            "expected 1 to 86400 seconds",
        ));
    }
    let per_day = src.u64(keys::OUTBOUND_CALLS_PER_DAY, d.max_calls_per_day.into())?;
    let ring = src.u64(keys::OUTBOUND_RING_TIMEOUT_SECS, 30)?;
    if !(5..=600).contains(&ring) {
        return Err(ConfigError::invalid(
            keys::OUTBOUND_RING_TIMEOUT_SECS,
            "expected 5 to 600 seconds (Twilio's Timeout)",
        ));
    }
    Ok(OutboundSettings {
        policy: CallPolicy {
            window,
            max_retries: max_retries as u32,
            retry_backoff: Duration::from_secs(backoff),
            max_calls_per_day: u32::try_from(per_day).unwrap_or(u32::MAX),
        },
        ring_timeout_secs: ring as u32,
    })
}

/// Overlays `secret` on `env`: keys in the secret win. Used in AWS, where the environment holds
/// non-secret settings (table name, URLs) and the secret holds credentials.
pub fn merge_sources(
    env: BTreeMap<String, String>,
    secret: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut merged = env;
    merged.extend(secret);
    merged
}

#[cfg(test)]
mod tests;
