//! Typed reads from the `KEY → value` map, each error naming its key.

use std::collections::BTreeMap;
use std::time::Duration;

use phone_core::PhoneNumber;
use secrecy::SecretString;

/// A configuration value that is missing or malformed. The message names the key and never
/// includes the value (it may be a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required key is not set.
    #[error("configuration {0} is not set")]
    Missing(&'static str),
    /// A key is set but its value is not usable.
    #[error("configuration {key} is invalid: {reason}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// Why, without the value.
        reason: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(key: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            key,
            reason: reason.into(),
        }
    }
}

/// The map with typed accessors. Blank values count as unset, as `FOO=` in a `.env` file means.
pub(crate) struct Source<'a> {
    map: &'a BTreeMap<String, String>,
}

impl<'a> Source<'a> {
    pub(crate) fn new(map: &'a BTreeMap<String, String>) -> Self {
        Self { map }
    }

    pub(crate) fn string(&self, key: &'static str) -> Option<String> {
        self.map
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    pub(crate) fn secret(&self, key: &'static str) -> Option<SecretString> {
        self.string(key).map(SecretString::from)
    }

    pub(crate) fn u64(&self, key: &'static str, default: u64) -> Result<u64, ConfigError> {
        match self.string(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| ConfigError::invalid(key, "expected a whole number")),
        }
    }

    /// A daily limit: a whole number (0 allows nothing), or `off` for no limit.
    pub(crate) fn limit(
        &self,
        key: &'static str,
        default: Option<u32>,
    ) -> Result<Option<u32>, ConfigError> {
        match self.string(key) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("off") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                ConfigError::invalid(key, "expected a whole number per day, or off for no limit")
            }),
        }
    }

    /// `MAX_CALL_COST_USD`: a positive amount in USD, `off` for no cap, `default` when unset.
    /// Zero is refused: a cap of nothing would end every call at once, and saying `off` is
    /// clearer than a number that means "no cap".
    pub(crate) fn usd_cap(
        &self,
        key: &'static str,
        default: Option<u64>,
    ) -> Result<Option<u64>, ConfigError> {
        match self.string(key) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("off") => Ok(None),
            Some(v) => match v.parse::<f64>() {
                Ok(usd) if usd.is_finite() && usd > 0.0 && usd < 1e6 => {
                    Ok(Some((usd * 1e9).round() as u64))
                }
                _ => Err(ConfigError::invalid(
                    key,
                    "expected a positive amount in USD, e.g. 2.00, or off for no cap",
                )),
            },
        }
    }

    pub(crate) fn days(&self, key: &'static str, default: u64) -> Result<Duration, ConfigError> {
        let days = self.u64(key, default)?;
        if days == 0 || days > 3650 {
            return Err(ConfigError::invalid(
                key,
                "expected between 1 and 3650 days",
            ));
        }
        Ok(Duration::from_secs(days * 24 * 3600))
    }

    pub(crate) fn url(
        &self,
        key: &'static str,
        schemes: &[&str],
    ) -> Result<Option<String>, ConfigError> {
        let Some(v) = self.string(key) else {
            return Ok(None);
        };
        let scheme_ok = schemes
            .iter()
            .any(|s| v.starts_with(&format!("{s}://")) && v.len() > s.len() + 3);
        if !scheme_ok {
            return Err(ConfigError::invalid(
                key,
                format!("expected a URL starting with {}://", schemes.join("://, ")),
            ));
        }
        Ok(Some(v))
    }

    pub(crate) fn prefixed(
        &self,
        key: &'static str,
        prefix: &str,
    ) -> Result<Option<String>, ConfigError> {
        match self.string(key) {
            Some(v) if !v.starts_with(prefix) => Err(ConfigError::invalid(
                key,
                format!("expected it to start with {prefix}"),
            )),
            other => Ok(other),
        }
    }

    pub(crate) fn phone(&self, key: &'static str) -> Result<Option<PhoneNumber>, ConfigError> {
        self.string(key)
            .map(|v| PhoneNumber::parse(&v).map_err(|e| ConfigError::invalid(key, e.to_string())))
            .transpose()
    }

    /// A comma-separated list of E.164 numbers; unset is empty.
    pub(crate) fn phones(&self, key: &'static str) -> Result<Vec<PhoneNumber>, ConfigError> {
        let Some(v) = self.string(key) else {
            return Ok(Vec::new());
        };
        v.split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| PhoneNumber::parse(n).map_err(|e| ConfigError::invalid(key, e.to_string())))
            .collect()
    }

    /// A comma-separated list of mail addresses, lower-cased; unset is empty.
    pub(crate) fn emails(&self, key: &'static str) -> Result<Vec<String>, ConfigError> {
        let Some(v) = self.string(key) else {
            return Ok(Vec::new());
        };
        v.split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|a| {
                let ok = a.len() <= 254
                    && a.split_once('@').is_some_and(|(local, domain)| {
                        !local.is_empty() && domain.contains('.') && !domain.contains('@')
                    })
                    && !a.chars().any(|c| c.is_whitespace() || "<>\",;".contains(c));
                if ok {
                    Ok(a.to_ascii_lowercase())
                } else {
                    Err(ConfigError::invalid(
                        key,
                        "expected mail addresses like me@example.com, comma-separated",
                    ))
                }
            })
            .collect()
    }

    /// A secret of 4 to 12 ASCII digits.
    pub(crate) fn pin(&self, key: &'static str) -> Result<Option<SecretString>, ConfigError> {
        let Some(v) = self.string(key) else {
            return Ok(None);
        };
        if !(4..=12).contains(&v.len()) || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConfigError::invalid(key, "expected 4 to 12 digits"));
        }
        Ok(Some(SecretString::from(v)))
    }

    pub(crate) fn time_zone(&self, key: &'static str) -> Result<Option<String>, ConfigError> {
        let Some(v) = self.string(key) else {
            return Ok(None);
        };
        // An IANA name: `Area/Location[/Sub]` or `UTC`; the calendar adapters resolve it.
        let shape_ok = v == "UTC"
            || (v.contains('/')
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c)));
        if !shape_ok {
            return Err(ConfigError::invalid(
                key,
                "expected an IANA time zone such as Europe/Paris",
            ));
        }
        Ok(Some(v))
    }
}
