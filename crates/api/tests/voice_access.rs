//! The voice webhook's access decision over real HTTP: an owner number with full STIR/SHAKEN
//! attestation is the owner; anything weaker is asked for the PIN (right, wrong, too many
//! tries, none); a spoofed owner number without attestation and no PIN is a guest. The
//! decision is on the call row, where the stream host reads it.

use std::collections::BTreeMap;
use std::sync::Arc;

use phone_api::AppState;
use phone_config::Config;
use phone_core::{AccessLevel, CallSid, Store, SystemClock};
use phone_local::LocalRecords;
use phone_test_support::logs;
use phone_test_support::twilio_webhook::{form, signed_post};

const AUTH_TOKEN: &str = "voice-access-auth-token";
const OWNER: &str = "+14155550100";
const STRANGER: &str = "+14155550123";
const PIN: &str = "482193";

struct Server {
    base: String,
    store: Store,
    http: reqwest::Client,
}

async fn start(pin: Option<&str>) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut env: BTreeMap<String, String> = [
        ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
        ("PUBLIC_BASE_URL", base.as_str()),
        ("STREAM_PUBLIC_URL", "wss://stream.example.com/voice/stream"),
        ("OWNER_NUMBERS", OWNER),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    if let Some(pin) = pin {
        env.insert("OWNER_PIN".into(), pin.into());
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

fn sid(n: u8) -> String {
    format!("CA{n:032x}")
}

impl Server {
    async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> (u16, String) {
        let url = format!("{}{}", self.base, path);
        let res = signed_post(&self.http, AUTH_TOKEN, &url, &form(pairs))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    async fn ring(&self, call: &str, from: &str, verstat: Option<&str>) -> String {
        let mut form = vec![
            ("CallSid", call),
            ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
            ("From", from),
            ("To", "+14155550999"),
            ("CallStatus", "ringing"),
            ("Direction", "inbound"),
        ];
        if let Some(v) = verstat {
            form.push(("StirVerstat", v));
        }
        let (status, twiml) = self.post("/voice/incoming", &form).await;
        assert_eq!(status, 200, "{twiml}");
        twiml
    }

    async fn digits(&self, call: &str, digits: &str) -> String {
        let (status, twiml) = self
            .post(
                "/voice/pin",
                &[
                    ("CallSid", call),
                    ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
                    ("Digits", digits),
                ],
            )
            .await;
        assert_eq!(status, 200, "{twiml}");
        twiml
    }

    async fn access(&self, call: &str) -> AccessLevel {
        self.store
            .get_call(&CallSid::parse(call).unwrap())
            .await
            .unwrap()
            .access
    }
}

fn connects(twiml: &str) -> bool {
    twiml.contains("/voice/stream-ended\"><Stream") && twiml.contains(r#"<Parameter name="token""#)
}

fn asks_pin(twiml: &str) -> bool {
    twiml.contains(r#"<Gather input="dtmf""#) && twiml.contains("/voice/pin") && !connects(twiml)
}

/// The token in a `<Connect>` answer, and that the stream host's read gives the access.
async fn stream_reads(server: &Server, call: &str, twiml: &str) -> AccessLevel {
    let marker = r#"name="token" value=""#;
    let start = twiml.find(marker).unwrap() + marker.len();
    let token = &twiml[start..start + twiml[start..].find('"').unwrap()];
    let hash = phone_core::token::hash_stream_token(token);
    server
        .store
        .consume_stream_token(&CallSid::parse(call).unwrap(), &hash)
        .await
        .unwrap()
        .access
}

#[tokio::test]
async fn an_owner_number_with_full_attestation_is_the_owner_on_the_call_row() {
    let server = start(Some(PIN)).await;
    let twiml = server
        .ring(&sid(1), OWNER, Some("TN-Validation-Passed-A"))
        .await;
    assert!(connects(&twiml), "no PIN asked: {twiml}");
    assert_eq!(
        stream_reads(&server, &sid(1), &twiml).await,
        AccessLevel::Owner
    );
}

#[tokio::test]
async fn a_stranger_is_a_guest_whatever_the_attestation() {
    let server = start(Some(PIN)).await;
    let twiml = server
        .ring(&sid(2), STRANGER, Some("TN-Validation-Passed-A"))
        .await;
    assert!(connects(&twiml), "{twiml}");
    assert_eq!(
        stream_reads(&server, &sid(2), &twiml).await,
        AccessLevel::Guest
    );
}

#[tokio::test]
async fn a_spoofed_owner_number_without_attestation_or_pin_is_a_guest() {
    let server = start(None).await;
    for (n, verstat) in [
        (3, None),
        (4, Some("TN-Validation-Passed-B")),
        (5, Some("TN-Validation-Passed-C")),
        (6, Some("TN-Validation-Failed-A")),
        (7, Some("No-TN-Validation")),
    ] {
        let twiml = server.ring(&sid(n), OWNER, verstat).await;
        assert!(connects(&twiml), "{verstat:?}: {twiml}");
        assert_eq!(
            stream_reads(&server, &sid(n), &twiml).await,
            AccessLevel::Guest,
            "{verstat:?}"
        );
    }
}

#[tokio::test]
async fn the_right_pin_makes_a_weakly_attested_owner_call_an_owner_call() {
    let (_guard, logs) = logs::capture();
    let server = start(Some(PIN)).await;
    let twiml = server
        .ring(&sid(8), OWNER, Some("TN-Validation-Passed-B"))
        .await;
    assert!(asks_pin(&twiml), "{twiml}");
    assert_eq!(
        server.access(&sid(8)).await,
        AccessLevel::Guest,
        "until proven"
    );
    let twiml = server.digits(&sid(8), &format!("{PIN}#")).await;
    assert!(connects(&twiml), "{twiml}");
    assert_eq!(
        stream_reads(&server, &sid(8), &twiml).await,
        AccessLevel::Owner
    );
    assert!(!logs.text().contains(PIN), "the PIN is never logged");
    // Once the stream has started, a late (replayed) PIN callback changes nothing.
    let (status, _) = server
        .post(
            "/voice/pin",
            &[
                ("CallSid", &sid(8)),
                ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
                ("Digits", PIN),
            ],
        )
        .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn wrong_pins_are_asked_again_then_the_call_goes_on_as_a_guest() {
    let (_guard, logs) = logs::capture();
    let server = start(Some(PIN)).await;
    assert!(asks_pin(&server.ring(&sid(9), OWNER, None).await));
    assert!(asks_pin(&server.digits(&sid(9), "111111").await));
    assert!(asks_pin(&server.digits(&sid(9), "482194").await));
    // The third wrong PIN ends the tries.
    let twiml = server.digits(&sid(9), "000000").await;
    assert!(connects(&twiml), "{twiml}");
    // Even the right PIN now is too late.
    assert_eq!(server.access(&sid(9)).await, AccessLevel::Guest);
    let twiml = server.digits(&sid(9), PIN).await;
    assert!(connects(&twiml), "{twiml}");
    assert_eq!(
        stream_reads(&server, &sid(9), &twiml).await,
        AccessLevel::Guest
    );
    assert_eq!(logs.lines_with(&["owner PIN wrong", "attempts="]).len(), 2);
    assert!(!logs.text().contains("482194"), "digits are never logged");
}

#[tokio::test]
async fn no_digits_go_on_as_a_guest_at_once() {
    let server = start(Some(PIN)).await;
    assert!(asks_pin(&server.ring(&sid(10), OWNER, None).await));
    let twiml = server.digits(&sid(10), "").await;
    assert!(connects(&twiml), "{twiml}");
    assert_eq!(
        stream_reads(&server, &sid(10), &twiml).await,
        AccessLevel::Guest
    );
}

/// The call row says whether the caller ID is proven, for memory: full attestation for any
/// number, or the right owner PIN; nothing weaker.
#[tokio::test]
async fn the_call_row_says_whether_the_caller_id_is_verified() {
    let server = start(Some(PIN)).await;
    let row = |n: u8| {
        let store = server.store.clone();
        async move {
            store
                .get_call(&CallSid::parse(&sid(n)).unwrap())
                .await
                .unwrap()
        }
    };
    server
        .ring(&sid(30), STRANGER, Some("TN-Validation-Passed-A"))
        .await;
    let stranger = row(30).await;
    assert!(stranger.verified_caller && stranger.access == AccessLevel::Guest);
    assert!(stranger.remembered_caller().is_some());
    for (n, verstat) in [(31, Some("TN-Validation-Passed-B")), (32, None)] {
        server.ring(&sid(n), STRANGER, verstat).await;
        let spoofable = row(n).await;
        assert!(!spoofable.verified_caller, "{verstat:?}");
        assert_eq!(spoofable.remembered_caller(), None);
    }
    assert!(asks_pin(&server.ring(&sid(33), OWNER, None).await));
    assert!(!row(33).await.verified_caller, "until the PIN");
    let twiml = server.digits(&sid(33), PIN).await;
    assert!(connects(&twiml), "{twiml}");
    assert!(row(33).await.verified_caller, "the PIN proves the caller");
}
