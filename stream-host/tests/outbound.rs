//! Outbound calls end to end on loopback: `POST /calls` → the strict Twilio REST double → the
//! test plays Twilio (signed outbound voice webhook, media stream, status and AMD callbacks) →
//! the stream host → the strict Realtime double. Policy refusals dial nothing.

mod harness;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use phone_api::AppState;
use phone_config::Config;
use phone_core::outbound::dialer::Dialer;
use phone_core::{CallSid, Clock, PhoneNumber, Store};
use phone_local::LocalRecords;
use phone_test_support::realtime_server::{Mode, RealtimeTestServer, Response, Status};
use phone_test_support::twilio_rest_server::TwilioRestServer;
use phone_test_support::twilio_stream::{Signing, TwilioStream};
use phone_test_support::twilio_webhook::{self, signed_post};
use phone_twilio::signature::compute_signature;
use serde_json::{Value, json};
use stream_host::HostState;
use stream_host::drain;
use time::OffsetDateTime;
use time::macros::datetime;

use harness::{AUTH_TOKEN, WAIT};

const API_KEY: &str = "outbound-test-key";
const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const OURS: &str = "+14155550999";
const CALLEE: &str = "+33612345678";

/// A clock the test moves.
#[derive(Clone)]
struct TestClock(Arc<Mutex<OffsetDateTime>>);

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

struct Stack {
    base: String,
    stream_url: String,
    store: Store,
    clock: TestClock,
    twilio: TwilioRestServer,
    openai: RealtimeTestServer,
    dialer: Dialer,
    http: reqwest::Client,
}

/// API and stream host on one loopback listener, the store on a clock set to `now`.
async fn stack(now: OffsetDateTime) -> Stack {
    let twilio = TwilioRestServer::start_with_credentials(ACCOUNT, AUTH_TOKEN).await;
    let openai = RealtimeTestServer::start(Mode::Strict).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let stream_url = format!("ws://{addr}/voice/stream");
    let map: BTreeMap<String, String> = [
        ("PUBLIC_BASE_URL", base.as_str()),
        ("STREAM_PUBLIC_URL", stream_url.as_str()),
        ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
        ("TWILIO_ACCOUNT_SID", ACCOUNT),
        ("TWILIO_API_BASE_URL", twilio.base_url()),
        ("TWILIO_FROM_NUMBER", OURS),
        ("API_KEY", API_KEY),
        ("TIME_ZONE", "Europe/Paris"),
        ("OUTBOUND_MAX_RETRIES", "1"),
        ("OUTBOUND_RETRY_BACKOFF_SECS", "60"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let config = Config::from_map(&map).unwrap();
    let clock = TestClock(Arc::new(Mutex::new(now)));
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        Arc::new(clock.clone()),
        Default::default(),
    );
    let dialer = phone_wiring::dialer(&config, &store).unwrap().unwrap();
    let (_controller, signal) = drain::channel();
    std::mem::forget(_controller);
    let host = HostState::new(
        harness::config(&stream_url, openai.url()),
        store.clone(),
        signal,
    );
    let state = AppState::new(config, store.clone()).with_dialer(dialer.clone());
    let app = phone_api::routes::all(state).merge(stream_host::stream_routes(host));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Stack {
        base,
        stream_url,
        store,
        clock,
        twilio,
        openai,
        dialer,
        http: reqwest::Client::new(),
    }
}

fn body(purpose: &str) -> Value {
    json!({"to": CALLEE, "purpose": purpose,
        "instructions": "Ask whether Tuesday at 3 pm still works and note the answer.",
        "context": "Appointment booked on 2026-11-20."})
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {form:?}"))
}

impl Stack {
    async fn place(&self, key: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/calls", self.base))
            .bearer_auth(API_KEY)
            .json(body);
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    async fn get(&self, id: &str) -> Value {
        let res = self
            .http
            .get(format!("{}/calls/{id}", self.base))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    /// Posts `form` to `url` signed as Twilio signs it; returns status and body.
    async fn twilio_posts(&self, url: &str, form: &[(&str, &str)]) -> (u16, String) {
        let res = signed_post(&self.http, AUTH_TOKEN, url, &twilio_webhook::form(form))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// Twilio's status callback for the `n`-th placed call.
    async fn status(&self, n: usize, status: &str) {
        let placed = &self.twilio.calls()[n];
        let sid = TwilioRestServer::call_sid(n);
        let (code, _) = self
            .twilio_posts(
                field(placed, "StatusCallback"),
                &[
                    ("CallSid", &sid),
                    ("AccountSid", ACCOUNT),
                    ("CallStatus", status),
                    ("From", OURS),
                    ("To", CALLEE),
                ],
            )
            .await;
        assert_eq!(code, 204, "status callback {status}");
    }

    /// Twilio's AMD callback for the `n`-th placed call.
    async fn amd(&self, n: usize, answered_by: &str) {
        let placed = &self.twilio.calls()[n];
        let sid = TwilioRestServer::call_sid(n);
        let (code, _) = self
            .twilio_posts(
                field(placed, "AsyncAmdStatusCallback"),
                &[
                    ("CallSid", &sid),
                    ("AccountSid", ACCOUNT),
                    ("AnsweredBy", answered_by),
                    ("MachineDetectionDuration", "3100"),
                ],
            )
            .await;
        assert_eq!(code, 204, "AMD callback");
    }

    /// The callee answers the `n`-th placed call: Twilio fetches its TwiML and opens the
    /// media stream it names, with the token it carries.
    async fn answer(&self, n: usize) -> TwilioStream {
        let placed = &self.twilio.calls()[n];
        let sid = TwilioRestServer::call_sid(n);
        let (code, twiml) = self
            .twilio_posts(
                field(placed, "Url"),
                &[
                    ("CallSid", &sid),
                    ("AccountSid", ACCOUNT),
                    ("From", OURS),
                    ("To", CALLEE),
                    ("CallStatus", "in-progress"),
                    ("Direction", "outbound-api"),
                ],
            )
            .await;
        assert_eq!(code, 200, "{twiml}");
        assert!(
            twiml.contains(&format!("url=\"{}\"", self.stream_url)),
            "{twiml}"
        );
        let token = twiml
            .split("name=\"token\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no token in {twiml}"))
            .to_owned();
        let mut stream = TwilioStream::connect(&self.stream_url, Signing::Token(AUTH_TOKEN))
            .await
            .unwrap();
        stream.start(&sid, &[("token", &token)]).await;
        stream
    }
}

/// Noon in Paris on a weekday.
const NOON_PARIS: OffsetDateTime = datetime!(2026-11-30 11:00 UTC);

#[tokio::test]
async fn an_outbound_call_to_a_person_greets_with_its_purpose() {
    let s = stack(NOON_PARIS).await;
    let (code, placed) = s
        .place(Some("call-1"), &body("your dentist appointment"))
        .await;
    assert_eq!(code, 201, "{placed}");
    let id = placed["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("OB"));
    assert_eq!(placed["direction"], "outbound");
    assert_eq!(placed["status"], "in_progress");
    let sid = TwilioRestServer::call_sid(0);
    assert_eq!(placed["attempts"], json!([sid]));
    assert_eq!(placed["calls"][0]["status"], "queued");
    // What Twilio was asked: our number to the callee, AMD at the end of the greeting.
    let form = &s.twilio.calls()[0];
    assert_eq!(field(form, "To"), CALLEE);
    assert_eq!(field(form, "From"), OURS);
    assert_eq!(field(form, "MachineDetection"), "DetectMessageEnd");
    assert_eq!(field(form, "AsyncAmd"), "true");
    assert!(field(form, "Url").ends_with(&format!("/voice/outbound?outbound={id}")));

    s.status(0, "ringing").await;
    let mut stream = s.answer(0).await;
    // Silent until the detection says who answered.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        s.openai.events_of("response.create").await.is_empty(),
        "the assistant spoke before it knew who answered"
    );
    s.amd(0, "human").await;
    let greeting = s
        .openai
        .respond(Response::new().status(Status::Completed))
        .await;
    let said = greeting.instructions().unwrap_or_default().to_owned();
    assert!(
        said.contains("Hi, this is Ava calling for Sam about your dentist appointment."),
        "{said}"
    );
    let session = s.openai.events_of("session.update").await;
    let instructions = session[0]["session"]["instructions"].as_str().unwrap();
    assert!(instructions.contains("OUTBOUND call"), "{instructions}");
    assert!(instructions.contains("Ask whether Tuesday at 3 pm still works"));
    assert!(instructions.contains("Appointment booked on 2026-11-20."));
    // The callee is a guest: the session offers no owner tool (this host has none at all).
    let row = s
        .store
        .get_call(&CallSid::parse(&sid).unwrap())
        .await
        .unwrap();
    assert_eq!(row.access, phone_core::AccessLevel::Guest);
    assert_eq!(row.counterpart().map(PhoneNumber::as_str), Some(CALLEE));

    stream.stop(&sid).await;
    s.status(0, "completed").await;
    let report = s.get(&id).await;
    assert_eq!(report["status"], "completed", "{report}");
    assert_eq!(report["outcome"], "human");
    let call = s.get(&sid).await;
    assert_eq!(call["direction"], "outbound");
    assert_eq!(call["outcome"], "human");
    assert_eq!(call["answered_by"], "human");
    assert_eq!(call["outbound_id"], id.as_str());
    s.openai.assert_client_events_valid().await;
}

#[tokio::test]
async fn a_machine_gets_one_message_after_the_beep_then_the_call_hangs_up() {
    let s = stack(NOON_PARIS).await;
    let (code, placed) = s.place(None, &body("the parking permit")).await;
    assert_eq!(code, 201, "{placed}");
    let id = placed["id"].as_str().unwrap().to_owned();
    let sid = TwilioRestServer::call_sid(0);
    let mut stream = s.answer(0).await;
    // The voicemail greeting plays; the detection's verdict comes at the beep.
    s.amd(0, "machine_end_beep").await;
    let message = s
        .openai
        .respond(Response::new().status(Status::Completed))
        .await;
    let asked = message.instructions().unwrap_or_default().to_owned();
    assert!(asked.contains("answering machine"), "{asked}");
    assert!(asked.contains("the parking permit"), "{asked}");
    // Said: the host ends the stream itself (no hang-up from the callee).
    stream.expect_closed(WAIT).await;
    let row = s
        .store
        .get_call(&CallSid::parse(&sid).unwrap())
        .await
        .unwrap();
    assert_eq!(row.stream_end, Some(phone_core::StreamEnd::VoicemailLeft));
    // Twilio then asks what next: the call is hung up, nothing more is said.
    let (code, twiml) = s
        .twilio_posts(
            &format!("{}/voice/stream-ended", s.base),
            &[
                ("CallSid", &sid),
                ("AccountSid", ACCOUNT),
                ("From", OURS),
                ("To", CALLEE),
                ("CallStatus", "in-progress"),
            ],
        )
        .await;
    assert_eq!(code, 200);
    assert!(twiml.contains("<Hangup/>"), "{twiml}");
    s.status(0, "completed").await;
    let report = s.get(&id).await;
    assert_eq!(report["outcome"], "voicemail_left", "{report}");
    assert_eq!(report["status"], "completed");
    assert_eq!(report["calls"][0]["answered_by"], "machine_end_beep");
    assert_eq!(s.twilio.calls().len(), 1, "a voicemail is not retried");
    assert!(
        s.openai.events_of("response.create").await.len() == 1,
        "one message only"
    );
}

#[tokio::test]
async fn no_answer_is_retried_once_after_the_backoff_then_given_up() {
    let s = stack(NOON_PARIS).await;
    let (_, placed) = s.place(Some("retry-me"), &body("the delivery")).await;
    let id = placed["id"].as_str().unwrap().to_owned();
    s.status(0, "ringing").await;
    s.status(0, "no-answer").await;
    let report = s.get(&id).await;
    assert_eq!(report["status"], "retry_scheduled", "{report}");
    assert_eq!(report["outcome"], "no_answer");
    assert_eq!(report["next_attempt_at"], "2026-11-30T11:01:00Z");
    // Not before its time.
    assert_eq!(s.dialer.run_due_retries().await.unwrap(), 0);
    assert_eq!(s.twilio.calls().len(), 1);
    s.clock.advance(Duration::from_secs(61));
    assert_eq!(s.dialer.run_due_retries().await.unwrap(), 1);
    assert_eq!(s.dialer.run_due_retries().await.unwrap(), 0, "dialled once");
    assert_eq!(s.twilio.calls().len(), 2);
    s.status(1, "busy").await;
    let report = s.get(&id).await;
    assert_eq!(report["status"], "completed", "{report}");
    assert_eq!(report["outcome"], "busy");
    assert_eq!(
        report["attempts"],
        json!([TwilioRestServer::call_sid(0), TwilioRestServer::call_sid(1)])
    );
    assert_eq!(report["calls"][0]["outcome"], "no_answer");
    assert_eq!(report["calls"][1]["outcome"], "busy");
    // OUTBOUND_MAX_RETRIES=1: no third attempt, however long we wait.
    s.clock.advance(Duration::from_secs(3600));
    assert_eq!(s.dialer.run_due_retries().await.unwrap(), 0);
    assert_eq!(s.twilio.calls().len(), 2);
}

#[tokio::test]
async fn quiet_hours_refuse_the_call_and_nothing_is_dialled() {
    // 22:30 in Paris.
    let s = stack(datetime!(2026-11-30 21:30 UTC)).await;
    let (code, refused) = s.place(Some("late"), &body("the invoice")).await;
    assert_eq!(code, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "quiet_hours");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("22:30 in Europe/Paris"), "{message}");
    assert!(message.contains("08:00-21:00"), "{message}");
    // The callee's own zone decides: 16:30 in New York is fine.
    let mut ny = body("the invoice");
    ny["time_zone"] = json!("America/New_York");
    let (code, placed) = s.place(Some("ny"), &ny).await;
    assert_eq!(code, 201, "{placed}");
    assert_eq!(
        s.twilio.calls().len(),
        1,
        "only the New York call was dialled"
    );
}

#[tokio::test]
async fn a_number_that_texted_stop_is_never_dialled() {
    let s = stack(NOON_PARIS).await;
    s.store
        .set_sms_opt_out(&PhoneNumber::parse(CALLEE).unwrap(), true)
        .await
        .unwrap();
    let (code, refused) = s.place(Some("dnc"), &body("a survey")).await;
    assert_eq!(code, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "do_not_call");
    assert!(s.twilio.calls().is_empty());
    // A STOP that arrives while a retry waits stops the retry too.
    s.store
        .set_sms_opt_out(&PhoneNumber::parse(CALLEE).unwrap(), false)
        .await
        .unwrap();
    let (code, placed) = s.place(Some("dnc-2"), &body("a survey")).await;
    assert_eq!(code, 201);
    let id = placed["id"].as_str().unwrap().to_owned();
    s.status(0, "no-answer").await;
    s.store
        .set_sms_opt_out(&PhoneNumber::parse(CALLEE).unwrap(), true)
        .await
        .unwrap();
    s.clock.advance(Duration::from_secs(61));
    assert_eq!(s.dialer.run_due_retries().await.unwrap(), 0);
    assert_eq!(s.twilio.calls().len(), 1);
    let report = s.get(&id).await;
    assert_eq!(report["status"], "completed");
    assert!(
        report["error"].as_str().unwrap().contains("do_not_call"),
        "{report}"
    );
}

#[tokio::test]
async fn the_same_idempotency_key_places_one_call() {
    let s = stack(NOON_PARIS).await;
    let (first_code, first) = s.place(Some("same-key"), &body("the order")).await;
    let (second_code, second) = s.place(Some("same-key"), &body("the order")).await;
    assert_eq!((first_code, second_code), (201, 200));
    assert_eq!(first["id"], second["id"]);
    assert_eq!(s.twilio.calls().len(), 1, "one Twilio request");
    let (code, reused) = s.place(Some("same-key"), &body("another order")).await;
    assert_eq!(code, 422, "{reused}");
    assert_eq!(reused["error"]["code"], "idempotency_key_reused");
    assert_eq!(s.twilio.calls().len(), 1);
}

#[tokio::test]
async fn outbound_callbacks_must_be_signed_by_twilio() {
    let s = stack(NOON_PARIS).await;
    let (_, placed) = s.place(None, &body("the order")).await;
    let id = placed["id"].as_str().unwrap();
    let sid = TwilioRestServer::call_sid(0);
    for path in [
        "/voice/outbound",
        "/voice/outbound/status",
        "/voice/outbound/amd",
    ] {
        let url = format!("{}{path}?outbound={id}", s.base);
        let form = [
            ("CallSid", sid.as_str()),
            ("AnsweredBy", "human"),
            ("CallStatus", "busy"),
        ];
        let res = s
            .http
            .post(&url)
            .header("X-Twilio-Signature", "bm90IGEgc2lnbmF0dXJl")
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path}");
        // Signed for another request's id: the signature covers the query too.
        let other = format!("{}{path}?outbound=OB{}", s.base, "0".repeat(32));
        let pairs: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let res = s
            .http
            .post(&url)
            .header(
                "X-Twilio-Signature",
                compute_signature(AUTH_TOKEN, &other, &pairs),
            )
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path}");
    }
    let row = s
        .store
        .get_call(&CallSid::parse(&sid).unwrap())
        .await
        .unwrap();
    assert_eq!(row.answered_by, None);
    assert_eq!(row.outcome, None);
}

#[tokio::test]
async fn a_malformed_request_is_a_400_that_names_the_field() {
    let s = stack(NOON_PARIS).await;
    for (bad, field) in [
        (
            json!({"to": "0612345678", "purpose": "x", "instructions": "y"}),
            "to",
        ),
        (
            json!({"to": CALLEE, "purpose": "", "instructions": "y"}),
            "purpose",
        ),
        (
            json!({"to": CALLEE, "purpose": "x", "instructions": "y", "when": "now"}),
            "when",
        ),
        (
            json!({"to": CALLEE, "purpose": "x", "instructions": "y", "time_zone": "Mars/Base"}),
            "time_zone",
        ),
    ] {
        let (code, refused) = s.place(None, &bad).await;
        assert_eq!(code, 400, "{refused}");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains(field),
            "{refused}"
        );
    }
    assert!(s.twilio.calls().is_empty());
}

#[tokio::test]
async fn a_failed_outbound_stream_apologises_without_transfer_or_text() {
    let s = stack(NOON_PARIS).await;
    s.place(None, &body("the order")).await;
    let sid = TwilioRestServer::call_sid(0);
    // No stream end was recorded (the stream host never got the call): abnormal.
    let (code, twiml) = s
        .twilio_posts(
            &format!("{}/voice/stream-ended", s.base),
            &[
                ("CallSid", &sid),
                ("AccountSid", ACCOUNT),
                ("From", OURS),
                ("To", CALLEE),
                ("CallStatus", "in-progress"),
            ],
        )
        .await;
    assert_eq!(code, 200);
    assert!(twiml.contains("have to end this call"), "{twiml}");
    assert!(
        twiml.contains("<Hangup/>") && !twiml.contains("<Dial"),
        "{twiml}"
    );
    assert!(s.twilio.messages().is_empty(), "nobody is texted");
}
