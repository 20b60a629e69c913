//! `/auth/google` and its callback over real HTTP on loopback, against a loopback server speaking
//! Google's token endpoint; the refresh token lands in a dotenv file, or in a Secrets Manager
//! secret on moto.

use std::collections::BTreeMap;
use std::sync::Arc;

use phone_api::AppState;
use phone_config::Config;
use phone_core::{Store, SystemClock};
use phone_local::LocalRecords;
use phone_test_support::google_server::{self, GoogleTestServer};
use phone_test_support::moto;
use phone_wiring::token_sink::{EnvFileSink, RefreshTokenSink, SecretsManagerSink};

const API_KEY: &str = "auth-test-key";
const STATE_KEY: &str = "0123456789abcdef0123456789abcdef-state";

struct Flow {
    base: String,
    /// Follows no redirects: the test reads the Location itself.
    http: reqwest::Client,
    google: GoogleTestServer,
}

async fn start(sink: Arc<dyn RefreshTokenSink>, with_state_key: bool) -> Flow {
    let google = GoogleTestServer::start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut env = BTreeMap::from([
        ("API_KEY".to_owned(), API_KEY.to_owned()),
        ("PUBLIC_BASE_URL".to_owned(), format!("http://{addr}")),
        (
            "GOOGLE_CLIENT_ID".to_owned(),
            google_server::CLIENT_ID.to_owned(),
        ),
        (
            "GOOGLE_CLIENT_SECRET".to_owned(),
            google_server::CLIENT_SECRET.to_owned(),
        ),
        ("GOOGLE_TOKEN_URL".to_owned(), google.token_url()),
        (
            "GOOGLE_AUTH_URL".to_owned(),
            "https://accounts.example.test/o/oauth2/v2/auth".to_owned(),
        ),
    ]);
    if with_state_key {
        env.insert("OAUTH_STATE_SECRET".into(), STATE_KEY.into());
    }
    let config = Config::from_map(&env).unwrap();
    let auth = phone_wiring::google_auth_with_sink(&config, sink);
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        Arc::new(SystemClock),
        config.retention,
    );
    let app = phone_api::routes::google_auth::routes(AppState::new(config, store), auth);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Flow {
        base: format!("http://{addr}"),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        google,
    }
}

impl Flow {
    /// Starts the flow as the owner and returns the consent URL's query.
    async fn consent(&self) -> BTreeMap<String, String> {
        let res = self
            .http
            .get(format!("{}/auth/google", self.base))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
        let location = res.headers()["location"].to_str().unwrap();
        let url = url::Url::parse(location).unwrap();
        assert_eq!(url.host_str(), Some("accounts.example.test"));
        url.query_pairs().into_owned().collect()
    }

    async fn callback(&self, query: &[(&str, &str)]) -> (u16, String) {
        let res = self
            .http
            .get(format!("{}/auth/google/callback", self.base))
            .query(query)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }
}

fn temp_env_file() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("google-auth-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(".env")
}

#[tokio::test]
async fn consent_then_callback_stores_the_refresh_token_locally() {
    let env_file = temp_env_file();
    std::fs::write(&env_file, "API_KEY=keep-me\n").unwrap();
    let flow = start(Arc::new(EnvFileSink::new(&env_file)), true).await;

    let unauthenticated = flow
        .http
        .get(format!("{}/auth/google", flow.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unauthenticated.status(),
        401,
        "starting the flow needs the API key"
    );

    let q = flow.consent().await;
    assert_eq!(q["access_type"], "offline");
    assert_eq!(q["prompt"], "consent");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], google_server::CLIENT_ID);
    assert_eq!(
        q["redirect_uri"],
        format!("{}/auth/google/callback", flow.base)
    );
    for scope in [
        "calendar.events",
        "gmail.send",
        "gmail.readonly",
        "gmail.compose",
    ] {
        assert!(
            q["scope"].contains(scope),
            "scope {scope} in {}",
            q["scope"]
        );
    }
    let state = q["state"].clone();

    // A tampered state is refused before any code is exchanged.
    let mut tampered = state.clone();
    tampered.pop();
    tampered.push(if state.ends_with('A') { 'B' } else { 'A' });
    let (status, _) = flow
        .callback(&[("code", google_server::AUTH_CODE), ("state", &tampered)])
        .await;
    assert_eq!(status, 403);
    assert!(flow.google.token_requests().is_empty());

    let (status, body) = flow
        .callback(&[("code", google_server::AUTH_CODE), ("state", &state)])
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("connected"));
    let exchange = &flow.google.token_requests()[0];
    assert_eq!(exchange["grant_type"], "authorization_code");
    assert_eq!(
        exchange["redirect_uri"],
        format!("{}/auth/google/callback", flow.base)
    );
    let text = std::fs::read_to_string(&env_file).unwrap();
    assert_eq!(
        text,
        format!(
            "API_KEY=keep-me\nGOOGLE_REFRESH_TOKEN={}\n",
            google_server::CODE_REFRESH_TOKEN
        )
    );
    assert!(
        !body.contains(google_server::CODE_REFRESH_TOKEN),
        "the page never shows the token"
    );

    // The same callback again: the state was used, so it is refused before any exchange, and
    // the stored token stays.
    let (status, body) = flow
        .callback(&[("code", google_server::AUTH_CODE), ("state", &state)])
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("already used"), "{body}");
    assert_eq!(flow.google.token_requests().len(), 1, "no second exchange");
    assert_eq!(std::fs::read_to_string(&env_file).unwrap(), text);
}

#[tokio::test]
async fn a_state_is_single_use_even_when_the_first_callback_was_a_refusal() {
    let env_file = temp_env_file();
    let flow = start(Arc::new(EnvFileSink::new(&env_file)), true).await;
    let state = flow.consent().await["state"].clone();
    let (status, _) = flow
        .callback(&[("error", "access_denied"), ("state", &state)])
        .await;
    assert_eq!(status, 400);
    // Whoever saw that URL cannot reuse its state with a code of their own.
    let (status, body) = flow
        .callback(&[("code", google_server::AUTH_CODE), ("state", &state)])
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("already used"), "{body}");
    assert!(flow.google.token_requests().is_empty());
    assert!(!env_file.exists(), "nothing written");
    // A fresh flow still works.
    let fresh = flow.consent().await["state"].clone();
    let (status, body) = flow
        .callback(&[("code", google_server::AUTH_CODE), ("state", &fresh)])
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn declined_consent_and_missing_configuration_are_explained() {
    let env_file = temp_env_file();
    let flow = start(Arc::new(EnvFileSink::new(&env_file)), true).await;
    let state = flow.consent().await["state"].clone();
    let (status, body) = flow
        .callback(&[("error", "access_denied"), ("state", &state)])
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("access_denied"));
    assert!(!env_file.exists(), "nothing written");

    let unconfigured = start(Arc::new(EnvFileSink::new(temp_env_file())), false).await;
    let res = unconfigured
        .http
        .get(format!("{}/auth/google", unconfigured.base))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.text().await.unwrap().contains("OAUTH_STATE_SECRET"));
}

#[tokio::test]
async fn callback_stores_the_refresh_token_in_the_configuration_secret() {
    let Some(endpoint) = moto::shared_endpoint() else {
        return;
    };
    let client = moto::secrets_client(&endpoint);
    let name = moto::unique_name("phone-agent-config");
    client
        .create_secret()
        .name(&name)
        .secret_string(r#"{"API_KEY":"k","GOOGLE_REFRESH_TOKEN":"1//old"}"#)
        .send()
        .await
        .unwrap();
    let flow = start(
        Arc::new(SecretsManagerSink::new(client.clone(), &name)),
        true,
    )
    .await;
    let state = flow.consent().await["state"].clone();
    let (status, body) = flow
        .callback(&[("code", google_server::AUTH_CODE), ("state", &state)])
        .await;
    assert_eq!(status, 200, "{body}");
    let stored = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(stored.secret_string().unwrap()).unwrap();
    assert_eq!(
        json["GOOGLE_REFRESH_TOKEN"],
        google_server::CODE_REFRESH_TOKEN
    );
    assert_eq!(json["API_KEY"], "k", "other keys kept");
}
