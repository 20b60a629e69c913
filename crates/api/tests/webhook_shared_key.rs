//! Webhooks signed the newer way (a Webhooks Rule's SharedKey, HMAC-SHA256, with
//! `X-Twilio-Webhooks-Signature-Settings`), over real HTTP on loopback to the voice route.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use phone_api::AppState;
use phone_config::Config;
use phone_core::{CallSid, Store, StoreError, SystemClock};
use phone_local::LocalRecords;
use phone_twilio::signature::{Algorithm, compute_signature, compute_signature_with};

const AUTH_TOKEN: &str = "test-auth-token-0123456789abcdef";
const SHARED: &str = "test-shared-key-secret-fedcba9876543210";
const SETTINGS: &str = "key=webhooks_sharedkey_0001,algorithm=HMAC_SHA256";

/// Everything this test binary logs, for asserting on the refusal's log line.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

fn logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .init();
        logs
    })
}

impl Logs {
    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

struct Server {
    base: String,
    store: Store,
    http: reqwest::Client,
}

/// A server whose configuration has the SharedKey secret or not.
async fn start(shared_key: Option<&str>) -> Server {
    logs();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut env: BTreeMap<String, String> = [
        ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
        ("API_KEY", "test-api-key"),
        ("PUBLIC_BASE_URL", base.as_str()),
        ("STREAM_PUBLIC_URL", "wss://stream.example.com/voice/stream"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    if let Some(secret) = shared_key {
        env.insert("TWILIO_WEBHOOK_SHARED_KEY_SECRET".into(), secret.into());
    }
    let config = Config::from_map(&env).unwrap();
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        Arc::new(SystemClock),
        config.retention,
    );
    let app = phone_api::routes::all(AppState::new(config, store.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        base,
        store,
        http: reqwest::Client::new(),
    }
}

fn voice_form(sid: &str) -> Vec<(String, String)> {
    [
        ("CallSid", sid),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("From", "+14155550123"),
        ("To", "+14155550999"),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn sid(n: u8) -> String {
    format!("CA{n:032x}")
}

impl Server {
    fn url(&self) -> String {
        format!("{}/voice/incoming", self.base)
    }

    /// Posts `form` with this signature and, when given, the settings header.
    async fn post(
        &self,
        form: &[(String, String)],
        signature: &str,
        settings: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.url())
            .header("X-Twilio-Signature", signature);
        if let Some(settings) = settings {
            request = request.header("X-Twilio-Webhooks-Signature-Settings", settings);
        }
        request.form(form).send().await.unwrap()
    }

    async fn has_call(&self, sid: &str) -> bool {
        match self.store.get_call(&CallSid::parse(sid).unwrap()).await {
            Ok(_) => true,
            Err(StoreError::NotFound) => false,
            Err(e) => panic!("store: {e}"),
        }
    }
}

#[tokio::test]
async fn sha256_webhook_with_the_shared_key_is_answered_and_a_tampered_one_refused() {
    let server = start(Some(SHARED)).await;
    let form = voice_form(&sid(1));
    let signature = compute_signature_with(Algorithm::HmacSha256, SHARED, &server.url(), &form);
    let res = server.post(&form, &signature, Some(SETTINGS)).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("/voice/stream-ended\"><Stream")
    );
    assert!(server.has_call(&sid(1)).await);

    // The caller number changed after signing.
    let mut tampered = voice_form(&sid(2));
    let signature = compute_signature_with(Algorithm::HmacSha256, SHARED, &server.url(), &tampered);
    tampered[2].1 = "+19005550000".into();
    let res = server.post(&tampered, &signature, Some(SETTINGS)).await;
    assert_eq!(res.status(), 403);
    // Signed with the auth token, but claiming the SharedKey.
    let form = voice_form(&sid(3));
    let signature = compute_signature_with(Algorithm::HmacSha256, AUTH_TOKEN, &server.url(), &form);
    let res = server.post(&form, &signature, Some(SETTINGS)).await;
    assert_eq!(res.status(), 403);
    // A SharedKey signature without the header is checked as the auth token's, and fails.
    let form = voice_form(&sid(4));
    let signature = compute_signature_with(Algorithm::HmacSha256, SHARED, &server.url(), &form);
    let res = server.post(&form, &signature, None).await;
    assert_eq!(res.status(), 403);
    for n in 2..=4 {
        assert!(
            !server.has_call(&sid(n)).await,
            "refused webhook {n} wrote a call"
        );
    }
}

#[tokio::test]
async fn auth_token_webhooks_still_pass_when_a_shared_key_is_configured() {
    let server = start(Some(SHARED)).await;
    let form = voice_form(&sid(5));
    let signature = compute_signature(AUTH_TOKEN, &server.url(), &form);
    let res = server.post(&form, &signature, None).await;
    assert_eq!(res.status(), 200);
    assert!(server.has_call(&sid(5)).await);
}

#[tokio::test]
async fn sha256_webhook_is_refused_when_no_shared_key_is_configured() {
    let server = start(None).await;
    let form = voice_form(&sid(6));
    let signature = compute_signature_with(Algorithm::HmacSha256, SHARED, &server.url(), &form);
    let res = server.post(&form, &signature, Some(SETTINGS)).await;
    assert_eq!(res.status(), 403);
    assert!(!server.has_call(&sid(6)).await);
    // The log says why, which key Twilio used, and what to set; never a secret.
    let lines = logs().lines();
    let line = lines
        .iter()
        .find(|l| l.contains("no SharedKey secret is configured"))
        .expect("a log line for the refusal");
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("/voice/incoming"), "{line}");
    assert!(line.contains("webhooks_sharedkey_0001"), "{line}");
    assert!(line.contains("TWILIO_WEBHOOK_SHARED_KEY_SECRET"), "{line}");
    for l in &lines {
        assert!(
            !l.contains(SHARED) && !l.contains(AUTH_TOKEN),
            "secret logged: {l}"
        );
    }
}
