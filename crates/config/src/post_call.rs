//! After the call: the analysis's schema and goal, and where signed webhooks go
//! (docs/observability.md, "Reports" and "Webhooks").

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::ConfigError;
use crate::keys;
use crate::parse::Source;

/// Largest `ANALYSIS_SCHEMA` accepted, inline or in its file.
const MAX_SCHEMA_BYTES: usize = 64 * 1024;
/// Most webhook URLs.
const MAX_WEBHOOK_URLS: usize = 10;

/// The SQS queue between the Lambda functions that emit events and the function that
/// delivers them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookQueueConfig {
    /// The queue's URL (`WEBHOOK_QUEUE_URL`).
    pub url: String,
    /// Endpoint override (`WEBHOOK_QUEUE_ENDPOINT`), for tests.
    pub endpoint: Option<String>,
}

/// Post-call analysis and webhook settings.
#[derive(Debug, Clone, Default)]
pub struct PostCallConfig {
    /// The operator's fields schema (`ANALYSIS_SCHEMA`), parsed; `None`: the default one.
    pub analysis_schema: Option<Value>,
    /// The goal the verdict is judged against (`ANALYSIS_GOAL`); `None`: the default one.
    pub analysis_goal: Option<String>,
    /// Receivers of the signed webhooks (`WEBHOOK_URLS`), in order.
    pub webhook_urls: Vec<String>,
    /// The signing secret (`WEBHOOK_SECRET`, `whsec_…`), redacted in `Debug`; set whenever
    /// `webhook_urls` is not empty.
    pub webhook_secret: Option<SecretString>,
    /// The SQS queue events go through in AWS (`WEBHOOK_QUEUE_URL`), if set.
    pub webhook_queue: Option<WebhookQueueConfig>,
    /// Analyse with the offline stand-in even though an OpenAI key is set: not a key, set by
    /// `phone-agent demo` offline, whose key only opens its local Realtime stand-in.
    pub analysis_stand_in: bool,
}

impl PostCallConfig {
    pub(crate) fn from_source(src: &Source<'_>) -> Result<Self, ConfigError> {
        let webhook_urls = webhook_urls(src)?;
        let webhook_secret = src.secret(keys::WEBHOOK_SECRET);
        if let Some(secret) = &webhook_secret {
            check_secret(secret.expose_secret())
                .map_err(|reason| ConfigError::invalid(keys::WEBHOOK_SECRET, reason))?;
        } else if !webhook_urls.is_empty() {
            return Err(ConfigError::Missing(keys::WEBHOOK_SECRET));
        }
        Ok(Self {
            analysis_schema: analysis_schema(src)?,
            analysis_goal: src.string(keys::ANALYSIS_GOAL),
            webhook_urls,
            webhook_secret,
            webhook_queue: webhook_queue(src)?,
            analysis_stand_in: false,
        })
    }
}

fn webhook_urls(src: &Source<'_>) -> Result<Vec<String>, ConfigError> {
    let Some(list) = src.string(keys::WEBHOOK_URLS) else {
        return Ok(Vec::new());
    };
    let urls: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect();
    if urls.len() > MAX_WEBHOOK_URLS {
        return Err(ConfigError::invalid(
            keys::WEBHOOK_URLS,
            format!("at most {MAX_WEBHOOK_URLS} URLs"),
        ));
    }
    for url in &urls {
        let parsed = url::Url::parse(url)
            .map_err(|e| ConfigError::invalid(keys::WEBHOOK_URLS, format!("not a URL ({e})")))?;
        if !matches!(parsed.scheme(), "https" | "http") || parsed.host().is_none() {
            return Err(ConfigError::invalid(
                keys::WEBHOOK_URLS,
                "expected https:// (or http://) URLs with a host",
            ));
        }
    }
    Ok(urls)
}

fn webhook_queue(src: &Source<'_>) -> Result<Option<WebhookQueueConfig>, ConfigError> {
    let Some(url) = src.string(keys::WEBHOOK_QUEUE_URL) else {
        return Ok(None);
    };
    let parsed = url::Url::parse(&url)
        .map_err(|e| ConfigError::invalid(keys::WEBHOOK_QUEUE_URL, format!("not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host().is_none() {
        return Err(ConfigError::invalid(
            keys::WEBHOOK_QUEUE_URL,
            "expected the queue's https:// URL",
        ));
    }
    Ok(Some(WebhookQueueConfig {
        url,
        endpoint: src.string(keys::WEBHOOK_QUEUE_ENDPOINT),
    }))
}

/// `whsec_` + standard base64 of 24 to 64 bytes (Standard Webhooks' secret form). The reason
/// never quotes the value.
fn check_secret(secret: &str) -> Result<(), String> {
    let Some(encoded) = secret.strip_prefix("whsec_") else {
        return Err("expected whsec_<base64> (the Standard Webhooks secret form)".into());
    };
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| "the part after whsec_ is not standard base64".to_owned())?;
    if !(24..=64).contains(&key.len()) {
        return Err(format!(
            "the key is {} bytes; expected 24 to 64 random bytes",
            key.len()
        ));
    }
    Ok(())
}

fn analysis_schema(src: &Source<'_>) -> Result<Option<Value>, ConfigError> {
    let Some(value) = src.string(keys::ANALYSIS_SCHEMA) else {
        return Ok(None);
    };
    let text = if value.starts_with('{') {
        value
    } else {
        let meta = std::fs::metadata(&value).map_err(|e| {
            ConfigError::invalid(keys::ANALYSIS_SCHEMA, format!("schema file: {e}"))
        })?;
        if meta.len() > MAX_SCHEMA_BYTES as u64 {
            return Err(ConfigError::invalid(
                keys::ANALYSIS_SCHEMA,
                format!("schema file larger than {MAX_SCHEMA_BYTES} bytes"),
            ));
        }
        std::fs::read_to_string(&value)
            .map_err(|e| ConfigError::invalid(keys::ANALYSIS_SCHEMA, format!("schema file: {e}")))?
    };
    if text.len() > MAX_SCHEMA_BYTES {
        return Err(ConfigError::invalid(
            keys::ANALYSIS_SCHEMA,
            format!("larger than {MAX_SCHEMA_BYTES} bytes"),
        ));
    }
    let schema: Value = serde_json::from_str(&text)
        .map_err(|e| ConfigError::invalid(keys::ANALYSIS_SCHEMA, format!("not JSON: {e}")))?;
    if !schema.is_object() {
        return Err(ConfigError::invalid(
            keys::ANALYSIS_SCHEMA,
            "expected a JSON Schema object",
        ));
    }
    Ok(Some(schema))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<PostCallConfig, ConfigError> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        PostCallConfig::from_source(&Source::new(&map))
    }

    #[test]
    fn urls_need_a_standard_webhooks_secret() {
        let url = (
            "WEBHOOK_URLS",
            "https://a.example/hook, http://127.0.0.1:9/x",
        );
        assert_eq!(
            read(&[url]).unwrap_err(),
            ConfigError::Missing(keys::WEBHOOK_SECRET)
        );
        let bad = read(&[url, ("WEBHOOK_SECRET", "hunter2")]).unwrap_err();
        assert!(!bad.to_string().contains("hunter2"), "{bad}");
        let short = read(&[url, ("WEBHOOK_SECRET", "whsec_AAAA")]).unwrap_err();
        assert!(short.to_string().contains("3 bytes"), "{short}");
        let ok = read(&[
            url,
            ("WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ])
        .unwrap();
        assert_eq!(ok.webhook_urls.len(), 2);
        assert!(!format!("{ok:?}").contains("MfKQ9r8"));
        assert!(read(&[("WEBHOOK_URLS", "ftp://a.example/")]).is_err());
    }

    #[test]
    fn the_queue_is_an_http_url_with_an_optional_endpoint() {
        assert_eq!(read(&[]).unwrap().webhook_queue, None);
        let url = "https://sqs.eu-west-1.amazonaws.com/123456789012/phone-agent-webhooks";
        let queue = read(&[("WEBHOOK_QUEUE_URL", url)])
            .unwrap()
            .webhook_queue
            .unwrap();
        assert_eq!(queue.url, url);
        assert_eq!(queue.endpoint, None);
        let moto = read(&[
            ("WEBHOOK_QUEUE_URL", "http://127.0.0.1:5000/123456789012/q"),
            ("WEBHOOK_QUEUE_ENDPOINT", "http://127.0.0.1:5000"),
        ])
        .unwrap()
        .webhook_queue
        .unwrap();
        assert_eq!(moto.endpoint.as_deref(), Some("http://127.0.0.1:5000"));
        assert!(read(&[("WEBHOOK_QUEUE_URL", "phone-agent-webhooks")]).is_err());
    }

    #[test]
    fn schema_is_inline_json_or_a_file() {
        let inline = read(&[("ANALYSIS_SCHEMA", r#"{"type":"object"}"#)]).unwrap();
        assert_eq!(inline.analysis_schema.unwrap()["type"], "object");
        let path = std::env::temp_dir().join(format!("schema-{}.json", std::process::id()));
        std::fs::write(&path, r#"{"type":"object","properties":{}}"#).unwrap();
        let from_file = read(&[("ANALYSIS_SCHEMA", path.to_str().unwrap())]).unwrap();
        assert!(from_file.analysis_schema.is_some());
        let _ = std::fs::remove_file(&path);
        assert!(read(&[("ANALYSIS_SCHEMA", "/nonexistent/schema.json")]).is_err());
        assert!(read(&[("ANALYSIS_SCHEMA", "{not json")]).is_err());
    }
}
