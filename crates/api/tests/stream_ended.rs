//! `POST /voice/stream-ended`, the `<Connect action>`, over real HTTP on loopback: what the
//! caller hears once the media stream has ended, and the owner's SMS through the local outbox.

use std::collections::BTreeMap;
use std::sync::Arc;

use phone_api::AppState;
use phone_api::routes::stream_ended::{PATH, SORRY_CALL_BACK, SORRY_TEXT_BACK, SORRY_TRANSFER};
use phone_config::Config;
use phone_core::ports::{Messaging, SmsMessage, SmsQuery};
use phone_core::{CallSid, Store, StreamEnd, SystemClock};
use phone_http::InFlight;
use phone_local::LocalRecords;
use phone_test_support::twilio_webhook::signed_post;
use phone_twilio::signature::compute_signature;
use phone_twilio::twiml::escape;

const AUTH_TOKEN: &str = "test-auth-token-0123456789abcdef";
const CALLER: &str = "+14155550123";
const OWNER: &str = "+14155550100";
const TRANSFER: &str = "+14155550177";
const HANGUP_ONLY: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>"#;

struct Server {
    base: String,
    store: Store,
    messaging: Arc<dyn Messaging>,
    background: InFlight,
    http: reqwest::Client,
}

/// The API with the embedded store and the local SMS outbox; `extra` adds settings.
async fn start(extra: &[(&str, &str)]) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut env: BTreeMap<String, String> = [
        ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
        ("PUBLIC_BASE_URL", base.as_str()),
        ("STREAM_PUBLIC_URL", "wss://stream.example.com/voice/stream"),
        ("TWILIO_FROM_NUMBER", "+14155550999"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config = Config::from_map(&env).unwrap();
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        Arc::new(SystemClock),
        config.retention,
    );
    let tools = phone_wiring::tool_ports(&config, &store).unwrap();
    let messaging = tools.messaging.clone();
    let state = AppState::new(config, store.clone()).with_tools(tools);
    let background = state.background.clone();
    let app = phone_api::routes::all(state);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        base,
        store,
        messaging,
        background,
        http: reqwest::Client::new(),
    }
}

fn sid(n: u8) -> String {
    format!("CA{n:032x}")
}

fn form(sid: &str, status: &str) -> Vec<(String, String)> {
    [
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", sid),
        ("CallStatus", status),
        ("Direction", "inbound"),
        ("From", CALLER),
        ("To", "+14155550999"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

impl Server {
    async fn post(&self, path: &str, form: &[(String, String)]) -> reqwest::Response {
        let url = format!("{}{path}", self.base);
        signed_post(&self.http, AUTH_TOKEN, &url, form)
            .send()
            .await
            .unwrap()
    }

    /// A call that rang in (call row written by `/voice/incoming`), with `end` recorded.
    async fn call(&self, n: u8, end: Option<StreamEnd>) -> String {
        let sid = sid(n);
        let res = self.post("/voice/incoming", &form(&sid, "ringing")).await;
        assert_eq!(res.status(), 200);
        if let Some(end) = end {
            self.store
                .record_stream_end(&CallSid::parse(&sid).unwrap(), end)
                .await
                .unwrap();
        }
        sid
    }

    /// Twilio's request to the action once the stream has closed: status and TwiML.
    async fn stream_ended(&self, sid: &str) -> (u16, String) {
        let res = self.post(PATH, &form(sid, "in-progress")).await;
        let status = res.status().as_u16();
        if status == 200 {
            assert_eq!(res.headers()["content-type"], "text/xml");
        }
        (status, res.text().await.unwrap())
    }

    async fn outbox(&self) -> Vec<SmsMessage> {
        self.background.idle().await;
        self.messaging
            .list_sms(&SmsQuery {
                limit: 50,
                ..SmsQuery::default()
            })
            .await
            .unwrap()
    }
}

fn says(twiml: &str, text: &str) -> bool {
    twiml.contains(&format!("<Say>{}</Say>", escape(text)))
}

#[tokio::test]
async fn normal_ends_hang_up_with_nothing_said() {
    let server = start(&[("TRANSFER_NUMBER", TRANSFER), ("OWNER_NUMBERS", OWNER)]).await;
    let normal = [
        StreamEnd::CallerHungUp,
        StreamEnd::MaxDuration,
        StreamEnd::CostLimit,
        StreamEnd::Idle,
        StreamEnd::Drain,
        StreamEnd::AssistantHungUp,
        StreamEnd::Transferred,
    ];
    for (n, end) in normal.into_iter().enumerate() {
        let sid = server.call(n as u8 + 1, Some(end)).await;
        assert_eq!(
            server.stream_ended(&sid).await,
            (200, HANGUP_ONLY.to_owned()),
            "{end:?}"
        );
    }
    assert!(server.outbox().await.is_empty());
}

#[tokio::test]
async fn abnormal_end_apologises_and_dials_the_transfer_number() {
    let server = start(&[("TRANSFER_NUMBER", TRANSFER), ("OWNER_NUMBERS", OWNER)]).await;
    let abnormal = [
        Some(StreamEnd::OpenAiLost),
        Some(StreamEnd::SessionNotConfigured),
        Some(StreamEnd::OpenAiUnreachable),
        // Nothing recorded: the stream host was unreachable or died.
        None,
    ];
    let expected = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say>{}</Say><Dial timeout="30"><Number>{TRANSFER}</Number></Dial></Response>"#,
        escape(SORRY_TRANSFER)
    );
    for (n, end) in abnormal.into_iter().enumerate() {
        let sid = server.call(n as u8 + 1, end).await;
        assert_eq!(
            server.stream_ended(&sid).await,
            (200, expected.clone()),
            "{end:?}"
        );
    }
    // A call the API never saw still gets the apology rather than silence.
    assert_eq!(server.stream_ended(&sid(99)).await, (200, expected));
    // The transfer is the fallback: the owner is not texted as well.
    assert!(server.outbox().await.is_empty());
}

#[tokio::test]
async fn abnormal_end_without_transfer_texts_the_owner_exactly_once() {
    let server = start(&[("OWNER_NUMBERS", &format!("{OWNER},+14155550101"))]).await;
    let sid = server.call(1, Some(StreamEnd::OpenAiUnreachable)).await;
    for _ in 0..3 {
        // Twilio may retry a webhook: the caller hears the same, the owner is texted once.
        let (status, twiml) = server.stream_ended(&sid).await;
        assert_eq!(status, 200);
        assert!(says(&twiml, SORRY_TEXT_BACK), "{twiml}");
        assert!(twiml.ends_with("<Hangup/></Response>"), "{twiml}");
        assert!(!twiml.contains("<Dial"), "{twiml}");
    }
    let sent = server.outbox().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].to, OWNER, "the first owner number");
    assert!(sent[0].body.contains(CALLER), "{}", sent[0].body);
    assert!(
        sent[0].body.contains("OpenAI could not be reached"),
        "{}",
        sent[0].body
    );

    // A second failed call is a second SMS.
    let other = server.call(2, None).await;
    assert!(says(&server.stream_ended(&other).await.1, SORRY_TEXT_BACK));
    assert_eq!(server.outbox().await.len(), 2);
}

#[tokio::test]
async fn without_owner_or_transfer_number_the_caller_is_asked_to_call_back() {
    let server = start(&[]).await;
    let sid = server.call(1, Some(StreamEnd::OpenAiLost)).await;
    let (status, twiml) = server.stream_ended(&sid).await;
    assert_eq!(status, 200);
    assert!(says(&twiml, SORRY_CALL_BACK), "{twiml}");
    assert!(server.outbox().await.is_empty());
}

#[tokio::test]
async fn a_call_already_over_hears_nothing_and_texts_nobody() {
    let server = start(&[("OWNER_NUMBERS", OWNER)]).await;
    let sid = server.call(1, Some(StreamEnd::OpenAiLost)).await;
    let res = server.post(PATH, &form(&sid, "completed")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), HANGUP_ONLY);
    assert!(server.outbox().await.is_empty());
}

#[tokio::test]
async fn unsigned_or_tampered_action_is_refused_and_texts_nobody() {
    let server = start(&[("OWNER_NUMBERS", OWNER)]).await;
    let sid = server.call(1, Some(StreamEnd::OpenAiLost)).await;
    let url = format!("{}{PATH}", server.base);
    let unsigned = server
        .http
        .post(&url)
        .form(&form(&sid, "in-progress"))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403);

    let signed = form(&sid, "in-progress");
    let signature = compute_signature(AUTH_TOKEN, &url, &signed);
    let mut tampered = signed.clone();
    tampered[5].1 = "+19005550000".into(); // From changed after signing
    let res = server
        .http
        .post(&url)
        .header("X-Twilio-Signature", signature)
        .form(&tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(server.outbox().await.is_empty());
    // The genuine request still texts: the refused ones claimed nothing.
    assert!(says(&server.stream_ended(&sid).await.1, SORRY_TEXT_BACK));
    assert_eq!(server.outbox().await.len(), 1);
}
