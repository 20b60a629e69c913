//! OpenAI settings: the models, the Realtime URL built from the one configured voice model, and
//! the reasoning effort of models that take one.
//!
//! The defaults are current models with no announced shutdown date in the official `openai`
//! SDK's docstrings; `tests/model_lifecycle.rs` checks that against the installed SDK.

use std::fmt;
use std::str::FromStr;

use secrecy::SecretString;

use crate::ConfigError;
use crate::keys;
use crate::parse::Source;

/// Default voice model (`OPENAI_REALTIME_MODEL`).
pub const DEFAULT_REALTIME_MODEL: &str = "gpt-realtime-2.1";
/// Default model transcribing the caller's turns inside a Realtime session
/// (`OPENAI_TRANSCRIPTION_MODEL`); OpenAI describes it for "committed turns in Realtime
/// sessions over WebSocket".
pub const DEFAULT_TRANSCRIPTION_MODEL: &str = "gpt-transcribe";
/// Default model of the SMS, REST and email agent (`OPENAI_TEXT_MODEL`).
pub const DEFAULT_TEXT_MODEL: &str = "gpt-5.4-mini";
/// Default Realtime WebSocket base (`OPENAI_REALTIME_URL`); `?model=` is added to it.
pub const DEFAULT_REALTIME_BASE_URL: &str = "wss://api.openai.com/v1/realtime";

/// How hard a reasoning Realtime model (`gpt-realtime-2` family) thinks before it answers:
/// `reasoning.effort` of `session.update`. Higher costs latency and output tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReasoningEffort {
    /// `minimal`.
    Minimal,
    /// `low`, the default: a phone caller waits for every token of thought.
    #[default]
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
    /// `xhigh`.
    Xhigh,
}

impl ReasoningEffort {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minimal => "minimal",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Xhigh => "xhigh",
        }
    }
}

impl fmt::Display for ReasoningEffort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReasoningEffort {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "minimal" => Ok(Self::Minimal),
            "low" => Ok(Self::Low),
            "medium" => Ok(Self::Medium),
            "high" => Ok(Self::High),
            "xhigh" => Ok(Self::Xhigh),
            _ => Err("expected minimal, low, medium, high or xhigh".into()),
        }
    }
}

/// The GPT-Live model used when `VOICE_ENGINE=live` (no shutdown date announced).
pub const DEFAULT_LIVE_MODEL: &str = "gpt-live-1.1";
/// GPT-Live's primary WebSocket endpoint (no query string: the model goes in `session.start`).
pub const DEFAULT_LIVE_URL: &str = "wss://api.openai.com/v1/live/sessions";

/// Which voice API the stream host bridges calls to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum VoiceEngine {
    /// OpenAI Realtime (`/v1/realtime`), the default until Live has been used on real calls.
    #[default]
    Realtime,
    /// GPT-Live (`/v1/live/sessions`): full duplex, tools by Responses delegation.
    Live,
}

impl std::str::FromStr for VoiceEngine {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_ascii_lowercase().as_str() {
            "realtime" => Ok(Self::Realtime),
            "live" => Ok(Self::Live),
            _ => Err("expected realtime or live".into()),
        }
    }
}

/// OpenAI settings.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// Which voice API calls go to (`VOICE_ENGINE`).
    pub voice_engine: VoiceEngine,
    /// GPT-Live endpoint (`OPENAI_LIVE_URL`), no query string.
    pub live_url: String,
    /// GPT-Live model (`OPENAI_LIVE_MODEL`).
    pub live_model: String,
    /// API key; without it the local demo uses its offline stand-in.
    pub api_key: Option<SecretString>,
    /// The Realtime WebSocket URL to connect to: `OPENAI_REALTIME_URL` with
    /// `?model=<realtime_model>` (the socket's model is fixed by this query, never by
    /// `session.update`).
    pub realtime_url: String,
    /// Realtime model: the URL's `model=`, and the default price until `session.created`
    /// reports the model actually serving.
    pub realtime_model: String,
    /// `reasoning.effort` for models that take it (`gpt-realtime-2` family); others ignore it.
    pub reasoning_effort: ReasoningEffort,
    /// Model transcribing the caller (`audio.input.transcription.model`).
    pub transcription_model: String,
    /// Voice of the assistant.
    pub voice: String,
    /// Base URL of the REST API (text agent); tests point it at loopback.
    pub api_base_url: String,
    /// Model used by the text agent (SMS, REST, email).
    pub text_model: String,
}

impl OpenAiConfig {
    pub(crate) fn from_source(src: &Source<'_>) -> Result<Self, ConfigError> {
        let realtime_model = model_name(src, keys::OPENAI_REALTIME_MODEL, DEFAULT_REALTIME_MODEL)?;
        let base = src
            .url(keys::OPENAI_REALTIME_URL, &["wss", "ws"])?
            .unwrap_or_else(|| DEFAULT_REALTIME_BASE_URL.into());
        let live_url = src
            .url(keys::OPENAI_LIVE_URL, &["wss", "ws"])?
            .unwrap_or_else(|| DEFAULT_LIVE_URL.into());
        if live_url.contains('?') {
            return Err(ConfigError::invalid(
                keys::OPENAI_LIVE_URL,
                "GPT-Live is reached without a query string (the model goes in session.start)",
            ));
        }
        Ok(Self {
            voice_engine: match src.string(keys::VOICE_ENGINE) {
                Some(value) => value
                    .parse()
                    .map_err(|reason: String| ConfigError::invalid(keys::VOICE_ENGINE, reason))?,
                None => VoiceEngine::default(),
            },
            live_url,
            live_model: model_name(src, keys::OPENAI_LIVE_MODEL, DEFAULT_LIVE_MODEL)?,
            api_key: src.secret(keys::OPENAI_API_KEY),
            realtime_url: realtime_connect_url(&base, &realtime_model)?,
            realtime_model,
            reasoning_effort: match src.string(keys::OPENAI_REALTIME_REASONING_EFFORT) {
                Some(value) => value.parse().map_err(|reason: String| {
                    ConfigError::invalid(keys::OPENAI_REALTIME_REASONING_EFFORT, reason)
                })?,
                None => ReasoningEffort::default(),
            },
            transcription_model: model_name(
                src,
                keys::OPENAI_TRANSCRIPTION_MODEL,
                DEFAULT_TRANSCRIPTION_MODEL,
            )?,
            voice: src
                .string(keys::OPENAI_VOICE)
                .unwrap_or_else(|| "marin".into()),
            api_base_url: src
                .url(keys::OPENAI_API_BASE_URL, &["https", "http"])?
                .unwrap_or_else(|| "https://api.openai.com/v1".into()),
            text_model: model_name(src, keys::OPENAI_TEXT_MODEL, DEFAULT_TEXT_MODEL)?,
        })
    }
}

/// A model id as OpenAI spells them (`gpt-realtime-2.1`, `ft:…:org:id`), so it can go into a
/// URL query and a log line as is.
fn model_name(src: &Source<'_>, key: &'static str, default: &str) -> Result<String, ConfigError> {
    let Some(model) = src.string(key) else {
        return Ok(default.to_owned());
    };
    let valid = model.len() <= 128
        && model
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:".contains(c));
    if !valid {
        return Err(ConfigError::invalid(
            key,
            "expected a model id such as gpt-realtime-2.1 (letters, digits, - . _ :)",
        ));
    }
    Ok(model)
}

/// `base` with `model=<model>` in its query, other query parameters kept. A `model=` already in
/// `base` must name the same model: the socket's model is the URL's, so two different names
/// would leave the call priced (and configured) on the wrong one.
fn realtime_connect_url(base: &str, model: &str) -> Result<String, ConfigError> {
    let invalid = |reason: String| ConfigError::invalid(keys::OPENAI_REALTIME_URL, reason);
    let mut url = url::Url::parse(base).map_err(|e| invalid(format!("not a URL: {e}")))?;
    if url.fragment().is_some() {
        return Err(invalid("a WebSocket URL has no #fragment".into()));
    }
    let mut has_model = false;
    for (name, value) in url.query_pairs() {
        if name != "model" {
            continue;
        }
        if value != model {
            return Err(invalid(format!(
                "its model={value} differs from {} ({model}); the model is set once, in {}, \
                 and added to the URL",
                keys::OPENAI_REALTIME_MODEL,
                keys::OPENAI_REALTIME_MODEL
            )));
        }
        has_model = true;
    }
    if !has_model {
        url.query_pairs_mut().append_pair("model", model);
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_voice_engine_is_realtime_or_live() {
        assert_eq!("live".parse::<VoiceEngine>(), Ok(VoiceEngine::Live));
        assert_eq!(
            " Realtime ".parse::<VoiceEngine>(),
            Ok(VoiceEngine::Realtime)
        );
        assert!("sip".parse::<VoiceEngine>().is_err());
    }

    #[test]
    fn model_is_added_to_the_base_url_keeping_other_parameters() {
        assert_eq!(
            realtime_connect_url(DEFAULT_REALTIME_BASE_URL, "gpt-realtime-2.1").unwrap(),
            "wss://api.openai.com/v1/realtime?model=gpt-realtime-2.1"
        );
        assert_eq!(
            realtime_connect_url("ws://127.0.0.1:9/v1/realtime?region=eu", "m-1").unwrap(),
            "ws://127.0.0.1:9/v1/realtime?region=eu&model=m-1"
        );
    }

    #[test]
    fn a_url_naming_the_same_model_is_kept_and_another_model_is_refused() {
        let same = "wss://proxy.example/v1/realtime?model=gpt-realtime-2.1&x=1";
        assert_eq!(
            realtime_connect_url(same, "gpt-realtime-2.1").unwrap(),
            same
        );
        let other = "wss://proxy.example/v1/realtime?model=gpt-realtime";
        let err = realtime_connect_url(other, "gpt-realtime-2.1")
            .unwrap_err()
            .to_string();
        assert!(err.contains("OPENAI_REALTIME_URL"), "{err}");
        assert!(err.contains("OPENAI_REALTIME_MODEL"), "{err}");
        assert!(err.contains("gpt-realtime-2.1"), "{err}");
    }

    #[test]
    fn reasoning_effort_parses_every_documented_value() {
        for effort in [
            ReasoningEffort::Minimal,
            ReasoningEffort::Low,
            ReasoningEffort::Medium,
            ReasoningEffort::High,
            ReasoningEffort::Xhigh,
        ] {
            assert_eq!(effort.as_str().parse::<ReasoningEffort>(), Ok(effort));
        }
        assert_eq!("HIGH".parse::<ReasoningEffort>(), Ok(ReasoningEffort::High));
        assert!("extreme".parse::<ReasoningEffort>().is_err());
        assert_eq!(ReasoningEffort::default(), ReasoningEffort::Low);
    }
}
