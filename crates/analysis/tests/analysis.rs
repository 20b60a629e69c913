//! The post-call analysis end to end: a stored call, the strict Chat Completions test server
//! (which refuses a non-strict json_schema), the schema check in our code, the retry, the
//! failed record, and the offline stand-in.

use std::sync::Arc;

use phone_analysis::{AnalysisSpec, Analyst, PostCallAnalysis};
use phone_core::analysis::{AnalysisSource, AnalysisStatus};
use phone_core::events::Events;
use phone_core::store::Retention;
use phone_core::{CallSession, CallSid, Role, Store, SystemClock, Turn};
use phone_local::LocalRecords;
use phone_openai::OpenAiChat;
use phone_test_support::openai_chat::{ChatScript, ChatTestServer};
use phone_test_support::openai_chat_oracle::assert_requests_valid;
use serde_json::{Value, json};

const SID: &str = "CA0123456789abcdef0123456789abcdef";

async fn stored_call() -> (Store, CallSid) {
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        Arc::new(SystemClock),
        Retention::default(),
    );
    let sid = CallSid::parse(SID).unwrap();
    let now = store.clock().now();
    let call = CallSession::new(sid.clone(), None, None, now);
    store.create_call(&call, "hash", now).await.unwrap();
    for (seq, role, text) in [
        (
            0,
            Role::Caller,
            "Hi, can I book an appointment for Tuesday? Call me back on +14155550123.",
        ),
        (
            1,
            Role::Assistant,
            "Done: your appointment is booked for Tuesday at 10.",
        ),
    ] {
        store
            .append_turn(&sid, &Turn::new(seq, role, text, now))
            .await
            .unwrap();
    }
    (store, sid)
}

fn by_model(server: &ChatTestServer, store: &Store) -> PostCallAnalysis {
    let chat = OpenAiChat::new(server.base_url(), "sk-test".to_owned().into(), "gpt-test").unwrap();
    PostCallAnalysis::new(
        AnalysisSpec::new(None, Some("An appointment was booked.".into())).unwrap(),
        Analyst::Model(Arc::new(chat)),
        store.clone(),
        Events::none(),
    )
}

fn valid_answer() -> String {
    json!({"summary": "The caller booked Tuesday at 10.", "success": true,
        "reason": "An appointment was booked.",
        "fields": {"appointment_booked": true, "callback_number": "+14155550123"}})
    .to_string()
}

fn bodies(server: &ChatTestServer) -> Vec<Value> {
    server
        .requests()
        .into_iter()
        .map(|(_, body)| body)
        .collect()
}

#[tokio::test]
async fn a_valid_structured_answer_is_stored_with_the_call() {
    let server = ChatTestServer::start(vec![ChatScript::Text(valid_answer())]).await;
    let (store, sid) = stored_call().await;
    let analysis = by_model(&server, &store).run(&sid).await.unwrap();
    assert_eq!(analysis.status, AnalysisStatus::Valid);
    assert_eq!(analysis.source, AnalysisSource::Model);
    assert_eq!(analysis.success, Some(true));
    assert_eq!(analysis.fields["callback_number"], "+14155550123");
    assert_eq!(analysis.model, "openai:gpt-test");
    assert_eq!(analysis.attempts, 1);
    assert_eq!(store.get_analysis(&sid).await.unwrap(), Some(analysis));

    let requests = bodies(&server);
    assert_eq!(requests.len(), 1);
    let format = &requests[0]["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["json_schema"]["strict"], true);
    assert_eq!(
        format["json_schema"]["schema"]["additionalProperties"],
        false
    );
    assert!(
        requests[0]["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("+14155550123")
    );
    assert!(
        requests[0]["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("An appointment was booked.")
    );
    assert_requests_valid(&requests);
}

#[tokio::test]
async fn an_invalid_answer_is_retried_once_with_the_reason() {
    let invalid = json!({"summary": "s", "success": "yes", "reason": "r",
        "fields": {"appointment_booked": true}})
    .to_string();
    let server = ChatTestServer::start(vec![
        ChatScript::Text(invalid),
        ChatScript::Text(valid_answer()),
    ])
    .await;
    let (store, sid) = stored_call().await;
    let analysis = by_model(&server, &store).run(&sid).await.unwrap();
    assert_eq!(analysis.status, AnalysisStatus::Valid);
    assert_eq!(analysis.attempts, 2);
    let requests = bodies(&server);
    assert_eq!(requests.len(), 2);
    let retry = requests[1]["messages"].as_array().unwrap();
    let told = retry.last().unwrap()["content"].as_str().unwrap();
    assert!(
        told.contains("/success"),
        "the retry says what was wrong: {told}"
    );
    assert_requests_valid(&requests);
}

#[tokio::test]
async fn two_invalid_answers_are_stored_as_a_failed_analysis_never_as_valid() {
    let server = ChatTestServer::start(vec![
        ChatScript::Text("{\"summary\": \"cut off".into()),
        ChatScript::Text(
            json!({"summary": "s", "success": true, "reason": "r",
            "fields": {"appointment_booked": true, "callback_number": 5}})
            .to_string(),
        ),
    ])
    .await;
    let (store, sid) = stored_call().await;
    let analysis = by_model(&server, &store).run(&sid).await.unwrap();
    assert_eq!(analysis.status, AnalysisStatus::Failed);
    assert_eq!(analysis.success, None);
    assert!(analysis.fields.is_empty());
    let error = analysis.error.clone().unwrap();
    assert!(error.contains("callback_number"), "{error}");
    assert_eq!(store.get_analysis(&sid).await.unwrap(), Some(analysis));
    assert_eq!(bodies(&server).len(), 2, "one retry, no more");
}

#[tokio::test]
async fn the_strict_server_refuses_a_non_strict_schema_like_openai() {
    let server = ChatTestServer::start(vec![ChatScript::Text(valid_answer())]).await;
    let chat = OpenAiChat::new(server.base_url(), "sk-test".to_owned().into(), "gpt-test").unwrap();
    let format = phone_core::ports::JsonSchemaFormat {
        name: "loose".into(),
        schema: json!({"type": "object", "properties": {"a": {"type": "string"}}}),
    };
    let err = phone_core::ports::StructuredModel::complete_structured(&chat, &[], &format)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("additionalProperties"), "{err}");
}

#[tokio::test]
async fn the_stand_in_is_deterministic_schema_valid_and_says_so() {
    let (store, sid) = stored_call().await;
    let post_call = PostCallAnalysis::new(
        AnalysisSpec::new(None, None).unwrap(),
        Analyst::StandIn,
        store.clone(),
        Events::none(),
    );
    let first = post_call.run(&sid).await.unwrap();
    let second = post_call.run(&sid).await.unwrap();
    assert_eq!(first.status, AnalysisStatus::Valid);
    assert_eq!(first.source, AnalysisSource::StandIn);
    assert_eq!(first.model, "stand-in");
    assert!(first.summary.contains("no model read this call"));
    assert_eq!(first.fields["appointment_booked"], true);
    assert_eq!(first.fields["callback_number"], "+14155550123");
    assert_eq!(
        (first.summary, first.fields, first.success),
        (second.summary, second.fields, second.success)
    );
}

#[tokio::test]
async fn a_forgotten_call_is_not_analysed() {
    let (store, sid) = stored_call().await;
    store.erase_call(&sid).await.unwrap();
    let post_call = PostCallAnalysis::new(
        AnalysisSpec::new(None, None).unwrap(),
        Analyst::StandIn,
        store.clone(),
        Events::none(),
    );
    assert!(matches!(
        post_call.run(&sid).await,
        Err(phone_core::StoreError::Conflict(_))
    ));
    assert_eq!(store.get_analysis(&sid).await.unwrap(), None);
}
