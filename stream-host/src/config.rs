//! The stream host's settings, a plain struct so tests can build one directly.

use std::time::Duration;

use phone_config::{Config, ConfigError};
use phone_core::PriceTable;
use secrecy::SecretString;
use serde_json::Value;

/// Everything one stream host needs to bridge calls.
#[derive(Debug, Clone)]
pub struct StreamHostConfig {
    /// Public `wss://…/voice/stream` URL that Twilio signs the upgrade with.
    pub stream_url: String,
    /// Twilio auth token (signature key).
    pub twilio_auth_token: SecretString,
    /// OpenAI Realtime URL.
    pub openai_url: String,
    /// OpenAI key; `None` for a local stand-in that needs none.
    pub openai_api_key: Option<SecretString>,
    /// Realtime model, for the session and for pricing.
    pub model: String,
    /// Voice.
    pub voice: String,
    /// First words of every call.
    pub greeting: String,
    /// Persona and rules; caller memory and the time are appended per call.
    pub instructions: String,
    /// IANA time zone of the assistant.
    pub time_zone: String,
    /// `semantic_vad` instead of `server_vad`.
    pub semantic_vad: bool,
    /// Input transcription model.
    pub transcription_model: Option<String>,
    /// Tool definitions offered to the model.
    pub tools: Vec<Value>,
    /// Most concurrent calls.
    pub max_calls: usize,
    /// Longest call.
    pub max_call: Duration,
    /// Model cost (nano-USD, by `prices`) at which the call says goodbye; `None`: no cap.
    pub max_cost_nano_usd: Option<u64>,
    /// Caller silence before goodbye.
    pub idle_timeout: Duration,
    /// Grace after SIGTERM.
    pub drain: Duration,
    /// Time Twilio has to send `start` after the upgrade.
    pub start_timeout: Duration,
    /// Time to open the OpenAI socket.
    pub openai_connect_timeout: Duration,
    /// Reconnection attempts when OpenAI drops mid-call.
    pub reconnect_attempts: u32,
    /// Largest Twilio frame processed; bigger ones are dropped and counted.
    pub max_frame_bytes: usize,
    /// Name of this host, stored on each call.
    pub host_id: String,
    /// Prices for cost accounting.
    pub prices: PriceTable,
    /// Time a client has to send its request line and headers (slowloris).
    pub header_read_timeout: Duration,
}

/// The default persona.
pub const DEFAULT_INSTRUCTIONS: &str = "You are a friendly, efficient phone assistant. Speak naturally and briefly: \
one or two sentences per turn. You are on a phone line, so never read out URLs or long lists. \
If you did not understand, ask the caller to repeat.";

impl StreamHostConfig {
    /// Builds the settings from the shared configuration; the stream URL and Twilio auth
    /// token are required.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let mut instructions = DEFAULT_INSTRUCTIONS.to_owned();
        if let Some(extra) = &config.assistant.instructions {
            instructions.push('\n');
            instructions.push_str(extra);
        }
        Ok(Self {
            stream_url: config.require_stream_url()?.to_owned(),
            twilio_auth_token: config.require_twilio_auth_token()?.clone(),
            openai_url: config.openai.realtime_url.clone(),
            openai_api_key: config.openai.api_key.clone(),
            model: config.openai.realtime_model.clone(),
            voice: config.openai.voice.clone(),
            greeting: config.assistant.greeting.clone(),
            instructions,
            time_zone: config.assistant.time_zone.clone(),
            semantic_vad: config.stream.semantic_vad,
            transcription_model: Some("gpt-4o-transcribe".into()),
            tools: Vec::new(),
            max_calls: config.stream.max_calls,
            max_call: config.stream.max_call,
            max_cost_nano_usd: config.stream.max_cost_nano_usd,
            idle_timeout: config.stream.idle_timeout,
            drain: config.stream.drain,
            start_timeout: Duration::from_secs(10),
            openai_connect_timeout: Duration::from_secs(10),
            reconnect_attempts: 3,
            max_frame_bytes: phone_twilio::media::MAX_FRAME_BYTES,
            host_id: std::env::var("HOSTNAME").unwrap_or_else(|_| "stream-host".into()),
            prices: config.prices.clone(),
            header_read_timeout: config.header_read_timeout,
        })
    }
}
