//! The REST API over real HTTP on loopback: calendar, SMS, email and the agent, with the
//! embedded adapters and a Chat Completions test server.

use std::collections::BTreeMap;
use std::sync::Arc;

use phone_api::AppState;
use phone_config::Config;
use phone_core::{Store, SystemClock};
use phone_local::LocalRecords;
use phone_test_support::openai_chat::{ChatScript, ChatTestServer};
use serde_json::{Value, json};

const API_KEY: &str = "rest-test-key";

struct Api {
    base: String,
    http: reqwest::Client,
}

async fn start(openai: Option<&ChatTestServer>) -> Api {
    start_with(openai, &[]).await
}

async fn start_with(openai: Option<&ChatTestServer>, extra: &[(&str, &str)]) -> Api {
    let mut env = BTreeMap::from([
        ("API_KEY".to_owned(), API_KEY.to_owned()),
        ("TIME_ZONE".to_owned(), "Europe/Paris".to_owned()),
    ]);
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    if let Some(server) = openai {
        env.insert("OPENAI_API_KEY".into(), "sk-rest-test".into());
        env.insert("OPENAI_API_BASE_URL".into(), server.base_url().into());
    }
    let config = Config::from_map(&env).unwrap();
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        Arc::new(SystemClock),
        config.retention,
    );
    let tools = phone_wiring::tool_ports(&config, &store).unwrap();
    let chat = phone_wiring::chat_model(&config).unwrap();
    let mut state = AppState::new(config, store).with_tools(tools);
    if let Some(chat) = chat {
        state = state.with_chat(chat);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, phone_api::routes::all(state)).await });
    Api {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
    }
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(API_KEY);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn rest_calls_need_the_bearer_key() {
    let api = start(None).await;
    for path in ["/calendar/events", "/sms/list", "/email/inbox"] {
        let res = api
            .http
            .get(format!("{}{path}", api.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path}");
    }
}

#[tokio::test]
async fn calendar_crud_over_rest() {
    let api = start(None).await;
    use reqwest::Method;
    let (status, created) = api
        .call(
            Method::POST,
            "/calendar/events",
            Some(json!({"title": "Review", "start": "2026-11-26T10:00", "duration_minutes": 45})),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["created"]["id"].as_str().unwrap().to_owned();
    let (_, listed) = api
        .call(Method::GET, "/calendar/events?day=2026-11-26", None)
        .await;
    assert_eq!(listed["events"][0]["title"], "Review");
    let (status, moved) = api
        .call(
            Method::PATCH,
            &format!("/calendar/events/{id}"),
            Some(json!({"start": "2026-11-26T11:00"})),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["updated"]["end"], "2026-11-26T11:45 (Europe/Paris)");
    let (status, _) = api
        .call(Method::DELETE, &format!("/calendar/events/{id}"), None)
        .await;
    assert_eq!(status, 200);
    let (status, gone) = api
        .call(Method::DELETE, &format!("/calendar/events/{id}"), None)
        .await;
    assert_eq!(status, 404, "{gone}");
    let (status, bad) = api
        .call(
            Method::POST,
            "/calendar/events",
            Some(json!({"title": "X", "start": "soon"})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        bad["error"]["message"].as_str().unwrap().contains("start"),
        "{bad}"
    );
}

#[tokio::test]
async fn sms_send_is_idempotent_per_key_and_listed() {
    let api = start(None).await;
    let send = || {
        api.http
            .post(format!("{}/sms/send", api.base))
            .bearer_auth(API_KEY)
            .header("Idempotency-Key", "order-42")
            .json(&json!({"to": "+14155550123", "body": "Your table is ready"}))
            .send()
    };
    let first: Value = send().await.unwrap().json().await.unwrap();
    let second: Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(first, second);
    let (_, listed) = api
        .call(reqwest::Method::GET, "/sms/list?to=%2B14155550123", None)
        .await;
    assert_eq!(
        listed["messages"].as_array().unwrap().len(),
        1,
        "one SMS, not two"
    );
    let sid = first["sent"]["sid"].as_str().unwrap();
    let (status, details) = api
        .call(reqwest::Method::GET, &format!("/sms/details/{sid}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(details["message"]["body"], "Your table is ready");
    let (status, _) = api
        .call(reqwest::Method::GET, "/sms/details/SMnope", None)
        .await;
    assert_eq!(status, 404);
    let (status, bad) = api
        .call(
            reqwest::Method::POST,
            "/sms/send",
            Some(json!({"to": "12", "body": "x"})),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
}

#[tokio::test]
async fn email_send_and_inbox() {
    let api = start(None).await;
    let (status, sent) = api
        .call(
            reqwest::Method::POST,
            "/email/send",
            Some(json!({"to": ["ada@example.com"], "subject": "Hi", "body": "Hello"})),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let (status, inbox) = api.call(reqwest::Method::GET, "/email/inbox", None).await;
    assert_eq!(status, 200);
    assert_eq!(inbox["messages"], json!([]));
}

#[tokio::test]
async fn agent_action_form_runs_a_tool_without_a_model() {
    let api = start(None).await;
    let (status, created) = api
        .call(reqwest::Method::POST, "/agent", Some(json!({"action": "create_event", "params": {"title": "Gym", "start": "2026-11-27T07:00"}})))
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["created"]["title"], "Gym");
    let (status, _) = api
        .call(
            reqwest::Method::POST,
            "/agent",
            Some(json!({"action": "send_sms", "params": {}})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, no_model) = api
        .call(
            reqwest::Method::POST,
            "/agent",
            Some(json!({"message": "hi"})),
        )
        .await;
    assert_eq!(status, 503, "{no_model}");
}

#[tokio::test]
async fn agent_message_calls_a_tool_through_the_model_and_keeps_history() {
    let openai = ChatTestServer::start(vec![
        ChatScript::ToolCall {
            id: "call_a".into(),
            name: "create_event".into(),
            arguments: r#"{"title":"Lunch with Ada","start":"2026-11-26T12:30"}"#.into(),
        },
        ChatScript::Text("Booked lunch with Ada for Thursday 12:30.".into()),
        ChatScript::Text("You're welcome!".into()),
    ])
    .await;
    let api = start(Some(&openai)).await;
    let (status, reply) = api
        .call(
            reqwest::Method::POST,
            "/agent",
            Some(json!({"message": "Book lunch with Ada Thursday 12:30", "session_id": "s1"})),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["reply"], "Booked lunch with Ada for Thursday 12:30.");
    assert_eq!(reply["tool_calls"][0]["name"], "create_event");
    let (_, listed) = api
        .call(
            reqwest::Method::GET,
            "/calendar/events?day=2026-11-26",
            None,
        )
        .await;
    assert_eq!(listed["events"][0]["title"], "Lunch with Ada");

    let (_, second) = api
        .call(
            reqwest::Method::POST,
            "/agent",
            Some(json!({"message": "thanks", "session_id": "s1"})),
        )
        .await;
    assert_eq!(second["reply"], "You're welcome!");
    let requests = openai.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].0.as_deref(), Some("Bearer sk-rest-test"));
    let body = &requests[0].1;
    assert!(
        body["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["function"]["name"] == "create_event")
    );
    assert!(
        !body["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["function"]["name"] == "end_call"),
        "no call control by text"
    );
    // The second turn sees the first: user, assistant tool call, tool result, assistant text.
    let history: Vec<&str> = requests[2].1["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        ["system", "user", "assistant", "tool", "assistant", "user"]
    );
}

#[tokio::test]
async fn upstream_model_failure_is_a_502_with_its_reason() {
    let openai =
        ChatTestServer::start(vec![ChatScript::Error(429, "Rate limit reached".into())]).await;
    let api = start(Some(&openai)).await;
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            "/agent",
            Some(json!({"message": "hello"})),
        )
        .await;
    assert_eq!(status, 502);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Rate limit reached"),
        "{body}"
    );
}

#[tokio::test]
async fn delete_memory_erases_a_number() {
    let api = start(None).await;
    let (status, body) = api
        .call(reqwest::Method::DELETE, "/memory/%2B14155550123", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items_erased"], 0);
    let (status, _) = api
        .call(reqwest::Method::DELETE, "/memory/not-a-number", None)
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn configuration_switches_adapters_to_twilio_and_google() {
    let env = BTreeMap::from([
        (
            "TWILIO_ACCOUNT_SID".to_owned(),
            "AC00000000000000000000000000000001".to_owned(),
        ),
        ("TWILIO_AUTH_TOKEN".to_owned(), "tok".to_owned()),
        (
            "GOOGLE_CLIENT_ID".to_owned(),
            "id.apps.googleusercontent.com".to_owned(),
        ),
        ("GOOGLE_CLIENT_SECRET".to_owned(), "secret".to_owned()),
        ("GOOGLE_REFRESH_TOKEN".to_owned(), "1//refresh".to_owned()),
    ]);
    let config = Config::from_map(&env).unwrap();
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        Arc::new(SystemClock),
        config.retention,
    );
    let ports = phone_wiring::tool_ports(&config, &store).unwrap();
    assert!(
        ports.messaging.describe().contains("twilio"),
        "{}",
        ports.messaging.describe()
    );
    assert!(ports.call_control.describe().contains("twilio"));
    assert!(
        ports.mail.describe().contains("gmail"),
        "{}",
        ports.mail.describe()
    );
    assert_eq!(ports.calendar.describe(), "google:primary");
    let local =
        phone_wiring::tool_ports(&Config::from_map(&BTreeMap::new()).unwrap(), &store).unwrap();
    assert!(local.messaging.describe().contains("local"));
    assert!(local.mail.describe().contains("local"));
    assert!(local.calendar.describe().contains("local"));
}

#[tokio::test]
async fn an_idempotency_key_is_bound_to_its_endpoint_and_arguments() {
    let api = start(None).await;
    let post = |path: &str, key: &str, body: Value| {
        api.http
            .post(format!("{}{path}", api.base))
            .bearer_auth(API_KEY)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let res = post(
        "/sms/send",
        "k-1",
        json!({"to": "+14155550123", "body": "Table ready"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let first: Value = res.json().await.unwrap();

    // Same key, same arguments (in another order): the first result, nothing sent again.
    let res = post(
        "/sms/send",
        "k-1",
        json!({"body": "Table ready", "to": "+14155550123"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), first);

    // Same key, other arguments: refused, not a silent replay of the first result.
    let res = post(
        "/sms/send",
        "k-1",
        json!({"to": "+14155550123", "body": "Table cancelled"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "idempotency_key_reused", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("other arguments"),
        "{body}"
    );

    // Same key on another endpoint: refused, naming the endpoint it was used for.
    let res = post(
        "/email/send",
        "k-1",
        json!({"to": ["a@example.org"], "subject": "Hi", "body": "Table ready"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("POST /sms/send"),
        "{body}"
    );
    let (_, listed) = api
        .call(reqwest::Method::GET, "/sms/list?to=%2B14155550123", None)
        .await;
    assert_eq!(listed["messages"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn agent_past_its_deadline_answers_504_with_the_json_error() {
    let openai = ChatTestServer::start(vec![ChatScript::Slow(
        std::time::Duration::from_secs(4),
        Box::new(ChatScript::Text("too late".into())),
    )])
    .await;
    let api = start_with(Some(&openai), &[("AGENT_DEADLINE_SECS", "1")]).await;
    let started = std::time::Instant::now();
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            "/agent",
            Some(json!({"message": "what is on today?", "session_id": "slow"})),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "timeout", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("AGENT_DEADLINE_SECS"),
        "{body}"
    );
    assert!(
        took >= std::time::Duration::from_millis(950) && took < std::time::Duration::from_secs(3),
        "answered at the deadline, not when the model was done: {took:?}"
    );
    assert_eq!(openai.requests().len(), 1);
}
