//! Request signatures (PROTOCOLS.md §1.5).
//!
//! `X-Twilio-Signature` = base64(HMAC(key, URL + every form key and value, keys sorted)). The
//! key and the hash depend on the request:
//! - without `X-Twilio-Webhooks-Signature-Settings` (Twilio's default): the account's auth
//!   token and HMAC-SHA1;
//! - with it (a Webhooks Rule matched the URL): the Webhook Setting's SharedKey secret and the
//!   algorithm the header names, HMAC-SHA256 or HMAC-SHA1 (see [`settings`]).
//!
//! Which secret is used follows the official Node library (npm `twilio` 6.3.1,
//! `lib/webhooks/webhooks.js`: the `webhook()` middleware picks the SharedKey secret when the
//! settings header is present and the auth token otherwise, then `validateRequest` checks with
//! the algorithm `getSignatureAlgorithm` read from the header). Hence, deliberately:
//! - a request without the header is checked with the auth token even when a SharedKey secret
//!   is configured, as the library does: a Webhooks Rule covers only the URLs it matches, and a
//!   signature made with the account's own auth token proves as much as one made with a
//!   SharedKey;
//! - a request with the header is never checked with the auth token. When no SharedKey secret
//!   is configured it is refused ([`Refusal::NoSharedKey`]; the library answers 500 there, we
//!   refuse it like any request we cannot verify, and the caller logs the missing setting);
//! - an algorithm other than these two is refused, as in the library.
//!
//! A URL is accepted with the default port added or removed, and the WebSocket upgrade of a
//! Media Stream (signed over the `wss://` URL with no parameters) with or without a trailing
//! slash, whatever the algorithm ([`urls`]). JSON bodies are bound by the URL's `bodySHA256`,
//! also whatever the algorithm. Signatures and hashes are compared in constant time.

mod settings;
mod urls;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use url::Url;

pub use settings::{Algorithm, SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER, SignatureSettings};

/// Computes the HMAC-SHA1 signature Twilio makes with the auth token for `url` and form
/// `params` (requests without a settings header).
pub fn compute_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    compute_signature_with(Algorithm::HmacSha1, auth_token, url, params)
}

/// Computes the signature Twilio makes with `algorithm` and `key` (the auth token, or a
/// SharedKey secret) for `url` and form `params`.
pub fn compute_signature_with(
    algorithm: Algorithm,
    key: &str,
    url: &str,
    params: &[(String, String)],
) -> String {
    match algorithm {
        Algorithm::HmacSha1 => hmac_base64::<Hmac<Sha1>>(key, url, params),
        Algorithm::HmacSha256 => hmac_base64::<Hmac<Sha256>>(key, url, params),
    }
}

fn hmac_base64<M: Mac + hmac::digest::KeyInit>(
    key: &str,
    url: &str,
    params: &[(String, String)],
) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // Sorted by key, then value: a repeated key contributes each value in sorted order. An
    // identical repeated pair counts once, as in Twilio's own libraries.
    sorted.sort();
    sorted.dedup();
    let mut mac = match <M as hmac::digest::KeyInit>::new_from_slice(key.as_bytes()) {
        Ok(mac) => mac,
        // HMAC accepts keys of any length; this branch cannot be taken.
        Err(_) => return String::new(),
    };
    mac.update(url.as_bytes());
    for (key, value) in sorted {
        mac.update(key.as_bytes());
        mac.update(value.as_bytes());
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The signature headers of one request, as received (raw bytes: they are untrusted).
#[derive(Debug, Clone, Copy, Default)]
pub struct SignatureHeaders<'a> {
    /// `X-Twilio-Signature`.
    pub signature: Option<&'a [u8]>,
    /// `X-Twilio-Webhooks-Signature-Settings`.
    pub settings: Option<&'a [u8]>,
}

/// Which configured secret a signature was checked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// The account's auth token.
    AuthToken,
    /// The Webhook Setting's SharedKey secret.
    SharedKey,
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::AuthToken => "auth token",
            Self::SharedKey => "SharedKey secret",
        })
    }
}

/// Why a request's signature was not accepted. The text is safe to log: it never holds a
/// secret, and untrusted parts are shortened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No (or an empty) `X-Twilio-Signature`.
    #[error("no X-Twilio-Signature header")]
    MissingSignature,
    /// The request says a SharedKey signed it, and none is configured.
    #[error(
        "X-Twilio-Webhooks-Signature-Settings says SharedKey {key_id:?} signed it, but no SharedKey secret is configured"
    )]
    NoSharedKey {
        /// The `key=` of the header (empty when it has none).
        key_id: String,
    },
    /// The settings header names an algorithm we do not implement.
    #[error("X-Twilio-Webhooks-Signature-Settings names an unsupported algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// The settings header is not text.
    #[error("X-Twilio-Webhooks-Signature-Settings is not readable text")]
    UnreadableSettings,
    /// A JSON body whose hash is not the URL's `bodySHA256` (or a URL without one).
    #[error("the body does not match the bodySHA256 of the URL")]
    BodyHash,
    /// The signature is not the one the secret makes.
    #[error("signature does not match ({algorithm} with the {secret})")]
    Mismatch {
        /// The algorithm checked.
        algorithm: Algorithm,
        /// The secret checked with.
        secret: Secret,
    },
}

/// Checks Twilio signatures with one account's auth token and, optionally, the SharedKey
/// secret of its Webhook Setting. `Debug` shows neither.
pub struct RequestValidator {
    auth_token: String,
    shared_key: Option<String>,
}

impl std::fmt::Debug for RequestValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shared = if self.shared_key.is_some() {
            "[REDACTED]"
        } else {
            "None"
        };
        write!(
            f,
            "RequestValidator {{ auth_token: [REDACTED], shared_key: {shared} }}"
        )
    }
}

/// How one request is to be checked.
struct Check<'a> {
    signature: &'a str,
    algorithm: Algorithm,
    secret: Secret,
    key: &'a str,
}

impl RequestValidator {
    /// A validator for the account whose auth token this is; requests signed with a SharedKey
    /// are refused until [`RequestValidator::with_shared_key`] gives its secret.
    pub fn new(auth_token: &str) -> Self {
        Self {
            auth_token: auth_token.to_owned(),
            shared_key: None,
        }
    }

    /// Also accepts requests whose settings header says they were signed with a SharedKey,
    /// checked with this secret.
    pub fn with_shared_key(mut self, secret: &str) -> Self {
        self.shared_key = Some(secret.to_owned());
        self
    }

    /// The signature, and the secret and algorithm the headers say made it.
    fn check<'a>(&'a self, headers: &SignatureHeaders<'a>) -> Result<Check<'a>, Refusal> {
        let signature = headers
            .signature
            .and_then(|s| std::str::from_utf8(s).ok())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(Refusal::MissingSignature)?;
        let settings = match headers.settings {
            None => None,
            Some(raw) => {
                let text = std::str::from_utf8(raw).map_err(|_| Refusal::UnreadableSettings)?;
                SignatureSettings::parse(text)
            }
        };
        let Some(settings) = settings else {
            return Ok(Check {
                signature,
                algorithm: Algorithm::HmacSha1,
                secret: Secret::AuthToken,
                key: &self.auth_token,
            });
        };
        let Some(key) = self.shared_key.as_deref() else {
            return Err(Refusal::NoSharedKey {
                key_id: settings.key_id().unwrap_or_default().to_owned(),
            });
        };
        let algorithm = settings
            .algorithm()
            .map_err(Refusal::UnsupportedAlgorithm)?;
        Ok(Check {
            signature,
            algorithm,
            secret: Secret::SharedKey,
            key,
        })
    }

    /// Whether `check` verifies over any of `urls` with `params`.
    fn verify(check: &Check<'_>, urls: &[String], params: &[(String, String)]) -> bool {
        urls.iter().any(|url| {
            let expected = compute_signature_with(check.algorithm, check.key, url, params);
            expected.as_bytes().ct_eq(check.signature.as_bytes()).into()
        })
    }

    fn verdict(
        check: &Check<'_>,
        urls: &[String],
        params: &[(String, String)],
    ) -> Result<(), Refusal> {
        if Self::verify(check, urls, params) {
            Ok(())
        } else {
            Err(Refusal::Mismatch {
                algorithm: check.algorithm,
                secret: check.secret,
            })
        }
    }

    /// Validates a form webhook: `url` is the public URL Twilio called (scheme, host, path,
    /// query), `params` the decoded form body.
    pub fn validate_form(
        &self,
        url: &str,
        params: &[(String, String)],
        headers: &SignatureHeaders<'_>,
    ) -> Result<(), Refusal> {
        let check = self.check(headers)?;
        Self::verdict(&check, &urls::port_variants(url), params)
    }

    /// Validates a JSON-bodied request: the URL carries `bodySHA256=<hex sha256 of the body>`
    /// and is signed with no parameters.
    pub fn validate_json(
        &self,
        url: &str,
        raw_body: &[u8],
        headers: &SignatureHeaders<'_>,
    ) -> Result<(), Refusal> {
        let check = self.check(headers)?;
        let hash = Url::parse(url).ok().and_then(|parsed| {
            parsed
                .query_pairs()
                .find(|(k, _)| k == "bodySHA256")
                .map(|(_, v)| v.to_ascii_lowercase())
        });
        let actual = hex::encode(Sha256::digest(raw_body));
        let body_ok: bool = match hash {
            Some(hash) => actual.as_bytes().ct_eq(hash.as_bytes()).into(),
            None => false,
        };
        if !body_ok {
            return Err(Refusal::BodyHash);
        }
        Self::verdict(&check, &urls::port_variants(url), &[])
    }

    /// Validates the Media Streams WebSocket upgrade against the `wss://` stream URL put in the
    /// TwiML: no parameters; with and without a trailing slash and the default port.
    pub fn validate_websocket(
        &self,
        stream_url: &str,
        headers: &SignatureHeaders<'_>,
    ) -> Result<(), Refusal> {
        let check = self.check(headers)?;
        Self::verdict(&check, &urls::websocket_variants(stream_url), &[])
    }
}

#[cfg(test)]
mod tests;
