//! The Twilio webhooks over a real socket refuse what Twilio would never send: missing or forged
//! signatures, garbage bodies, wrong content types, and signed forms without the fields a route
//! needs. Every answer is 403 or 400: never a 5xx, never a 200, and nothing is written.

use std::collections::BTreeMap;
use std::sync::Arc;

use phone_api::AppState;
use phone_config::Config;
use phone_core::store::PageRequest;
use phone_core::{Store, SystemClock};
use phone_local::LocalRecords;
use phone_twilio::signature::compute_signature;

const AUTH_TOKEN: &str = "garbage-test-auth-token-0123456789";
const ROUTES: [&str; 5] = [
    "/voice/incoming",
    "/voice/pin",
    "/voice/stream-ended",
    "/voice/status",
    "/sms/incoming",
];

struct Server {
    base: String,
    store: Store,
    http: reqwest::Client,
}

async fn start() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let env: BTreeMap<String, String> = [
        ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
        ("API_KEY", "garbage-test-api-key"),
        ("PUBLIC_BASE_URL", base.as_str()),
        ("STREAM_PUBLIC_URL", "wss://stream.example.com/voice/stream"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
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

/// A form Twilio could send to any of the routes.
fn form() -> Vec<(String, String)> {
    [
        ("CallSid", "CA0123456789abcdef0123456789abcdef"),
        ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("From", "+14155550123"),
        ("To", "+14155550999"),
        ("CallStatus", "ringing"),
        ("Body", "hello"),
        ("Digits", "1234"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

impl Server {
    /// Posts `body` with `content_type` and an optional signature; returns the status.
    async fn post(
        &self,
        path: &str,
        content_type: Option<&str>,
        signature: Option<&str>,
        body: Vec<u8>,
    ) -> u16 {
        let mut req = self.http.post(format!("{}{path}", self.base)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(sig) = signature {
            req = req.header("x-twilio-signature", sig);
        }
        req.send().await.unwrap().status().as_u16()
    }

    fn sign(&self, path: &str, params: &[(String, String)]) -> String {
        compute_signature(AUTH_TOKEN, &format!("{}{path}", self.base), params)
    }
}

/// One case: its name, content type, signature, body, and the statuses it may get.
type Case<'a> = (&'a str, Option<&'a str>, Option<String>, Vec<u8>, &'a [u16]);

fn assert_refused(status: u16, allowed: &[u16], case: &str, path: &str) {
    assert!(
        allowed.contains(&status),
        "{case} on {path}: {status}, expected one of {allowed:?}"
    );
}

#[tokio::test]
async fn unsigned_forged_and_garbage_requests_get_403_or_400_and_write_nothing() {
    let server = start().await;
    let form_type = Some("application/x-www-form-urlencoded");
    let good_body = serde_urlencoded::to_string(form()).unwrap().into_bytes();
    for path in ROUTES {
        let cases: Vec<Case> = vec![
            ("no signature", form_type, None, good_body.clone(), &[403]),
            (
                "a forged signature",
                form_type,
                Some("bm90IGEgc2lnbmF0dXJlIGF0IGFsbA==".into()),
                good_body.clone(),
                &[403],
            ),
            (
                "the signature of another URL",
                form_type,
                Some(compute_signature(
                    AUTH_TOKEN,
                    "https://evil.example/x",
                    &form(),
                )),
                good_body.clone(),
                &[403],
            ),
            (
                "a signature made with another token",
                form_type,
                Some(compute_signature(
                    "another-token",
                    &format!("{}{path}", server.base),
                    &form(),
                )),
                good_body.clone(),
                &[403],
            ),
            (
                "an empty signature",
                form_type,
                Some(String::new()),
                good_body.clone(),
                &[403],
            ),
            (
                "binary garbage",
                form_type,
                Some(server.sign(path, &form())),
                vec![0xff, 0x00, 0xfe, b'%', b'z', b'z', b'&', b'=', 0x80],
                &[400, 403],
            ),
            (
                "invalid percent-encoding",
                form_type,
                Some(server.sign(path, &[])),
                b"CallSid=%zz%&&==%".to_vec(),
                &[400, 403],
            ),
            (
                "JSON",
                Some("application/json"),
                Some(server.sign(path, &form())),
                br#"{"CallSid": "CA0123456789abcdef0123456789abcdef"}"#.to_vec(),
                &[400, 403],
            ),
            (
                "text/plain",
                Some("text/plain"),
                Some(server.sign(path, &form())),
                good_body.clone(),
                &[400, 403],
            ),
            (
                "no content type",
                None,
                Some(server.sign(path, &form())),
                good_body.clone(),
                &[400, 403],
            ),
            (
                "a correctly signed empty form",
                form_type,
                Some(server.sign(path, &[])),
                Vec::new(),
                &[400],
            ),
        ];
        for (case, content_type, signature, body, allowed) in cases {
            let status = server
                .post(path, content_type, signature.as_deref(), body)
                .await;
            assert_refused(status, allowed, case, path);
        }
    }
    let sid = phone_core::CallSid::parse("CA0123456789abcdef0123456789abcdef").unwrap();
    assert!(
        matches!(
            server.store.get_call(&sid).await,
            Err(phone_core::StoreError::NotFound)
        ),
        "a refused webhook wrote a call row"
    );
    let turns = server
        .store
        .list_turns(&sid, &PageRequest::first(10))
        .await
        .unwrap();
    assert!(turns.items.is_empty());
}

/// A correctly signed form whose fields are malformed (not a CallSid, not a number) is a 400.
#[tokio::test]
async fn signed_forms_with_malformed_fields_get_400() {
    let server = start().await;
    let mut bad = form();
    for (key, value) in bad.iter_mut() {
        match key.as_str() {
            "CallSid" => *value = "CA-not-a-sid".into(),
            "MessageSid" => *value = "<script>".into(),
            "AccountSid" => *value = "nope".into(),
            "CallStatus" => *value = "exploded".into(),
            _ => {}
        }
    }
    let body = serde_urlencoded::to_string(&bad).unwrap().into_bytes();
    for path in ROUTES {
        let status = server
            .post(
                path,
                Some("application/x-www-form-urlencoded"),
                Some(&server.sign(path, &bad)),
                body.clone(),
            )
            .await;
        assert_refused(status, &[400], "malformed fields", path);
    }
}
