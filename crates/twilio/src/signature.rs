//! Request signatures (PROTOCOLS.md §1.5).
//!
//! `X-Twilio-Signature` = base64(HMAC-SHA1(auth token, URL + every form key and value, keys
//! sorted)). Twilio is inconsistent about default ports, so, like its own libraries, a URL is
//! accepted with the default port added or removed. The WebSocket upgrade of a Media Stream is
//! signed over the `wss://` URL with no parameters; a trailing slash is tolerated both ways.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use url::Url;

/// Computes the signature Twilio would send for `url` and form `params`.
pub fn compute_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // Sorted by key, then value: a repeated key contributes each value in sorted order. An
    // identical repeated pair counts once, as in Twilio's own libraries.
    sorted.sort();
    sorted.dedup();
    let mut mac = match Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()) {
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

/// Checks Twilio signatures with one account's auth token. `Debug` does not show the token.
pub struct RequestValidator {
    auth_token: String,
}

impl std::fmt::Debug for RequestValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestValidator { auth_token: [REDACTED] }")
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "https" | "wss" => Some(443),
        "http" | "ws" => Some(80),
        _ => None,
    }
}

/// The URL as given, with its default port, and without any port.
fn port_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_owned()];
    let Ok(parsed) = Url::parse(url) else {
        return variants;
    };
    let Some(default) = default_port(parsed.scheme()) else {
        return variants;
    };
    // `Url` hides a default port, so rebuild the explicit form by hand.
    let host = match parsed.host_str() {
        Some(h) => h,
        None => return variants,
    };
    let tail = &url[url.find(host).map(|i| i + host.len()).unwrap_or(url.len())..];
    let (with_port, without_port) = match tail.strip_prefix(&format!(":{default}")) {
        Some(rest) => (
            url.to_owned(),
            format!("{}://{host}{rest}", parsed.scheme()),
        ),
        None if tail.starts_with(':') => return variants,
        None => (
            format!("{}://{host}:{default}{tail}", parsed.scheme()),
            url.to_owned(),
        ),
    };
    for v in [with_port, without_port] {
        if !variants.contains(&v) {
            variants.push(v);
        }
    }
    variants
}

impl RequestValidator {
    /// A validator for the account whose auth token this is.
    pub fn new(auth_token: &str) -> Self {
        Self {
            auth_token: auth_token.to_owned(),
        }
    }

    fn matches(&self, url: &str, params: &[(String, String)], signature: &str) -> bool {
        let expected = compute_signature(&self.auth_token, url, params);
        expected
            .as_bytes()
            .ct_eq(signature.trim().as_bytes())
            .into()
    }

    /// Validates a form webhook: `url` is the public URL Twilio called (scheme, host, path,
    /// query), `params` the decoded form body.
    pub fn validate_form(&self, url: &str, params: &[(String, String)], signature: &str) -> bool {
        port_variants(url)
            .iter()
            .any(|u| self.matches(u, params, signature))
    }

    /// Validates a JSON-bodied request: the URL carries `bodySHA256=<hex sha256 of the body>`
    /// and is signed with no parameters.
    pub fn validate_json(&self, url: &str, raw_body: &[u8], signature: &str) -> bool {
        let Ok(parsed) = Url::parse(url) else {
            return false;
        };
        let Some((_, hash)) = parsed.query_pairs().find(|(k, _)| k == "bodySHA256") else {
            return false;
        };
        let actual = hex::encode(Sha256::digest(raw_body));
        let body_ok: bool = actual
            .as_bytes()
            .ct_eq(hash.to_ascii_lowercase().as_bytes())
            .into();
        body_ok && self.validate_form(url, &[], signature)
    }

    /// Validates the Media Streams WebSocket upgrade against the `wss://` stream URL put in the
    /// TwiML: no parameters; with and without a trailing slash and the default port.
    pub fn validate_websocket(&self, stream_url: &str, signature: &str) -> bool {
        let trimmed = stream_url.trim_end_matches('/');
        [trimmed.to_owned(), format!("{trimmed}/")]
            .iter()
            .any(|u| self.validate_form(u, &[], signature))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    // Twilio's documented example request; the expected value is what the official Python
    // library computes for it (tests/oracle.rs checks many more cases against that library).
    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn doc_params() -> Vec<(String, String)> {
        params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ])
    }

    #[test]
    fn matches_twilio_documented_example() {
        assert_eq!(
            compute_signature(TOKEN, URL, &doc_params()),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
    }

    #[test]
    fn signature_with_and_without_port_is_accepted() {
        let v = RequestValidator::new(TOKEN);
        let sig = compute_signature(TOKEN, URL, &doc_params());
        assert!(v.validate_form(
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &doc_params(),
            &sig
        ));
        let with_port = compute_signature(
            TOKEN,
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &doc_params(),
        );
        assert!(v.validate_form(URL, &doc_params(), &with_port));
    }

    #[test]
    fn tampered_signature_or_params_are_refused() {
        let v = RequestValidator::new(TOKEN);
        let sig = compute_signature(TOKEN, URL, &doc_params());
        let mut changed = doc_params();
        changed[4].1 = "+18005550000".into();
        assert!(!v.validate_form(URL, &changed, &sig));
        assert!(!v.validate_form(URL, &doc_params(), "0/KCTR6DLpKmkAf8muzZqo1nDgR="));
        assert!(!v.validate_form(URL, &doc_params(), ""));
        assert!(!RequestValidator::new("other").validate_form(URL, &doc_params(), &sig));
    }

    #[test]
    fn repeated_keys_are_signed_in_sorted_order() {
        let a = params(&[("Media", "b"), ("Media", "a"), ("Body", "x")]);
        let b = params(&[("Body", "x"), ("Media", "a"), ("Media", "b")]);
        assert_eq!(
            compute_signature(TOKEN, URL, &a),
            compute_signature(TOKEN, URL, &b)
        );
    }

    #[test]
    fn websocket_upgrade_accepts_trailing_slash_either_way() {
        let v = RequestValidator::new(TOKEN);
        let url = "wss://stream.example.com/voice/stream";
        let sig = compute_signature(TOKEN, url, &[]);
        assert!(v.validate_websocket("wss://stream.example.com/voice/stream/", &sig));
        assert!(v.validate_websocket(url, &sig));
        let slash = compute_signature(TOKEN, &format!("{url}/"), &[]);
        assert!(v.validate_websocket(url, &slash));
        let port = compute_signature(TOKEN, "wss://stream.example.com:443/voice/stream", &[]);
        assert!(v.validate_websocket(url, &port));
        assert!(!v.validate_websocket("wss://evil.example.com/voice/stream", &sig));
    }

    #[test]
    fn json_body_hash_is_checked() {
        let v = RequestValidator::new(TOKEN);
        let body = br#"{"a":1}"#;
        let url = format!(
            "https://example.com/hook?bodySHA256={}",
            hex::encode(Sha256::digest(body))
        );
        let sig = compute_signature(TOKEN, &url, &[]);
        assert!(v.validate_json(&url, body, &sig));
        assert!(!v.validate_json(&url, br#"{"a":2}"#, &sig));
    }

    #[test]
    fn debug_hides_the_token() {
        assert!(!format!("{:?}", RequestValidator::new("super-secret")).contains("super-secret"));
    }
}
