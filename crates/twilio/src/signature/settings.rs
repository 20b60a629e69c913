//! `X-Twilio-Webhooks-Signature-Settings`: which secret and which HMAC signed a request.
//!
//! Twilio signs with the account's auth token and HMAC-SHA1 unless a Webhooks Rule (Webhooks
//! configuration API, public beta) matches the webhook URL. Then it signs with the matching
//! Webhook Setting's SharedKey secret and algorithm, and adds this header, e.g.
//! `key=webhooks_sharedkey_…,algorithm=HMAC_SHA256`. The signature is still in
//! `X-Twilio-Signature`, over the same string; only the key and the hash change.
//!
//! The header is read as the official Node library reads it (npm `twilio` 6.3.1,
//! `lib/webhooks/webhooks.js`, `getSignatureAlgorithm` and `toHashName`): comma-separated
//! `name=value` parts, names and values trimmed; the first non-empty `algorithm` wins; none
//! means `HMAC_SHA1`; algorithm names compare case-insensitively. The library ignores `key=`;
//! we keep it only to name the key in logs.

use std::fmt;

/// Header that carries the signature, whichever secret made it.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

/// Header Twilio adds when a Webhook Setting's SharedKey signed the request.
pub const SIGNATURE_SETTINGS_HEADER: &str = "X-Twilio-Webhooks-Signature-Settings";

/// Longest key id or algorithm name kept for a log line: the header is untrusted input.
const MAX_LOGGED: usize = 64;

/// The HMAC a signature was computed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `HMAC_SHA1`: the auth token's algorithm, and a SharedKey's when the header names none.
    HmacSha1,
    /// `HMAC_SHA256`: a SharedKey's, when its Webhook Setting says so.
    HmacSha256,
}

impl Algorithm {
    /// The algorithm Twilio names `name` (`HMAC_SHA1`, `HMAC_SHA256`, any case).
    pub fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("HMAC_SHA1") {
            Some(Self::HmacSha1)
        } else if name.eq_ignore_ascii_case("HMAC_SHA256") {
            Some(Self::HmacSha256)
        } else {
            None
        }
    }

    /// Twilio's name for it, as the settings header spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::HmacSha1 => "HMAC_SHA1",
            Self::HmacSha256 => "HMAC_SHA256",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A non-empty `X-Twilio-Webhooks-Signature-Settings` header: the request was signed with a
/// SharedKey secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureSettings {
    key_id: Option<String>,
    algorithm: Option<String>,
}

/// The first non-empty value of `name` among the header's comma-separated parts.
fn part<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(',').find_map(|p| {
        let (n, v) = p.split_once('=')?;
        let v = v.trim();
        (n.trim() == name && !v.is_empty()).then_some(v)
    })
}

/// At most [`MAX_LOGGED`] characters of `text`.
fn bounded(text: &str) -> String {
    text.chars().take(MAX_LOGGED).collect()
}

impl SignatureSettings {
    /// Reads the header's value; `None` when it is empty, which (as in the Node library) means
    /// the request was signed with the auth token. Blanks are not empty: the library then
    /// uses the SharedKey (HTTP parsers strip them before either of us sees the value).
    pub fn parse(header: &str) -> Option<Self> {
        if header.is_empty() {
            return None;
        }
        Some(Self {
            key_id: part(header, "key").map(bounded),
            algorithm: part(header, "algorithm").map(str::to_owned),
        })
    }

    /// The SharedKey's id (`key=`), shortened for logs; `None` when the header has none.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// The algorithm the header names (HMAC-SHA1 when it names none), or the unsupported name,
    /// shortened for logs.
    pub fn algorithm(&self) -> Result<Algorithm, String> {
        match self.algorithm.as_deref() {
            None => Ok(Algorithm::HmacSha1),
            Some(name) => Algorithm::from_name(name).ok_or_else(|| bounded(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_header_names_the_key_and_the_algorithm() {
        let s = SignatureSettings::parse("key=webhooks_sharedkey_abc,algorithm=HMAC_SHA256");
        let s = s.unwrap();
        assert_eq!(s.key_id(), Some("webhooks_sharedkey_abc"));
        assert_eq!(s.algorithm(), Ok(Algorithm::HmacSha256));
    }

    #[test]
    fn spacing_case_and_order_are_tolerated_like_the_node_library() {
        let s = SignatureSettings::parse(" algorithm = hmac_sha256 , key = k1 ").unwrap();
        assert_eq!(s.algorithm(), Ok(Algorithm::HmacSha256));
        assert_eq!(s.key_id(), Some("k1"));
        // The first non-empty `algorithm` wins; an empty one is skipped.
        let s = SignatureSettings::parse("algorithm=,algorithm=HMAC_SHA1,algorithm=HMAC_SHA256");
        assert_eq!(s.unwrap().algorithm(), Ok(Algorithm::HmacSha1));
    }

    #[test]
    fn no_algorithm_means_sha1_with_the_shared_key() {
        let s = SignatureSettings::parse("key=k1").unwrap();
        assert_eq!(s.algorithm(), Ok(Algorithm::HmacSha1));
        let s = SignatureSettings::parse("garbage").unwrap();
        assert_eq!(s.algorithm(), Ok(Algorithm::HmacSha1));
        assert_eq!(s.key_id(), None);
    }

    #[test]
    fn empty_header_means_the_auth_token() {
        assert_eq!(SignatureSettings::parse(""), None);
        let blank = SignatureSettings::parse("  ").unwrap();
        assert_eq!(blank.algorithm(), Ok(Algorithm::HmacSha1));
    }

    #[test]
    fn unknown_algorithm_is_reported_shortened() {
        let s = SignatureSettings::parse("algorithm=HMAC_SHA512").unwrap();
        assert_eq!(s.algorithm(), Err("HMAC_SHA512".to_owned()));
        let long = format!("algorithm={}", "X".repeat(500));
        let err = SignatureSettings::parse(&long)
            .unwrap()
            .algorithm()
            .unwrap_err();
        assert_eq!(err.len(), MAX_LOGGED);
    }
}
