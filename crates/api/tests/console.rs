//! The call console over real HTTP on loopback: its pages need a session, the login form turns
//! the API key into a signed cookie (never a URL, never a log line), the JSON endpoints take the
//! cookie or the key, and every console response carries the strict Content-Security-Policy.

use std::collections::BTreeMap;
use std::sync::Arc;

use phone_api::AppState;
use phone_config::Config;
use phone_core::store::{Keys, PageRequest};
use phone_core::{CallSession, CallSid, CallStatus, PhoneNumber, Store, SystemClock};
use phone_local::LocalRecords;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, SET_COOKIE};
use serde_json::Value;

const API_KEY: &str = "console-test-key-0123456789";

struct Console {
    base: String,
    store: Store,
    /// A client that does not follow redirects, so each answer can be inspected.
    http: reqwest::Client,
}

async fn start(extra: &[(&str, &str)]) -> Console {
    let mut env = BTreeMap::from([("API_KEY".to_owned(), API_KEY.to_owned())]);
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config = Config::from_map(&env).unwrap();
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        Arc::new(SystemClock),
        config.retention,
    );
    let state = AppState::new(config, store.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, phone_api::routes::all(state)).await });
    Console {
        base: format!("http://{addr}"),
        store,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

impl Console {
    async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send().await.unwrap()
    }

    async fn login(&self, key: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/console/login", self.base))
            .header("origin", &self.base)
            .header("sec-fetch-site", "same-origin")
            .form(&[("api_key", key)])
            .send()
            .await
            .unwrap()
    }

    /// Logs in and returns `name=value` of the session cookie, and the whole `Set-Cookie`.
    async fn session(&self) -> (String, String) {
        let res = self.login(API_KEY).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let set = res.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        let pair = set.split(';').next().unwrap().to_owned();
        (pair, set)
    }
}

fn sid(n: u8) -> CallSid {
    CallSid::parse(&format!("CA{n:032x}")).unwrap()
}

async fn add_call(store: &Store, n: u8, secs_ago: i64) {
    let started = time::OffsetDateTime::now_utc() - time::Duration::seconds(secs_ago);
    let from = PhoneNumber::parse(&format!("+1555010010{n}")).unwrap();
    let call = CallSession::new(sid(n), Some(from), None, started);
    store
        .create_call(&call, "hash", started + time::Duration::minutes(2))
        .await
        .unwrap();
}

#[tokio::test]
async fn pages_and_calls_need_a_session_or_the_key() {
    let c = start(&[]).await;
    add_call(&c.store, 1, 10).await;
    for path in ["/console", &format!("/console/calls/{}", sid(1))] {
        let res = c.get(path, None).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.headers()[LOCATION], "/console/login", "{path}");
    }
    for path in ["/calls", &format!("/calls/{}", sid(1))] {
        assert_eq!(c.get(path, None).await.status(), 401, "{path}");
        let forged = "pa_console=v1.99999999999.00.0000";
        assert_eq!(c.get(path, Some(forged)).await.status(), 401, "{path}");
        let res = c
            .http
            .get(format!("{}{path}", c.base))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path} with the key");
    }
    // A wrong bearer key is refused even with a valid cookie: the header decides.
    let (cookie, _) = c.session().await;
    let res = c
        .http
        .get(format!("{}/calls", c.base))
        .header("cookie", &cookie)
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // A cookie signed under another API key (rotated) is refused.
    let other = start(&[("API_KEY", "another-key")]).await;
    assert_eq!(other.get("/calls", Some(&cookie)).await.status(), 401);
}

#[tokio::test]
async fn login_sets_a_signed_http_only_cookie_that_reads_calls() {
    let c = start(&[]).await;
    add_call(&c.store, 1, 10).await;
    let (cookie, set) = c.session().await;
    assert!(cookie.starts_with("pa_console=v1."), "{set}");
    for attr in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=43200",
        "Secure",
    ] {
        assert!(set.contains(attr), "{attr} missing from {set}");
    }
    assert!(!set.contains(API_KEY), "the key is not the cookie");

    let page = c.get("/console", Some(&cookie)).await;
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("/console/assets/app.js")
    );
    let call_page = c
        .get(&format!("/console/calls/{}", sid(1)), Some(&cookie))
        .await;
    assert_eq!(call_page.status(), 200);
    assert_eq!(
        c.get("/console/calls/not-a-sid", Some(&cookie))
            .await
            .status(),
        404
    );
    let report: Value = c
        .get(&format!("/calls/{}", sid(1)), Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["call_sid"], sid(1).to_string());

    // Logging out from the console's own page clears the cookie.
    let res = c
        .http
        .post(format!("{}/console/logout", c.base))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cleared = res.headers()[SET_COOKIE].to_str().unwrap();
    assert!(
        cleared.starts_with("pa_console=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
}

#[tokio::test]
async fn cookies_are_not_secure_only_on_loopback() {
    let c = start(&[("PUBLIC_BASE_URL", "http://127.0.0.1:8080")]).await;
    let (_, set) = c.session().await;
    assert!(!set.contains("Secure"), "{set}");
    let c = start(&[("PUBLIC_BASE_URL", "https://calls.example.com")]).await;
    let (_, set) = c.session().await;
    assert!(set.contains("; Secure"), "{set}");
}

#[tokio::test]
async fn a_wrong_key_gets_the_form_again_and_no_cookie() {
    let c = start(&[]).await;
    let res = c.login("not-the-key").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/console/login?failed");
    assert!(res.headers().get(SET_COOKIE).is_none());
    let page = c
        .get("/console/login?failed", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("That key is not the API key."));
    let fresh = c.get("/console/login", None).await.text().await.unwrap();
    assert!(!fresh.contains("That key is not"));
}

#[tokio::test]
async fn cross_site_login_and_logout_are_refused() {
    let c = start(&[]).await;
    for path in ["/console/login", "/console/logout"] {
        let res = c
            .http
            .post(format!("{}{path}", c.base))
            .header("sec-fetch-site", "cross-site")
            .form(&[("api_key", API_KEY)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path} with Sec-Fetch-Site cross-site");
        assert!(res.headers().get(SET_COOKIE).is_none());
        let res = c
            .http
            .post(format!("{}{path}", c.base))
            .header("origin", "https://evil.example")
            .form(&[("api_key", API_KEY)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path} from another origin");
    }
}

#[tokio::test]
async fn every_console_response_has_the_strict_policy_and_assets_are_ours() {
    let c = start(&[]).await;
    let (cookie, _) = c.session().await;
    let cases = [
        ("/console", "text/html"),
        ("/console/login", "text/html"),
        ("/console/assets/app.js", "text/javascript"),
        ("/console/assets/chart.js", "text/javascript"),
        ("/console/assets/style.css", "text/css"),
    ];
    for (path, kind) in cases {
        let res = c.get(path, Some(&cookie)).await;
        assert_eq!(res.status(), 200, "{path}");
        let csp = res.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert!(
            res.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        let body = res.text().await.unwrap();
        if kind == "text/html" {
            // No inline script, no inline style, nothing fetched from another host.
            for script in body.split("<script").skip(1) {
                assert!(
                    script.trim_start().starts_with("src=\"/console/assets/"),
                    "{path}"
                );
            }
            assert!(!body.contains("style="), "{path}");
            assert!(!body.contains("<style"), "{path}");
            assert!(
                !body.contains("http://") && !body.contains("https://"),
                "{path}"
            );
            assert!(body.contains("name=\"viewport\""), "{path}: phone layout");
        }
    }
    assert_eq!(
        c.get("/console/assets/../Cargo.toml", None).await.status(),
        404
    );
    assert_eq!(c.get("/console/assets/nope.js", None).await.status(), 404);
    // The scripts build the page with DOM calls, never HTML strings.
    for path in ["/console/assets/app.js", "/console/assets/chart.js"] {
        let js = c.get(path, None).await.text().await.unwrap();
        assert!(!js.contains("innerHTML") && !js.contains("eval("), "{path}");
    }
}

#[tokio::test]
async fn the_key_and_the_cookie_stay_out_of_urls_and_logs() {
    let (_guard, logs) = phone_test_support::logs::capture();
    let c = start(&[]).await;
    add_call(&c.store, 1, 10).await;
    let refused = c.login("a-wrong-key-that-must-not-be-logged").await;
    let (cookie, _) = c.session().await;
    let res = c.login(API_KEY).await;
    let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(location, "/console");
    assert!(
        !refused.headers()[LOCATION]
            .to_str()
            .unwrap()
            .contains("wrong-key")
    );
    c.get("/console", Some(&cookie)).await;
    c.get("/calls", Some(&cookie)).await;
    c.get("/calls", Some("pa_console=forged-value-xyz")).await;
    // The login form posts; the key is a form field, not part of any URL on the page.
    let form = c.get("/console/login", None).await.text().await.unwrap();
    assert!(form.contains(r#"<form method="post" action="/console/login">"#));

    let text = logs.text();
    assert!(
        text.contains("console login refused: wrong API key"),
        "the capture sees the server's logs: {text}"
    );
    let value = cookie.split_once('=').unwrap().1;
    for secret in [
        API_KEY,
        "a-wrong-key-that-must-not-be-logged",
        value,
        "forged-value-xyz",
    ] {
        assert!(!text.contains(secret), "{secret} was logged:\n{text}");
    }
}

#[tokio::test]
async fn calls_list_newest_first_with_live_flags_and_pages() {
    let c = start(&[]).await;
    add_call(&c.store, 1, 30).await;
    add_call(&c.store, 2, 20).await;
    add_call(&c.store, 3, 10).await;
    c.store
        .set_call_status(&sid(1), CallStatus::Completed, Some(12))
        .await
        .unwrap();
    let (cookie, _) = c.session().await;
    let first: Value = c
        .get("/calls?limit=2", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    let calls = first["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["call_sid"], sid(3).to_string());
    assert_eq!(calls[0]["live"], true);
    assert_eq!(calls[0]["from"], "+15550100103");
    let next = first["next"].as_str().unwrap();
    let second: Value = c
        .get(&format!("/calls?limit=2&after={next}"), Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["calls"][0]["call_sid"], sid(1).to_string());
    assert_eq!(second["calls"][0]["live"], false);
    assert_eq!(second["calls"][0]["duration_secs"], 12);
    assert!(second["next"].is_null());

    for bad in [
        "/calls?limit=0",
        "/calls?limit=101",
        "/calls?after=CALL%23x",
    ] {
        let res = c.get(bad, Some(&cookie)).await;
        assert_eq!(res.status(), 400, "{bad}");
    }
    // The store's own listing agrees.
    let page = c
        .store
        .list_recent_calls(&PageRequest::newest(10))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 3);
    assert!(Keys::is_call_index(next));
}
