//! The SMS webhook over real HTTP: signatures, keywords, re-delivery, history and a tool call.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Map, Value};

use phone_api::AppState;
use phone_config::Config;
use phone_core::StoreError;
use phone_core::ports::SmsQuery;
use phone_core::store::{Guard, Item, Page, PageRequest, PutMode, Records};
use phone_core::{PhoneNumber, Store, SystemClock};
use phone_local::LocalRecords;
use phone_test_support::openai_chat::{ChatScript, ChatTestServer};
use phone_test_support::twilio_webhook::{form, signed_post};

const TOKEN: &str = "sms-test-auth-token";

struct Server {
    base: String,
    store: Store,
    state: AppState,
    http: reqwest::Client,
}

async fn start(openai: &ChatTestServer) -> Server {
    start_with(openai, &[]).await
}

async fn start_with(openai: &ChatTestServer, extra: &[(&str, &str)]) -> Server {
    start_on(openai, extra, Arc::new(LocalRecords::in_memory())).await
}

async fn start_on(
    openai: &ChatTestServer,
    extra: &[(&str, &str)],
    records: Arc<dyn Records>,
) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let env = BTreeMap::from([
        ("TWILIO_AUTH_TOKEN".to_owned(), TOKEN.to_owned()),
        ("PUBLIC_BASE_URL".to_owned(), base.clone()),
        ("OPENAI_API_KEY".to_owned(), "sk-sms".to_owned()),
        (
            "OPENAI_API_BASE_URL".to_owned(),
            openai.base_url().to_owned(),
        ),
        ("TIME_ZONE".to_owned(), "Europe/Paris".to_owned()),
        // The texter of these tests is the owner; guests are in tests/access.rs.
        ("OWNER_NUMBERS".to_owned(), "+14155550123".to_owned()),
    ]);
    let env: BTreeMap<String, String> = env
        .into_iter()
        .chain(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let config = Config::from_map(&env).unwrap();
    let store = Store::new(records, Arc::new(SystemClock), config.retention);
    let tools = phone_wiring::tool_ports(&config, &store).unwrap();
    let chat = phone_wiring::chat_model(&config).unwrap().unwrap();
    let state = AppState::new(config, store.clone())
        .with_tools(tools)
        .with_chat(chat);
    let app = phone_api::routes::all(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        base,
        store,
        state,
        http: reqwest::Client::new(),
    }
}

impl Server {
    async fn text(&self, sid: &str, body: &str, sign: bool) -> (u16, String) {
        let url = format!("{}/sms/incoming", self.base);
        let form = form(&[
            ("MessageSid", sid),
            ("AccountSid", "AC00000000000000000000000000000001"),
            ("From", "+14155550123"),
            ("To", "+14155550999"),
            ("Body", body),
            ("NumMedia", "0"),
        ]);
        let req = if sign {
            signed_post(&self.http, TOKEN, &url, &form)
        } else {
            self.http.post(&url).form(&form)
        };
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }
}

fn caller() -> PhoneNumber {
    PhoneNumber::parse("+14155550123").unwrap()
}

#[tokio::test]
async fn sms_exchange_with_history_and_a_tool_call_answered_once() {
    let openai = ChatTestServer::start(vec![
        ChatScript::ToolCall {
            id: "c1".into(),
            name: "create_event".into(),
            arguments: r#"{"title":"Haircut","start":"2026-11-28T10:00"}"#.into(),
        },
        ChatScript::Text("Booked: haircut Saturday 10:00.".into()),
        ChatScript::Text("It's at 10:00.".into()),
    ])
    .await;
    let server = start(&openai).await;
    let (status, twiml) = server
        .text(
            "SM00000000000000000000000000000001",
            "Book a haircut Saturday at 10",
            true,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        twiml.contains("<Message>Booked: haircut Saturday 10:00.</Message>"),
        "{twiml}"
    );

    // Twilio re-delivers the same webhook: same answer, the model is not asked again.
    let (_, again) = server
        .text(
            "SM00000000000000000000000000000001",
            "Book a haircut Saturday at 10",
            true,
        )
        .await;
    assert_eq!(again, twiml);
    assert_eq!(openai.requests().len(), 2);

    // A follow-up sees the earlier exchange, and the memory of the event.
    let (_, follow) = server
        .text(
            "SM00000000000000000000000000000002",
            "what time was it?",
            true,
        )
        .await;
    assert!(follow.contains("It&apos;s at 10:00."), "{follow}");
    let third = &openai.requests()[2].1;
    let roles: Vec<&str> = third["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "tool", "assistant", "user"]
    );
    assert!(
        third["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("Haircut"),
        "memory in the prompt"
    );
    let notes = server
        .store
        .list_notes(&caller(), &PageRequest::newest(5))
        .await
        .unwrap()
        .items;
    assert_eq!(notes[0].kind, "event_created");
}

#[tokio::test]
async fn stop_opts_out_silently_and_blocks_replies_until_start() {
    let openai = ChatTestServer::start(vec![ChatScript::Text("Welcome back!".into())]).await;
    let server = start(&openai).await;
    let (_, stop) = server
        .text("SM00000000000000000000000000000011", "STOP", true)
        .await;
    assert!(
        !stop.contains("<Message>"),
        "Twilio sends the STOP confirmation itself: {stop}"
    );
    assert!(server.store.is_sms_opted_out(&caller()).await.unwrap());
    let (_, ignored) = server
        .text("SM00000000000000000000000000000012", "hello?", true)
        .await;
    assert!(!ignored.contains("<Message>"));
    assert!(
        openai.requests().is_empty(),
        "no model call for an opted-out number"
    );
    let (_, help) = server
        .text("SM00000000000000000000000000000013", "help", true)
        .await;
    assert!(help.contains("Reply STOP"), "{help}");
    server
        .text("SM00000000000000000000000000000014", "START", true)
        .await;
    let (_, back) = server
        .text("SM00000000000000000000000000000015", "hi", true)
        .await;
    assert!(back.contains("Welcome back!"), "{back}");
}

#[tokio::test]
async fn forget_me_erases_the_history_and_memory() {
    let openai = ChatTestServer::start(vec![
        ChatScript::ToolCall {
            id: "c1".into(),
            name: "create_event".into(),
            arguments: r#"{"title":"Gym","start":"2026-11-28T08:00"}"#.into(),
        },
        ChatScript::Text("Done.".into()),
    ])
    .await;
    let server = start(&openai).await;
    server
        .text(
            "SM00000000000000000000000000000021",
            "gym saturday 8am",
            true,
        )
        .await;
    assert!(
        !server
            .store
            .list_notes(&caller(), &PageRequest::first(5))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let (_, forgot) = server
        .text("SM00000000000000000000000000000022", "forget me", true)
        .await;
    assert!(forgot.contains("erased"), "{forgot}");
    assert!(
        server
            .store
            .list_notes(&caller(), &PageRequest::first(5))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn unsigned_sms_webhook_is_refused() {
    let openai = ChatTestServer::start(vec![]).await;
    let server = start(&openai).await;
    let (status, _) = server
        .text("SM00000000000000000000000000000031", "hi", false)
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn slow_answer_is_texted_after_an_empty_reply_and_only_once() {
    let openai = ChatTestServer::start(vec![ChatScript::Slow(
        std::time::Duration::from_millis(2500),
        Box::new(ChatScript::Text("Your 3pm is free.".into())),
    )])
    .await;
    let server = start_with(&openai, &[("SMS_REPLY_DEADLINE_SECS", "1")]).await;
    let sid = "SM00000000000000000000000000000041";
    let started = std::time::Instant::now();
    let (status, twiml) = server.text(sid, "am I free at 3?", true).await;
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < std::time::Duration::from_millis(2000),
        "answered at the deadline, not when the model was done: {:?}",
        started.elapsed()
    );
    assert!(!twiml.contains("<Message>"), "{twiml}");
    assert!(twiml.contains("<Response"), "{twiml}");

    // Twilio re-delivers while the answer is still being prepared: nothing more.
    let (_, again) = server.text(sid, "am I free at 3?", true).await;
    assert!(!again.contains("<Message>"), "{again}");

    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        server.state.background.idle(),
    )
    .await
    .expect("the late answer finishes");
    let messaging = &server.state.tools.as_ref().unwrap().messaging;
    let query = SmsQuery {
        to: Some(caller()),
        from: None,
        limit: 10,
    };
    let texted = messaging.list_sms(&query).await.unwrap();
    assert_eq!(texted.len(), 1, "{texted:?}");
    assert_eq!(texted[0].body, "Your 3pm is free.");
    assert_eq!(openai.requests().len(), 1, "the agent ran once");

    // A re-delivery after the answer went out is still answered with nothing.
    let (_, late) = server.text(sid, "am I free at 3?", true).await;
    assert!(!late.contains("<Message>"), "{late}");
    server.state.background.idle().await;
    assert_eq!(messaging.list_sms(&query).await.unwrap().len(), 1);
}

#[tokio::test]
async fn answer_within_the_deadline_is_in_the_twiml_and_not_texted() {
    let openai = ChatTestServer::start(vec![ChatScript::Text("Yes, you are free.".into())]).await;
    let server = start_with(&openai, &[("SMS_REPLY_DEADLINE_SECS", "5")]).await;
    let (_, twiml) = server
        .text("SM00000000000000000000000000000051", "am I free?", true)
        .await;
    assert!(
        twiml.contains("<Message>Yes, you are free.</Message>"),
        "{twiml}"
    );
    server.state.background.idle().await;
    let query = SmsQuery {
        to: Some(caller()),
        from: None,
        limit: 10,
    };
    let texted = server
        .state
        .tools
        .as_ref()
        .unwrap()
        .messaging
        .list_sms(&query)
        .await
        .unwrap();
    assert!(texted.is_empty(), "{texted:?}");
}

#[tokio::test]
async fn yes_from_a_number_that_has_not_opted_out_reaches_the_agent() {
    let openai = ChatTestServer::start(vec![
        ChatScript::Text("Great, it is confirmed.".into()),
        ChatScript::Text("Noted.".into()),
    ])
    .await;
    let server = start(&openai).await;
    let (_, yes) = server
        .text("SM00000000000000000000000000000061", "Yes", true)
        .await;
    assert!(
        yes.contains("<Message>Great, it is confirmed.</Message>"),
        "{yes}"
    );
    let (_, start) = server
        .text("SM00000000000000000000000000000062", "START", true)
        .await;
    assert!(start.contains("<Message>Noted.</Message>"), "{start}");
    assert_eq!(openai.requests().len(), 2, "both reached the model");
    let first = &openai.requests()[0].1;
    let last = first["messages"].as_array().unwrap().last().unwrap();
    assert_eq!(last["content"], "Yes");

    // After a STOP, YES is the carrier opt-in again: recorded, not answered, no model call.
    server
        .text("SM00000000000000000000000000000063", "STOP", true)
        .await;
    let (_, optin) = server
        .text("SM00000000000000000000000000000064", "yes", true)
        .await;
    assert!(!optin.contains("<Message>"), "{optin}");
    assert!(!server.store.is_sms_opted_out(&caller()).await.unwrap());
    assert_eq!(openai.requests().len(), 2);
}

/// The embedded store, failing the next write or read whose partition key starts with a given
/// prefix (`put` or `get`), once per entry in `failures`.
struct FailingRecords {
    inner: LocalRecords,
    failures: Mutex<Vec<(&'static str, &'static str)>>,
}

impl FailingRecords {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: LocalRecords::in_memory(),
            failures: Mutex::new(Vec::new()),
        })
    }

    fn fail_next(&self, op: &'static str, pk_prefix: &'static str) {
        self.failures.lock().unwrap().push((op, pk_prefix));
    }

    fn check(&self, op: &str, pk: &str) -> Result<(), StoreError> {
        let mut failures = self.failures.lock().unwrap();
        match failures
            .iter()
            .position(|(o, p)| *o == op && pk.starts_with(p))
        {
            Some(i) => {
                failures.remove(i);
                Err(StoreError::Unavailable(format!(
                    "injected {op} failure on {pk}"
                )))
            }
            None => Ok(()),
        }
    }
}

#[async_trait]
impl Records for FailingRecords {
    async fn put(&self, item: Item, mode: PutMode, now: i64) -> Result<(), StoreError> {
        self.check("put", &item.pk)?;
        self.inner.put(item, mode, now).await
    }
    async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError> {
        self.check("get", pk)?;
        self.inner.get(pk, sk, now).await
    }
    async fn update(
        &self,
        pk: &str,
        sk: &str,
        fields: Map<String, Value>,
        guards: &[Guard],
        now: i64,
    ) -> Result<Item, StoreError> {
        self.inner.update(pk, sk, fields, guards, now).await
    }
    async fn query(
        &self,
        pk: &str,
        sk_prefix: &str,
        page: &PageRequest,
        now: i64,
    ) -> Result<Page<Item>, StoreError> {
        self.inner.query(pk, sk_prefix, page, now).await
    }
    async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.inner.delete(pk, sk).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    fn describe(&self) -> String {
        "failing".into()
    }
}

#[tokio::test]
async fn a_store_failure_after_the_claim_releases_it_and_the_retry_is_answered() {
    let openai = ChatTestServer::start(vec![ChatScript::Text("Here you go.".into())]).await;
    let records = FailingRecords::new();
    let server = start_on(&openai, &[], records.clone()).await;
    let sid = "SM00000000000000000000000000000071";
    // The opt-out check after the claim fails: 503, nothing answered.
    records.fail_next("get", "OPTOUT#");
    let (status, body) = server.text(sid, "what is on today?", true).await;
    assert_eq!(status, 503, "{body}");
    assert!(openai.requests().is_empty());
    // Twilio's retry of the same message is processed, not ignored as a duplicate.
    let (status, twiml) = server.text(sid, "what is on today?", true).await;
    assert_eq!(status, 200);
    assert!(twiml.contains("<Message>Here you go.</Message>"), "{twiml}");
    assert_eq!(openai.requests().len(), 1);
}

#[tokio::test]
async fn stop_is_recorded_before_the_claim_so_no_failure_loses_it() {
    let openai = ChatTestServer::start(vec![]).await;
    let records = FailingRecords::new();
    let server = start_on(&openai, &[], records.clone()).await;

    // The claim itself fails: the opt-out is already recorded.
    records.fail_next("put", "IDEM#");
    let (status, _) = server
        .text("SM00000000000000000000000000000081", "STOP", true)
        .await;
    assert_eq!(status, 503);
    assert!(server.store.is_sms_opted_out(&caller()).await.unwrap());
    let (status, twiml) = server
        .text("SM00000000000000000000000000000081", "STOP", true)
        .await;
    assert_eq!(status, 200);
    assert!(!twiml.contains("<Message>"), "{twiml}");
    assert!(server.store.is_sms_opted_out(&caller()).await.unwrap());

    // Recording the opt-out fails: nothing is claimed, so the retry records it.
    server
        .store
        .set_sms_opt_out(&caller(), false)
        .await
        .unwrap();
    records.fail_next("put", "OPTOUT#");
    let sid = "SM00000000000000000000000000000082";
    let (status, _) = server.text(sid, "stop", true).await;
    assert_eq!(status, 503);
    assert!(!server.store.is_sms_opted_out(&caller()).await.unwrap());
    let (status, _) = server.text(sid, "stop", true).await;
    assert_eq!(status, 200);
    assert!(server.store.is_sms_opted_out(&caller()).await.unwrap());
    assert!(openai.requests().is_empty(), "no model call for a STOP");
}

#[tokio::test]
async fn a_failed_agent_answers_an_apology_and_a_redelivery_runs_it_again() {
    let openai = ChatTestServer::start(vec![
        ChatScript::Error(500, "The server had an error".into()),
        ChatScript::Text("You are free at 3.".into()),
    ])
    .await;
    let server = start(&openai).await;
    let sid = "SM00000000000000000000000000000091";
    let (status, twiml) = server.text(sid, "am I free at 3?", true).await;
    assert_eq!(status, 200);
    assert!(twiml.contains("something went wrong"), "{twiml}");
    let (_, again) = server.text(sid, "am I free at 3?", true).await;
    assert!(
        again.contains("<Message>You are free at 3.</Message>"),
        "{again}"
    );
    assert_eq!(openai.requests().len(), 2);
}
