//! The stream host's settings, a plain struct so tests can build one directly.

use std::time::Duration;

use phone_config::{Config, ConfigError, ReasoningEffort, VoiceEngine, keys};
use phone_core::PriceTable;
use secrecy::SecretString;

/// Everything one stream host needs to bridge calls.
#[derive(Debug, Clone)]
pub struct StreamHostConfig {
    /// Public `wss://…/voice/stream` URL that Twilio signs the upgrade with.
    pub stream_url: String,
    /// Twilio auth token (signature key).
    pub twilio_auth_token: SecretString,
    /// SharedKey secret for upgrades a Webhooks Rule signs (they carry
    /// `X-Twilio-Webhooks-Signature-Settings`); `None` refuses those.
    pub twilio_webhook_shared_key: Option<SecretString>,
    /// OpenAI Realtime URL, its `?model=` included.
    pub openai_url: String,
    /// Which voice API calls go to (`VOICE_ENGINE`).
    pub engine: VoiceEngine,
    /// GPT-Live endpoint (`OPENAI_LIVE_URL`), used when `engine` is Live.
    pub live_url: String,
    /// GPT-Live's backend model, which runs the tools (the text model, `OPENAI_TEXT_MODEL`).
    pub live_backend_model: String,
    /// OpenAI key; `None` for a local stand-in that needs none.
    pub openai_api_key: Option<SecretString>,
    /// The engine's model, for pricing until the engine reports its own: the Realtime model
    /// (the URL's `?model=`), or the GPT-Live model (`OPENAI_LIVE_MODEL`).
    pub model: String,
    /// `reasoning.effort`, sent only if `model` takes it (`gpt-realtime-2` family).
    pub reasoning_effort: ReasoningEffort,
    /// Voice.
    pub voice: String,
    /// First words of every call.
    pub greeting: String,
    /// The assistant's name, said first on outbound calls (`ASSISTANT_NAME`).
    pub assistant_name: String,
    /// The owner's name, said on outbound calls (`OWNER_NAME`).
    pub owner_name: Option<String>,
    /// Persona and rules; caller memory and the time are appended per call.
    pub instructions: String,
    /// IANA time zone of the assistant.
    pub time_zone: String,
    /// `semantic_vad` instead of `server_vad`.
    pub semantic_vad: bool,
    /// Input transcription model.
    pub transcription_model: Option<String>,
    /// Most concurrent calls.
    pub max_calls: usize,
    /// Longest call.
    pub max_call: Duration,
    /// Model cost (nano-USD, by `prices`) at which the call says goodbye; `None`: no cap.
    pub max_cost_nano_usd: Option<u64>,
    /// Caller silence before goodbye.
    pub idle_timeout: Duration,
    /// When a caller's keypad entry is complete (`KEYPAD_TIMEOUT_MS`, `KEYPAD_MAX_KEYS`).
    pub keypad: crate::machine::keypad::KeypadSettings,
    /// Grace after SIGTERM.
    pub drain: Duration,
    /// Time Twilio has to send `start` after the upgrade.
    pub start_timeout: Duration,
    /// Time to open the OpenAI socket.
    pub openai_connect_timeout: Duration,
    /// Time OpenAI has to confirm the session (`session.updated`) after it was sent. Until it
    /// does, no audio reaches Twilio (an unconfigured session speaks PCM16 at 24 kHz, which
    /// Twilio would play as noise); past it the call takes the fallback path.
    pub session_timeout: Duration,
    /// Reconnection attempts when OpenAI drops, over the whole call (a server that accepts and
    /// closes again must not get endless billed sessions).
    pub reconnect_attempts: u32,
    /// Largest Twilio frame processed; bigger ones are dropped and counted.
    pub max_frame_bytes: usize,
    /// Name of this host, stored on each call.
    pub host_id: String,
    /// Prices for cost accounting.
    pub prices: PriceTable,
    /// Time a client has to send its request line and headers (slowloris).
    pub header_read_timeout: Duration,
    /// Time any HTTP request may take to be answered; a call's socket, once upgraded, is not
    /// bound by it.
    pub request_timeout: Duration,
}

/// The default persona.
pub const DEFAULT_INSTRUCTIONS: &str = "You are a friendly, efficient phone assistant. Speak naturally and briefly: \
one or two sentences per turn. You are on a phone line, so never read out URLs or long lists. \
If you did not understand, ask the caller to repeat.";

impl StreamHostConfig {
    /// Builds the settings from the shared configuration; the stream URL and Twilio auth
    /// token are required. A Realtime model the price table does not price is an error while
    /// there is a cost cap, which there is by default (`MAX_CALL_COST_USD` unset means $2.00):
    /// the cap could never trigger. With `MAX_CALL_COST_USD=off` it is a warning.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let (model, model_key) = match config.openai.voice_engine {
            VoiceEngine::Realtime => (&config.openai.realtime_model, keys::OPENAI_REALTIME_MODEL),
            VoiceEngine::Live => (&config.openai.live_model, keys::OPENAI_LIVE_MODEL),
        };
        if config.prices.prices_for(model).is_none() {
            if config.stream.max_cost_nano_usd.is_some() {
                return Err(ConfigError::Invalid {
                    key: keys::MAX_CALL_COST_USD,
                    reason: format!(
                        "the price table has no price for {} ({model}), so the cap could never \
                         be reached; add the model to {} or set {}=off",
                        model_key,
                        keys::PRICE_TABLE_JSON,
                        keys::MAX_CALL_COST_USD
                    ),
                });
            }
            tracing::warn!(
                model = %model,
                "no price for the voice model: call costs will not be recorded (set {})",
                keys::PRICE_TABLE_JSON
            );
        }
        if !phone_realtime::session::takes_reasoning(model)
            && config.openai.reasoning_effort != ReasoningEffort::default()
        {
            tracing::warn!(
                model = %model,
                "{} is ignored: this model takes no reasoning effort",
                keys::OPENAI_REALTIME_REASONING_EFFORT
            );
        }
        let mut instructions = DEFAULT_INSTRUCTIONS.to_owned();
        if let Some(extra) = &config.assistant.instructions {
            instructions.push('\n');
            instructions.push_str(extra);
        }
        Ok(Self {
            stream_url: config.require_stream_url()?.to_owned(),
            twilio_auth_token: config.require_twilio_auth_token()?.clone(),
            twilio_webhook_shared_key: config.twilio.webhook_shared_key.clone(),
            openai_url: config.openai.realtime_url.clone(),
            engine: config.openai.voice_engine,
            live_url: config.openai.live_url.clone(),
            live_backend_model: config.openai.text_model.clone(),
            openai_api_key: config.openai.api_key.clone(),
            model: model.clone(),
            reasoning_effort: config.openai.reasoning_effort,
            voice: config.openai.voice.clone(),
            // A recorded call says so first (docs/observability.md, "Recording").
            greeting: config.recording.greeting(&config.assistant.greeting),
            assistant_name: config.assistant.name.clone(),
            owner_name: config.assistant.owner_name.clone(),
            instructions,
            time_zone: config.assistant.time_zone.clone(),
            semantic_vad: config.stream.semantic_vad,
            transcription_model: Some(config.openai.transcription_model.clone()),
            max_calls: config.stream.max_calls,
            max_call: config.stream.max_call,
            max_cost_nano_usd: config.stream.max_cost_nano_usd,
            idle_timeout: config.stream.idle_timeout,
            keypad: crate::machine::keypad::KeypadSettings {
                timeout: config.stream.keypad_timeout,
                max_keys: config.stream.keypad_max_keys,
            },
            drain: config.stream.drain,
            start_timeout: Duration::from_secs(10),
            openai_connect_timeout: Duration::from_secs(10),
            session_timeout: Duration::from_secs(3),
            reconnect_attempts: 3,
            max_frame_bytes: phone_twilio::media::MAX_FRAME_BYTES,
            host_id: std::env::var("HOSTNAME").unwrap_or_else(|_| "stream-host".into()),
            prices: config.prices.clone(),
            header_read_timeout: config.header_read_timeout,
            request_timeout: config.request_timeout,
        })
    }
}

/// The configuration `from_config` builds from the minimum a deployment sets, for unit tests.
#[cfg(test)]
pub(crate) fn minimal_for_tests() -> StreamHostConfig {
    let map = [
        ("PUBLIC_BASE_URL", "https://host.example"),
        ("TWILIO_AUTH_TOKEN", "token"),
        ("STREAM_PUBLIC_URL", "wss://host.example/voice/stream"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let config = phone_config::Config::from_map(&map).expect("the minimal configuration loads");
    StreamHostConfig::from_config(&config).expect("the minimal configuration is complete")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use serde_json::json;

    use super::*;

    fn config(extra: &[(&str, &str)]) -> Config {
        let mut map: BTreeMap<String, String> = [
            ("STREAM_PUBLIC_URL", "wss://host.example/voice/stream"),
            ("TWILIO_AUTH_TOKEN", "token"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        map.retain(|_, v| !v.is_empty());
        Config::from_map(&map).unwrap()
    }

    /// Runs `f` with a subscriber that writes into the returned buffer.
    fn logs_of<T>(f: impl FnOnce() -> T) -> (T, String) {
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let out = tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        (out, text)
    }

    #[test]
    fn the_default_model_is_priced_so_a_cost_cap_is_accepted() {
        let host = StreamHostConfig::from_config(&config(&[("MAX_CALL_COST_USD", "0.50")]));
        let host = host.unwrap();
        assert_eq!(host.model, "gpt-realtime-2.1");
        assert_eq!(host.transcription_model.as_deref(), Some("gpt-transcribe"));
        assert!(host.openai_url.ends_with("?model=gpt-realtime-2.1"));
    }

    #[test]
    fn an_unpriced_model_with_a_cost_cap_is_a_startup_error() {
        let unpriced = config(&[
            ("OPENAI_REALTIME_MODEL", "gpt-realtime-3"),
            ("MAX_CALL_COST_USD", "0.50"),
        ]);
        let err = StreamHostConfig::from_config(&unpriced)
            .unwrap_err()
            .to_string();
        assert!(err.contains("MAX_CALL_COST_USD"), "{err}");
        assert!(err.contains("OPENAI_REALTIME_MODEL"), "{err}");
        assert!(err.contains("gpt-realtime-3"), "{err}");

        // An operator's own table written for the old model: same error for the new default.
        let old_table = r#"{"gpt-realtime":{"text_in":4,"text_cached":0.4,"text_out":16,
            "audio_in":32,"audio_cached":0.4,"audio_out":64}}"#;
        let stale = config(&[("PRICE_TABLE_JSON", old_table), ("MAX_CALL_COST_USD", "1")]);
        let err = StreamHostConfig::from_config(&stale)
            .unwrap_err()
            .to_string();
        assert!(err.contains("gpt-realtime-2.1"), "{err}");
    }

    #[test]
    fn an_unpriced_model_with_the_default_cap_is_a_startup_error() {
        // No MAX_CALL_COST_USD: the default cap is in force, and needs a price.
        let unpriced = config(&[("OPENAI_REALTIME_MODEL", "gpt-realtime-3")]);
        let err = StreamHostConfig::from_config(&unpriced)
            .unwrap_err()
            .to_string();
        assert!(err.contains("MAX_CALL_COST_USD=off"), "{err}");
        assert!(err.contains("gpt-realtime-3"), "{err}");
        let host = StreamHostConfig::from_config(&config(&[])).unwrap();
        assert_eq!(host.max_cost_nano_usd, Some(2_000_000_000));
    }

    #[test]
    fn an_unpriced_model_without_a_cap_starts_with_a_warning() {
        let unpriced = config(&[
            ("OPENAI_REALTIME_MODEL", "gpt-realtime-3"),
            ("MAX_CALL_COST_USD", "off"),
        ]);
        let (host, logs) = logs_of(|| StreamHostConfig::from_config(&unpriced));
        assert_eq!(host.unwrap().model, "gpt-realtime-3");
        assert!(logs.contains("WARN"), "{logs}");
        assert!(logs.contains("no price for the voice model"), "{logs}");
        assert!(logs.contains("gpt-realtime-3"), "{logs}");

        let (_, quiet) = logs_of(|| StreamHostConfig::from_config(&config(&[])));
        assert!(!quiet.contains("no price"), "{quiet}");
    }

    #[test]
    fn the_live_engine_prices_its_own_model() {
        let live = StreamHostConfig::from_config(&config(&[("VOICE_ENGINE", "live")])).unwrap();
        assert_eq!(live.engine, VoiceEngine::Live);
        assert_eq!(live.model, phone_config::DEFAULT_LIVE_MODEL);
        assert_eq!(live.live_url, phone_config::DEFAULT_LIVE_URL);
        let unpriced = config(&[
            ("VOICE_ENGINE", "live"),
            ("OPENAI_LIVE_MODEL", "gpt-live-9"),
        ]);
        let err = StreamHostConfig::from_config(&unpriced)
            .unwrap_err()
            .to_string();
        assert!(err.contains("OPENAI_LIVE_MODEL"), "{err}");
    }

    #[test]
    fn reasoning_effort_reaches_only_models_that_take_it() {
        let event = |extra: &[(&str, &str)]| {
            let host = StreamHostConfig::from_config(&config(extra)).unwrap();
            let text = crate::openai::session_update(&host, &[], "Be brief.", "session-1");
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        };
        let default = event(&[]);
        assert_eq!(default["session"]["reasoning"], json!({"effort": "low"}));
        assert_eq!(default["event_id"], "session-1");
        assert!(default["session"].get("model").is_none());
        let high = event(&[("OPENAI_REALTIME_REASONING_EFFORT", "high")]);
        assert_eq!(high["session"]["reasoning"], json!({"effort": "high"}));
        let old = event(&[
            ("OPENAI_REALTIME_MODEL", "gpt-realtime-mini"),
            ("OPENAI_REALTIME_REASONING_EFFORT", "high"),
        ]);
        assert!(old["session"].get("reasoning").is_none(), "{old}");
    }
}
