//! The console's session cookie: issued once the API key has been posted to the login form,
//! then presented by the browser instead of the key.
//!
//! The cookie value is `v1.<expires, epoch seconds>.<nonce>.<HMAC-SHA256, hex>`, the MAC taken
//! over everything before it. The MAC key is derived (HMAC-SHA256 over a fixed label) from
//! `CONSOLE_SESSION_SECRET`, or from `API_KEY` when that is unset: nothing is stored per
//! session, so the Lambdas and `serve` check a cookie the same way, and rotating the secret (or
//! the API key it is derived from) ends every session. The key itself never leaves the server
//! and is never the cookie.
//!
//! The cookie is `HttpOnly` (scripts cannot read it), `SameSite=Strict` (no cross-site request
//! carries it) and `Secure` unless the public base URL is loopback (`serve` on this machine).

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::auth::check_api_key;
use crate::{ApiError, AppState};

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "pa_console";
/// How long a session lasts from login.
pub const SESSION_SECS: i64 = 12 * 3600;
/// Longest cookie value considered; anything longer is not ours.
const MAX_COOKIE_LEN: usize = 200;
/// Label the MAC key is derived under, so the same secret used elsewhere yields another key.
const KEY_LABEL: &[u8] = b"phone-agent console session v1";

type HmacSha256 = Hmac<Sha256>;

/// The key session cookies are signed with, derived from the configured secret.
pub struct SessionKey([u8; 32]);

impl SessionKey {
    /// Derives the key from `CONSOLE_SESSION_SECRET`, else `API_KEY`; `None` when neither is
    /// set (then nobody can log in: fail closed).
    pub fn from_config(config: &phone_config::Config) -> Option<Self> {
        let secret: &SecretString = config
            .console_session_secret
            .as_ref()
            .or(config.api_key.as_ref())?;
        let mut mac = HmacSha256::new_from_slice(secret.expose_secret().as_bytes()).ok()?;
        mac.update(KEY_LABEL);
        Some(Self(mac.finalize().into_bytes().into()))
    }

    fn mac(&self, payload: &str) -> [u8; 32] {
        // HMAC takes a key of any length; this cannot fail for 32 bytes.
        let mut mac = HmacSha256::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(payload.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A new session value valid until `now + SESSION_SECS`.
    pub fn issue(&self, now: OffsetDateTime) -> String {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let payload = format!(
            "v1.{}.{}",
            now.unix_timestamp() + SESSION_SECS,
            hex::encode(nonce)
        );
        let mac = hex::encode(self.mac(&payload));
        format!("{payload}.{mac}")
    }

    /// Whether `value` is a session this key signed that has not expired at `now`.
    pub fn verify(&self, value: &str, now: OffsetDateTime) -> bool {
        if value.len() > MAX_COOKIE_LEN {
            return false;
        }
        let Some((payload, mac)) = value.rsplit_once('.') else {
            return false;
        };
        let Ok(mac) = hex::decode(mac) else {
            return false;
        };
        let expected = self.mac(payload);
        if !bool::from(mac.as_slice().ct_eq(&expected)) {
            return false;
        }
        let mut parts = payload.split('.');
        let (Some("v1"), Some(expires)) = (parts.next(), parts.next()) else {
            return false;
        };
        expires
            .parse::<i64>()
            .is_ok_and(|e| e > now.unix_timestamp())
    }
}

/// The session cookie's value from a request's `Cookie` headers, if any.
pub fn session_cookie(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value)
}

/// Whether the request carries a valid session cookie.
pub fn has_session(parts: &Parts, state: &AppState) -> bool {
    let Some(key) = SessionKey::from_config(&state.config) else {
        return false;
    };
    session_cookie(parts).is_some_and(|v| key.verify(v, state.store.clock().now()))
}

/// Whether cookies must be `Secure`: always, except when the public base URL is loopback
/// (`serve` over plain HTTP on this machine, where a `Secure` cookie would never be sent back).
pub fn secure_cookies(config: &phone_config::Config) -> bool {
    let host = config
        .public_base_url
        .as_deref()
        .and_then(|u| url_host(u).map(str::to_owned));
    !host.is_some_and(|h| {
        h == "localhost"
            || h == "[::1]"
            || h.parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

/// The host of an `http(s)://host[:port]/…` URL.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => return v6.split_once(']').map(|(h, _)| &authority[..h.len() + 2]),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    Some(host)
}

/// `Set-Cookie` for a new session value.
pub fn set_cookie(value: &str, secure: bool) -> String {
    format!(
        "{COOKIE_NAME}={value}; Path=/; Max-Age={SESSION_SECS}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` that removes the session.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE_NAME}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Proof that a request may read calls: the API key as a bearer token, or (when there is no
/// `Authorization` header) a valid console session cookie. For the read-only JSON endpoints
/// the console fetches; a cookie never authorises a write.
#[derive(Debug, Clone, Copy)]
pub struct ReadAuth;

impl<S> FromRequestParts<S> for ReadAuth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return check_api_key(&parts.headers, &AppState::from_ref(state)).map(|()| Self);
        }
        if has_session(parts, &AppState::from_ref(state)) {
            Ok(Self)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

/// [`ReadAuth`] as a route layer: a `GET`/`HEAD` may use the API key or the session cookie;
/// any other method (a write) needs the API key.
pub async fn require_read_access(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    if matches!(
        parts.method,
        axum::http::Method::GET | axum::http::Method::HEAD
    ) {
        ReadAuth::from_request_parts(&mut parts, &state).await?;
    } else {
        check_api_key(&parts.headers, &state)?;
    }
    Ok(next
        .run(axum::extract::Request::from_parts(parts, body))
        .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &str) -> SessionKey {
        let mut map = std::collections::BTreeMap::new();
        map.insert("API_KEY".to_string(), secret.to_string());
        SessionKey::from_config(&phone_config::Config::from_map(&map).unwrap()).unwrap()
    }

    #[test]
    fn a_session_verifies_until_it_expires_and_only_under_its_key() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let k = key("one");
        let value = k.issue(now);
        assert!(k.verify(&value, now));
        assert!(k.verify(&value, now + time::Duration::seconds(SESSION_SECS - 1)));
        assert!(!k.verify(&value, now + time::Duration::seconds(SESSION_SECS)));
        assert!(!key("two").verify(&value, now), "another key refuses it");
        assert!(!value.contains("one"), "the key is not in the cookie");
    }

    #[test]
    fn a_tampered_session_is_refused() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let k = key("one");
        let value = k.issue(now);
        let (payload, mac) = value.rsplit_once('.').unwrap();
        let later = payload.replacen("v1.18", "v1.28", 1);
        assert!(!k.verify(&format!("{later}.{mac}"), now));
        assert!(!k.verify("", now));
        assert!(!k.verify("v1.99999999999.aa.zz", now));
        assert!(!k.verify(&"a".repeat(500), now));
    }

    #[test]
    fn cookies_are_secure_except_on_loopback() {
        let config = |base: &str| {
            let mut map = std::collections::BTreeMap::new();
            map.insert("PUBLIC_BASE_URL".to_string(), base.to_string());
            phone_config::Config::from_map(&map).unwrap()
        };
        assert!(!secure_cookies(&config("http://127.0.0.1:8080")));
        assert!(!secure_cookies(&config("http://localhost:8080/")));
        assert!(!secure_cookies(&config("http://[::1]:8080")));
        assert!(secure_cookies(&config("https://abc.example.com")));
        assert!(secure_cookies(&config("https://127.example.com")));
        assert!(secure_cookies(
            &phone_config::Config::from_map(&Default::default()).unwrap()
        ));
    }
}
