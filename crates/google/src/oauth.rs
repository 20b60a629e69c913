//! Google OAuth 2.0: the refresh-token flow that feeds the adapters an access token
//! ([`TokenSource`]), and the authorisation-code side used by the `auth` Lambda
//! ([`ConsentConfig`], [`StateSigner`]).

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use phone_core::ports::PortError;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;
use tokio::sync::Mutex;

/// Google's token endpoint.
pub const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Google's consent screen.
pub const DEFAULT_AUTH_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
/// Scopes the assistant asks for: calendar events, Gmail send/read, and drafts.
pub const SCOPES: [&str; 4] = [
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/gmail.send",
    "https://www.googleapis.com/auth/gmail.readonly",
    "https://www.googleapis.com/auth/gmail.compose",
];
/// What users see when the refresh token is revoked or expired.
pub const REVOKED_MESSAGE: &str = "calendar access revoked: re-authorise at /auth/google";
/// Refresh this long before Google's expiry so a token never dies mid-request.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);
const TIMEOUT: Duration = Duration::from_secs(10);

/// Errors of the OAuth flows.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// Google refused the grant (`invalid_grant`): revoked, expired or already used.
    #[error("{REVOKED_MESSAGE}")]
    Revoked,
    /// The `state` parameter was malformed, tampered with or expired.
    #[error("invalid oauth state: {0}")]
    BadState(&'static str),
    /// The token endpoint answered with another error.
    #[error("token endpoint error {status}: {message}")]
    Endpoint {
        /// HTTP status.
        status: u16,
        /// Google's `error` / `error_description`.
        message: String,
    },
    /// The answer lacked a refresh token (consent given without `prompt=consent`).
    #[error("no refresh_token in Google's answer")]
    NoRefreshToken,
    /// Network failure or timeout.
    #[error("token endpoint unreachable: {0}")]
    Transport(String),
}

impl From<OAuthError> for PortError {
    fn from(e: OAuthError) -> Self {
        match e {
            OAuthError::Revoked => PortError::AccessRevoked(REVOKED_MESSAGE.into()),
            OAuthError::Endpoint { status, message } => PortError::Upstream {
                service: "google_oauth",
                status: Some(status),
                message,
            },
            other => PortError::Upstream {
                service: "google_oauth",
                status: None,
                message: other.to_string(),
            },
        }
    }
}

/// OAuth client credentials and the token endpoint.
#[derive(Clone)]
pub struct ClientCredentials {
    /// `GOOGLE_CLIENT_ID`.
    pub client_id: String,
    /// `GOOGLE_CLIENT_SECRET`; never logged.
    pub client_secret: SecretString,
    /// `GOOGLE_TOKEN_URL`, default [`DEFAULT_TOKEN_URL`].
    pub token_url: String,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

async fn post_token(
    http: &reqwest::Client,
    creds: &ClientCredentials,
    form: &[(&str, &str)],
) -> Result<TokenAnswer, OAuthError> {
    let mut body = vec![
        ("client_id", creds.client_id.as_str()),
        ("client_secret", creds.client_secret.expose_secret()),
    ];
    body.extend_from_slice(form);
    let resp = http
        .post(&creds.token_url)
        .timeout(TIMEOUT)
        .form(&body)
        .send()
        .await
        .map_err(|e| OAuthError::Transport(e.without_url().to_string()))?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| OAuthError::Transport(e.without_url().to_string()))?;
    if status.is_success() {
        return serde_json::from_str(&text).map_err(|e| OAuthError::Endpoint {
            status: status.as_u16(),
            message: format!("unreadable token answer: {e}"),
        });
    }
    match serde_json::from_str::<TokenError>(&text) {
        Ok(err) if err.error == "invalid_grant" => Err(OAuthError::Revoked),
        Ok(err) => Err(OAuthError::Endpoint {
            status: status.as_u16(),
            message: err
                .error_description
                .map_or(err.error.clone(), |d| format!("{}: {d}", err.error)),
        }),
        Err(_) => Err(OAuthError::Endpoint {
            status: status.as_u16(),
            message: text.chars().take(200).collect(),
        }),
    }
}

/// An access token source: refreshes with the refresh token and caches the access token until
/// shortly before it expires. One refresh at a time: concurrent callers wait on the same lock
/// and then reuse the fresh token.
pub struct TokenSource {
    http: reqwest::Client,
    creds: ClientCredentials,
    refresh_token: SecretString,
    cached: Mutex<Option<(SecretString, Instant)>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("creds", &self.creds)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// A source for the user who granted `refresh_token` (`GOOGLE_REFRESH_TOKEN`).
    pub fn new(
        http: reqwest::Client,
        creds: ClientCredentials,
        refresh_token: SecretString,
    ) -> Self {
        Self {
            http,
            creds,
            refresh_token,
            cached: Mutex::new(None),
        }
    }

    /// A valid access token, refreshed if the cached one is missing or about to expire.
    pub async fn access_token(&self) -> Result<SecretString, OAuthError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, valid_until)) = cached.as_ref()
            && Instant::now() < *valid_until
        {
            return Ok(token.clone());
        }
        let answer = post_token(
            &self.http,
            &self.creds,
            &[
                ("refresh_token", self.refresh_token.expose_secret()),
                ("grant_type", "refresh_token"),
            ],
        )
        .await?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3600));
        let valid_until = Instant::now() + lifetime.saturating_sub(EXPIRY_MARGIN);
        let token = SecretString::from(answer.access_token);
        *cached = Some((token.clone(), valid_until));
        tracing::debug!(
            expires_in = lifetime.as_secs(),
            "google access token refreshed"
        );
        Ok(token)
    }

    /// Forgets the cached token, e.g. after Google answered 401 to it.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }
}

/// The authorisation-code side: the consent URL and the code exchange.
#[derive(Debug, Clone)]
pub struct ConsentConfig {
    /// Client credentials and token endpoint.
    pub creds: ClientCredentials,
    /// Consent screen URL, default [`DEFAULT_AUTH_URL`].
    pub auth_url: String,
}

impl ConsentConfig {
    /// The URL to redirect the user to: offline access, forced consent (so Google returns a
    /// refresh token every time), all [`SCOPES`], and the signed `state`.
    pub fn consent_url(&self, redirect_uri: &str, state: &str) -> Result<String, OAuthError> {
        let scope = SCOPES.join(" ");
        let url = url::Url::parse_with_params(
            &self.auth_url,
            &[
                ("client_id", self.creds.client_id.as_str()),
                ("redirect_uri", redirect_uri),
                ("response_type", "code"),
                ("scope", scope.as_str()),
                ("access_type", "offline"),
                ("prompt", "consent"),
                ("include_granted_scopes", "true"),
                ("state", state),
            ],
        )
        .map_err(|_| OAuthError::Transport("GOOGLE_AUTH_URL is not a URL".into()))?;
        Ok(url.into())
    }

    /// Exchanges an authorisation code for the refresh token it grants.
    pub async fn exchange_code(
        &self,
        http: &reqwest::Client,
        code: &str,
        redirect_uri: &str,
    ) -> Result<SecretString, OAuthError> {
        let answer = post_token(
            http,
            &self.creds,
            &[
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("grant_type", "authorization_code"),
            ],
        )
        .await?;
        answer
            .refresh_token
            .map(SecretString::from)
            .ok_or(OAuthError::NoRefreshToken)
    }
}

/// A `state` whose signature and expiry have been checked. The signature proves this server
/// issued it, not that it is the first use: the caller records [`VerifiedState::nonce`] until
/// [`VerifiedState::expires_at`] to make it single-use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedState {
    /// The random part, unique per issued state.
    pub nonce: String,
    /// When the state stops being valid, in Unix seconds.
    pub expires_at: u64,
}

/// Signs and checks the OAuth `state`: `nonce.expiry.hmac` with HMAC-SHA256 under a server
/// secret (`OAUTH_STATE_SECRET`), so the callback only accepts flows this server started recently.
pub struct StateSigner {
    secret: SecretString,
    lifetime: Duration,
}

impl std::fmt::Debug for StateSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateSigner")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl StateSigner {
    /// A signer whose states are valid for `lifetime`.
    pub fn new(secret: SecretString, lifetime: Duration) -> Self {
        Self { secret, lifetime }
    }

    fn mac(&self, payload: &str) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.secret.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(payload.as_bytes());
        mac
    }

    /// A fresh state valid until `now + lifetime` (`now` in Unix seconds).
    pub fn issue(&self, now: u64) -> String {
        let nonce: [u8; 16] = rand::random();
        let payload = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(nonce),
            now + self.lifetime.as_secs()
        );
        let tag = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    /// Checks the signature (constant time) and the expiry.
    pub fn verify(&self, state: &str, now: u64) -> Result<VerifiedState, OAuthError> {
        let (payload, tag) = state
            .rsplit_once('.')
            .ok_or(OAuthError::BadState("malformed"))?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| OAuthError::BadState("malformed"))?;
        self.mac(payload)
            .verify_slice(&tag)
            .map_err(|_| OAuthError::BadState("bad signature"))?;
        let (nonce, expiry) = payload
            .rsplit_once('.')
            .and_then(|(n, e)| Some((n, e.parse::<u64>().ok()?)))
            .ok_or(OAuthError::BadState("malformed"))?;
        if now >= expiry {
            return Err(OAuthError::BadState("expired"));
        }
        Ok(VerifiedState {
            nonce: nonce.to_owned(),
            expires_at: expiry,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> StateSigner {
        StateSigner::new(
            SecretString::from("server secret"),
            Duration::from_secs(600),
        )
    }

    #[test]
    fn issued_state_verifies_until_it_expires() {
        let s = signer();
        let state = s.issue(1_000);
        let verified = s.verify(&state, 1_599).unwrap();
        assert_eq!(verified.expires_at, 1_600);
        assert!(state.starts_with(&format!("{}.1600.", verified.nonce)));
        assert_ne!(
            s.verify(&s.issue(1_000), 1_001).unwrap().nonce,
            verified.nonce
        );
        assert!(matches!(
            s.verify(&state, 1_600),
            Err(OAuthError::BadState("expired"))
        ));
    }

    #[test]
    fn tampered_state_is_refused() {
        let s = signer();
        let state = s.issue(1_000).replace(".1600.", ".9999.");
        assert!(matches!(
            s.verify(&state, 1_001),
            Err(OAuthError::BadState("bad signature"))
        ));
        assert!(s.verify("garbage", 1_001).is_err());
        let other = StateSigner::new(SecretString::from("other"), Duration::from_secs(600));
        assert!(other.verify(&s.issue(1_000), 1_001).is_err());
    }

    #[test]
    fn consent_url_asks_for_offline_access_and_all_scopes() {
        let cfg = ConsentConfig {
            creds: ClientCredentials {
                client_id: "cid".into(),
                client_secret: SecretString::from("s"),
                token_url: DEFAULT_TOKEN_URL.into(),
            },
            auth_url: DEFAULT_AUTH_URL.into(),
        };
        let url = cfg
            .consent_url("https://x.test/auth/google/callback", "st")
            .unwrap_or_default();
        for part in [
            "access_type=offline",
            "prompt=consent",
            "state=st",
            "gmail.compose",
            "calendar.events",
        ] {
            assert!(url.contains(part), "{url} lacks {part}");
        }
    }
}
