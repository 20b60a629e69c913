//! Each function binary, run as Lambda runs it: a child process polling an emulated Runtime API
//! (`phone_test_support::lambda_runtime`), fed API Gateway HTTP API (payload 2.0) events. This
//! covers what router tests cannot: `main`, configuration from the environment, the cold-start
//! bootstrap, and `lambda_http`'s event decoding and response encoding.
//!
//! Adding a function is one line in `CASES`.

use std::path::PathBuf;
use std::sync::Arc;

use phone_deploy_checks::fixtures::{
    self, CALL_SID, Profile, function_env, scheduled_event, signed_call_webhook, signed_form,
    unsigned_call_webhook, with_key,
};
use phone_test_support::lambda_runtime::{API_DOMAIN, ApiGatewayV2Request, LambdaProcess, Outcome};
use phone_test_support::openai_chat::{ChatScript, ChatTestServer};
use phone_test_support::twilio_rest_server::TwilioRestServer;

/// One request to one function and the status it must answer with.
struct Case {
    function: &'static str,
    request: fn() -> ApiGatewayV2Request,
    status: u16,
}

/// Every function binary that exists, with requests that need no outside service: REST routes
/// without the API key (401), Twilio webhooks without a signature (403), and what answers
/// offline. One line per case.
#[rustfmt::skip]
const CASES: &[Case] = &[
    Case { function: "health", status: 200, request: || ApiGatewayV2Request::get("/health") },
    Case { function: "voice", status: 403, request: || unsigned_call_webhook("/voice/incoming") },
    Case { function: "voice", status: 403, request: || unsigned_call_webhook("/voice/status") },
    Case { function: "voice", status: 200, request: || signed_call_webhook("/voice/incoming", CALL_SID) },
    Case { function: "voice", status: 403, request: || unsigned_call_webhook("/voice/stream-ended") },
    Case { function: "voice", status: 200, request: || signed_call_webhook("/voice/stream-ended", CALL_SID) },
    Case { function: "calls", status: 401, request: || ApiGatewayV2Request::get(&format!("/calls/{CALL_SID}")) },
    Case { function: "calls", status: 404, request: || with_key(ApiGatewayV2Request::get("/calls/CAffffffffffffffffffffffffffffffff")) },
    Case { function: "agent", status: 401, request: || ApiGatewayV2Request::json("POST", "/agent", &serde_json::json!({"message": "hi"})) },
    Case { function: "agent", status: 401, request: || ApiGatewayV2Request::get("/reminders") },
    Case { function: "agent", status: 200, request: || with_key(ApiGatewayV2Request::get("/reminders")) },
    Case { function: "calendar", status: 401, request: || ApiGatewayV2Request::get("/calendar/events") },
    Case { function: "sms", status: 401, request: || ApiGatewayV2Request::get("/sms/list") },
    Case { function: "sms", status: 403, request: || ApiGatewayV2Request::post_form("/sms/incoming", &[("From", "+15551230001"), ("Body", "hi")]) },
    Case { function: "email", status: 401, request: || ApiGatewayV2Request::get("/email/inbox") },
    Case { function: "auth", status: 401, request: || ApiGatewayV2Request::get("/auth/google") },
    Case { function: "auth", status: 302, request: || with_key(ApiGatewayV2Request::get("/auth/google")) },
    Case { function: "auth", status: 403, request: || ApiGatewayV2Request::get("/auth/google/callback?code=4/x&state=forged.1.AAAA") },
];

fn build_functions(names: &[&str]) -> PathBuf {
    fixtures::build_functions(names, Profile::Debug)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_binaries_answer_api_gateway_events() {
    let mut functions: Vec<&str> = CASES.iter().map(|c| c.function).collect();
    functions.sort_unstable();
    functions.dedup();
    let bin_dir = build_functions(&functions);
    let env = function_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    for function in functions {
        // One process per function, reused for all its cases: warm invocations, as in Lambda.
        let process = LambdaProcess::start(&bin_dir.join(function), function, &env)
            .await
            .unwrap_or_else(|e| panic!("starting {function}: {e}"));
        for case in CASES.iter().filter(|c| c.function == function) {
            let request = (case.request)();
            let reply = process
                .invoke_http(&request)
                .await
                .unwrap_or_else(|e| panic!("{function} {request:?}: {e}"));
            assert_eq!(
                reply.status,
                case.status,
                "{function} {request:?} answered {} {}\n--- stderr ---\n{}",
                reply.status,
                reply.text(),
                process.stderr()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_version_and_embedded_store() {
    let bin_dir = build_functions(&["health"]);
    let env = function_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let health = LambdaProcess::start(&bin_dir.join("health"), "health", &env)
        .await
        .expect("starting health");
    let reply = health
        .invoke_http(&ApiGatewayV2Request::get("/health"))
        .await
        .expect("invoking health");
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(
        reply
            .headers
            .get("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "headers: {:?}",
        reply.headers
    );
    let body = reply.json().expect("JSON body");
    assert_eq!(body["status"], "ok");
    assert!(
        body["version"].as_str().is_some_and(|v| !v.is_empty()),
        "{body}"
    );
    assert_eq!(body["store"]["reachable"], true, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_incoming_call_gets_connect_stream_twiml() {
    let bin_dir = build_functions(&["voice"]);
    let env = function_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let voice = LambdaProcess::start(&bin_dir.join("voice"), "voice", &env)
        .await
        .expect("starting voice");
    let reply = voice
        .invoke_http(&signed_call_webhook("/voice/incoming", CALL_SID))
        .await
        .expect("invoking voice");
    assert_eq!(reply.status, 200, "{}\n{}", reply.text(), voice.stderr());
    let twiml = reply.text();
    assert!(
        twiml.contains(&format!(
            r#"<Connect action="https://{API_DOMAIN}/voice/stream-ended">"#
        )),
        "{twiml}"
    );
    assert!(
        twiml.contains("wss://stream.example.test/voice/stream"),
        "{twiml}"
    );
}

/// A late SMS answer under Lambda: the webhook answers empty TwiML at the deadline, and the
/// internal extension keeps the invocation alive until the answer has been texted through
/// Twilio's REST API, once, even when Twilio re-delivers the webhook.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_sms_answer_is_texted_after_the_response() {
    let twilio = TwilioRestServer::start().await;
    let openai = ChatTestServer::start(vec![ChatScript::Slow(
        std::time::Duration::from_millis(2500),
        Box::new(ChatScript::Text("Your 3pm is free.".into())),
    )])
    .await;
    let bin_dir = build_functions(&["sms"]);
    let mut env = function_env();
    env.push(("TWILIO_API_BASE_URL", twilio.base_url().to_owned()));
    env.push(("TWILIO_FROM_NUMBER", "+15551230002".into()));
    env.push(("OPENAI_API_KEY", "sk-deploy-checks".into()));
    env.push(("OPENAI_API_BASE_URL", openai.base_url().to_owned()));
    env.push(("SMS_REPLY_DEADLINE_SECS", "1".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let sms = LambdaProcess::start(&bin_dir.join("sms"), "sms", &env)
        .await
        .expect("starting sms");
    let webhook = || {
        signed_form(
            "/sms/incoming",
            &[
                ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
                ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
                ("From", "+15551230001"),
                ("To", "+15551230002"),
                ("Body", "am I free at 3?"),
                ("NumMedia", "0"),
            ],
        )
    };
    let reply = sms.invoke_http(&webhook()).await.expect("invoking sms");
    assert_eq!(reply.status, 200, "{}\n{}", reply.text(), sms.stderr());
    assert!(!reply.text().contains("<Message>"), "{}", reply.text());
    assert!(
        twilio.messages().is_empty(),
        "the response came before the answer was ready"
    );
    assert_eq!(sms.extensions(), 1);
    assert!(
        sms.settled(std::time::Duration::from_secs(30)).await,
        "the invocation never ended\n{}",
        sms.stderr()
    );
    let texted = twilio.messages();
    assert_eq!(texted.len(), 1, "{texted:?}\n{}", sms.stderr());
    let field = |name: &str| {
        texted[0]
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(field("To"), Some("+15551230001"));
    assert_eq!(field("Body"), Some("Your 3pm is free."));

    // Twilio re-delivers: no second answer, by TwiML or by SMS.
    let again = sms
        .invoke_http(&webhook())
        .await
        .expect("invoking sms again");
    assert!(!again.text().contains("<Message>"), "{}", again.text());
    assert!(sms.settled(std::time::Duration::from_secs(30)).await);
    assert_eq!(twilio.messages().len(), 1);
    assert_eq!(openai.requests().len(), 1);
}

/// The scheduled (non-HTTP) function on the embedded defaults with an empty inbox: an
/// EventBridge Scheduler event goes through `lambda_runtime` and comes back as the run's
/// summary, with nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_processor_answers_a_scheduled_event() {
    let bin_dir = build_functions(&["email-processor"]);
    let env = function_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let processor = LambdaProcess::start(&bin_dir.join("email-processor"), "email-processor", &env)
        .await
        .expect("starting email-processor");
    let outcome = processor.invoke(scheduled_event()).await;
    let Ok(Outcome::Response(summary)) = outcome else {
        panic!("{outcome:?}\n{}", processor.stderr());
    };
    assert_eq!(summary["listed"], 0, "{summary}");
    assert_eq!(summary["policy"], "draft", "{summary}");
}

/// The reminders function, as a schedule invokes it: the input names a reminder (here one that
/// does not exist, so nothing is sent) and the answer says what happened; an input that is not
/// a reminder's is an error, which Lambda reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_function_answers_a_schedules_input() {
    let bin_dir = build_functions(&["reminders"]);
    let env = function_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let function = LambdaProcess::start(&bin_dir.join("reminders"), "reminders", &env)
        .await
        .expect("starting reminders");
    let outcome = function
        .invoke(serde_json::json!({"reminder_id": "rem_000000000000000000000000"}))
        .await;
    let Ok(Outcome::Response(answer)) = outcome else {
        panic!("{outcome:?}\n{}", function.stderr());
    };
    assert_eq!(answer["outcome"], "not_found", "{answer}");
    let refused = function.invoke(scheduled_event()).await;
    assert!(
        matches!(refused, Ok(Outcome::Error { .. })),
        "{refused:?}\n{}",
        function.stderr()
    );
}

/// The same binary with mail waiting in the embedded inbox (a store file) and a scripted
/// model: the first event drafts a reply in the local outbox, the second finds it handled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_processor_drafts_a_reply_once_on_the_embedded_adapters() {
    let dir = std::env::temp_dir().join(format!("email-processor-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("store.jsonl");
    let store = || {
        phone_core::Store::new(
            Arc::new(phone_local::LocalRecords::open(&path).expect("store file")),
            Arc::new(phone_core::SystemClock),
            Default::default(),
        )
    };
    phone_local::MailOutbox::new(store())
        .deliver(&phone_core::ports::EmailMessage {
            id: "local-1".into(),
            thread_id: Some("thread-1".into()),
            from: "Ana <ana@example.test>".into(),
            to: "owner@example.test".into(),
            subject: "Thursday".into(),
            message_id: Some("<local-1@example.test>".into()),
            date: None,
            body: "Can we meet Thursday at 3pm?".into(),
        })
        .await
        .expect("delivering to the local inbox");
    let openai =
        ChatTestServer::start(vec![ChatScript::Text("Thursday at 3pm works.".into())]).await;
    let bin_dir = build_functions(&["email-processor"]);
    let mut env = function_env();
    env.push(("LOCAL_STORE_PATH", path.display().to_string()));
    env.push(("OPENAI_API_KEY", "sk-deploy-checks".into()));
    env.push(("OPENAI_API_BASE_URL", openai.base_url().to_owned()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let processor = LambdaProcess::start(&bin_dir.join("email-processor"), "email-processor", &env)
        .await
        .expect("starting email-processor");
    let first = processor.invoke(scheduled_event()).await;
    let Ok(Outcome::Response(first)) = first else {
        panic!("{first:?}\n{}", processor.stderr());
    };
    assert_eq!(
        (first["listed"].as_u64(), first["replied"].as_u64()),
        (Some(1), Some(1)),
        "{first}"
    );
    let second = processor.invoke(scheduled_event()).await;
    let Ok(Outcome::Response(second)) = second else {
        panic!("{second:?}\n{}", processor.stderr());
    };
    assert_eq!(second["already_handled"], 1, "{second}");
    assert_eq!(openai.requests().len(), 1);
    drop(processor);
    // The killed child releases the store file's lock when it has exited: wait for that.
    let mut reopened = None;
    for _ in 0..100 {
        match phone_local::LocalRecords::open(&path) {
            Ok(records) => {
                reopened = Some(records);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    let records = reopened.expect("the store file is released once the function has exited");
    let store = phone_core::Store::new(
        Arc::new(records),
        Arc::new(phone_core::SystemClock),
        Default::default(),
    );
    let outbox = phone_local::MailOutbox::new(store)
        .sent()
        .await
        .expect("outbox");
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0].0, "draft");
    assert_eq!(outbox[0].1.to, ["ana@example.test"]);
    let _ = std::fs::remove_dir_all(&dir);
}
