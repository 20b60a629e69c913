//! Guests' daily limits at the webhooks, over real HTTP: calls past the limit are told so and
//! hung up (no stream); a guest's call gets the minutes left on its row and its duration is
//! counted once when it ends; the PIN step's guests are limited, its owners not; texts past the
//! limit get one notice a day, then silence, while STOP and HELP still work; owners are never
//! limited.

use std::collections::BTreeMap;
use std::sync::Arc;

use phone_api::AppState;
use phone_config::Config;
use phone_core::quota::QuotaKind;
use phone_core::{CallSid, PhoneNumber, Store, SystemClock};
use phone_local::LocalRecords;
use phone_test_support::logs;
use phone_test_support::twilio_webhook::{form, signed_post};

const AUTH_TOKEN: &str = "guest-limits-auth-token";
const OWNER: &str = "+14155550100";
const STRANGER: &str = "+14155550123";
const OTHER: &str = "+14155550124";
const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";

struct Server {
    base: String,
    store: Store,
    http: reqwest::Client,
}

async fn start(extra: &[(&str, &str)]) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let env: BTreeMap<String, String> = [
        ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
        ("PUBLIC_BASE_URL", base.as_str()),
        ("STREAM_PUBLIC_URL", "wss://stream.example.com/voice/stream"),
        ("OWNER_NUMBERS", OWNER),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| (k.to_string(), v.to_string()))
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

fn sid(n: u8) -> String {
    format!("CA{n:032x}")
}

impl Server {
    async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> String {
        let url = format!("{}{}", self.base, path);
        let res = signed_post(&self.http, AUTH_TOKEN, &url, &form(pairs))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        assert!(status == 200 || status == 204, "{status}: {body}");
        body
    }

    async fn ring(&self, call: &str, from: &str, verstat: Option<&str>) -> String {
        let mut form = vec![
            ("CallSid", call),
            ("AccountSid", ACCOUNT),
            ("From", from),
            ("To", "+14155550999"),
            ("CallStatus", "ringing"),
            ("Direction", "inbound"),
        ];
        if let Some(v) = verstat {
            form.push(("StirVerstat", v));
        }
        self.post("/voice/incoming", &form).await
    }

    async fn completed(&self, call: &str, secs: &str) {
        let form = [
            ("CallSid", call),
            ("AccountSid", ACCOUNT),
            ("CallStatus", "completed"),
            ("CallDuration", secs),
        ];
        self.post("/voice/status", &form).await;
    }

    async fn text(&self, n: u32, from: &str, body: &str) -> String {
        let message_sid = format!("SM{n:032x}");
        let form = [
            ("MessageSid", message_sid.as_str()),
            ("AccountSid", ACCOUNT),
            ("From", from),
            ("To", "+14155550999"),
            ("Body", body),
            ("NumMedia", "0"),
        ];
        self.post("/sms/incoming", &form).await
    }

    async fn max_secs(&self, call: &str) -> Option<u32> {
        self.store
            .get_call(&CallSid::parse(call).unwrap())
            .await
            .unwrap()
            .max_call_secs
    }

    async fn used(&self, who: &str, kind: QuotaKind) -> u64 {
        self.store.quota_used(who, kind).await.unwrap()
    }
}

fn connects(twiml: &str) -> bool {
    twiml.contains("<Stream") && twiml.contains(r#"<Parameter name="token""#)
}

fn refused(twiml: &str) -> bool {
    twiml.contains("<Say>Sorry, this number has reached its daily limit of calls.")
        && twiml.trim_end().ends_with("<Hangup/></Response>")
        && !twiml.contains("<Connect")
        && !twiml.contains("token")
}

#[tokio::test]
async fn a_guest_past_the_daily_calls_is_told_and_hung_up_without_a_stream() {
    let (_guard, logs) = logs::capture();
    let server = start(&[("GUEST_CALLS_PER_DAY", "2")]).await;
    assert!(connects(&server.ring(&sid(1), STRANGER, None).await));
    assert!(connects(&server.ring(&sid(2), STRANGER, None).await));
    let third = server.ring(&sid(3), STRANGER, None).await;
    assert!(refused(&third), "{third}");
    assert_eq!(server.max_secs(&sid(3)).await, Some(0));
    // No stream token can be used for the refused call.
    assert!(!third.contains("Parameter"));
    // Twilio retrying the refused call's webhook gets the same answer and counts nothing.
    assert!(refused(&server.ring(&sid(3), STRANGER, None).await));
    assert_eq!(server.used(STRANGER, QuotaKind::Calls).await, 2);
    assert!(
        !logs
            .lines_with(&["guest call refused", "daily calls used up"])
            .is_empty(),
        "{}",
        logs.text()
    );
    // Another number has its own count; the owner has none.
    assert!(connects(&server.ring(&sid(4), OTHER, None).await));
    for n in 5..9 {
        let twiml = server
            .ring(&sid(n), OWNER, Some("TN-Validation-Passed-A"))
            .await;
        assert!(connects(&twiml), "{twiml}");
        assert_eq!(server.max_secs(&sid(n)).await, None);
    }
    assert_eq!(server.used(OWNER, QuotaKind::Calls).await, 0);
}

#[tokio::test]
async fn a_guests_call_lasts_at_most_the_minutes_left_counted_once_when_it_ends() {
    let server = start(&[("GUEST_CALL_MINUTES_PER_DAY", "10")]).await;
    assert!(connects(&server.ring(&sid(1), STRANGER, None).await));
    assert_eq!(server.max_secs(&sid(1)).await, Some(600));
    server.completed(&sid(1), "420").await;
    // Twilio repeating the callback does not count the call twice.
    server.completed(&sid(1), "420").await;
    assert_eq!(server.used(STRANGER, QuotaKind::CallSeconds).await, 420);

    assert!(connects(&server.ring(&sid(2), STRANGER, None).await));
    assert_eq!(server.max_secs(&sid(2)).await, Some(180));
    server.completed(&sid(2), "175").await;
    // 5 seconds left: not worth a call.
    assert!(refused(&server.ring(&sid(3), STRANGER, None).await));
    // A refused call's own seconds are not counted.
    server.completed(&sid(3), "4").await;
    assert_eq!(server.used(STRANGER, QuotaKind::CallSeconds).await, 595);

    // The owner's calls are neither shortened nor counted.
    assert!(connects(
        &server
            .ring(&sid(4), OWNER, Some("TN-Validation-Passed-A"))
            .await
    ));
    assert_eq!(server.max_secs(&sid(4)).await, None);
    server.completed(&sid(4), "900").await;
    assert_eq!(server.used(OWNER, QuotaKind::CallSeconds).await, 0);
}

#[tokio::test]
async fn default_minutes_shorten_a_guest_call_and_off_leaves_max_call_secs() {
    let server = start(&[]).await;
    assert!(connects(&server.ring(&sid(1), STRANGER, None).await));
    // 20 minutes by default, fewer than MAX_CALL_SECS (1800).
    assert_eq!(server.max_secs(&sid(1)).await, Some(1200));
    let off = start(&[
        ("GUEST_CALL_MINUTES_PER_DAY", "off"),
        ("GUEST_CALLS_PER_DAY", "off"),
    ])
    .await;
    for n in 1..8 {
        assert!(connects(&off.ring(&sid(n), STRANGER, None).await));
        assert_eq!(off.max_secs(&sid(n)).await, None);
    }
    // Withheld numbers share one count.
    let shared = start(&[("GUEST_CALLS_PER_DAY", "1")]).await;
    assert!(connects(&shared.ring(&sid(1), "anonymous", None).await));
    assert!(refused(&shared.ring(&sid(2), "Restricted", None).await));
}

#[tokio::test]
async fn after_the_pin_step_guests_are_limited_and_the_owner_is_not() {
    let server = start(&[("OWNER_PIN", "482193"), ("GUEST_CALLS_PER_DAY", "1")]).await;
    let pin = |call: String, digits: &'static str| {
        let server = &server;
        async move {
            server
                .post(
                    "/voice/pin",
                    &[
                        ("CallSid", call.as_str()),
                        ("AccountSid", ACCOUNT),
                        ("Digits", digits),
                    ],
                )
                .await
        }
    };
    // The owner's number without attestation: no PIN entered goes on as a guest, counted.
    assert!(server.ring(&sid(1), OWNER, None).await.contains("<Gather"));
    let first = pin(sid(1), "").await;
    assert!(connects(&first), "{first}");
    assert_eq!(server.max_secs(&sid(1)).await, Some(1200));
    // A second guest call from that number is past the limit.
    assert!(server.ring(&sid(2), OWNER, None).await.contains("<Gather"));
    assert!(refused(&pin(sid(2), "").await));
    // The right PIN makes an owner call: not limited.
    assert!(server.ring(&sid(3), OWNER, None).await.contains("<Gather"));
    let owner = pin(sid(3), "482193#").await;
    assert!(connects(&owner), "{owner}");
    assert_eq!(server.max_secs(&sid(3)).await, None);
    assert_eq!(server.used(OWNER, QuotaKind::Calls).await, 1);
}

#[tokio::test]
async fn a_guests_texts_past_the_limit_get_one_notice_then_silence() {
    let (_guard, logs) = logs::capture();
    let server = start(&[("GUEST_SMS_PER_DAY", "2")]).await;
    // No chat model here: an answered text gets the "cannot answer" apology.
    for n in 1..=2 {
        let twiml = server.text(n, STRANGER, "Are you free Friday?").await;
        assert!(twiml.contains("cannot answer texts right now"), "{twiml}");
    }
    let notice = server.text(3, STRANGER, "Hello?").await;
    assert!(
        notice.contains("limit of messages to this assistant"),
        "{notice}"
    );
    for n in 4..=6 {
        let silent = server.text(n, STRANGER, "Hello??").await;
        assert!(!silent.contains("<Message"), "{silent}");
    }
    // HELP and STOP still work past the limit.
    let help = server.text(7, STRANGER, "HELP").await;
    assert!(help.contains("Reply STOP"), "{help}");
    server.text(8, STRANGER, "STOP").await;
    let number = PhoneNumber::parse(STRANGER).unwrap();
    assert!(server.store.is_sms_opted_out(&number).await.unwrap());
    assert_eq!(server.used(STRANGER, QuotaKind::Sms).await, 2);
    assert!(
        !logs
            .lines_with(&["guest text not answered", "daily limit reached"])
            .is_empty(),
        "{}",
        logs.text()
    );
    // Another guest has a count of their own; the owner has none.
    assert!(
        server
            .text(9, OTHER, "Hi")
            .await
            .contains("cannot answer texts")
    );
    for n in 10..15 {
        let twiml = server.text(n, OWNER, "What's on today?").await;
        assert!(twiml.contains("cannot answer texts"), "{twiml}");
    }
    assert_eq!(server.used(OWNER, QuotaKind::Sms).await, 0);
}
