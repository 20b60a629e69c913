//! The strict Realtime double refuses what the real API refuses, with `error.event_id` echoing
//! the client's event: model changes, invalid sessions, a second response in the conversation,
//! truncation past the audio generated, unknown tool calls.

mod raw_realtime;

use phone_test_support::realtime_server::{Mode, RealtimeTestServer, Response, Status};
use raw_realtime::RawClient;
use serde_json::{Value, json};

async fn strict() -> RealtimeTestServer {
    RealtimeTestServer::start(Mode::Strict).await
}

#[tokio::test]
async fn session_created_reports_the_model_of_the_url_and_an_id() {
    let server = strict().await;
    let (_client, created) = RawClient::connect(&server.url_for("gpt-realtime-2.1")).await;
    assert_eq!(created["session"]["model"], "gpt-realtime-2.1");
    assert!(
        created["session"]["id"]
            .as_str()
            .unwrap()
            .starts_with("sess_")
    );
    assert!(created["event_id"].as_str().unwrap().starts_with("event_"));
    assert_eq!(server.connection_models().await, ["gpt-realtime-2.1"]);
}

#[tokio::test]
async fn a_session_update_that_changes_the_model_is_refused_with_the_client_event_id() {
    let server = strict().await;
    let (mut client, _) = RawClient::connect(&server.url_for("gpt-realtime-2.1")).await;
    let error = client
        .refused(json!({"type": "session.update", "event_id": "evt_model",
            "session": {"type": "realtime", "model": "gpt-realtime"}}))
        .await;
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["code"], "invalid_value");
    assert_eq!(error["param"], "session.model");
    assert_eq!(error["event_id"], "evt_model");
    assert!(server.sent_of("session.updated").await.is_empty());

    // The same model as the URL's is accepted (it changes nothing).
    client
        .send(json!({"type": "session.update", "event_id": "evt_same",
            "session": {"type": "realtime", "model": "gpt-realtime-2.1"}}))
        .await;
    let updated = client.until("session.updated").await.pop().unwrap();
    assert_eq!(updated["session"]["model"], "gpt-realtime-2.1");
}

#[tokio::test]
async fn invalid_session_updates_are_refused_with_code_and_param() {
    let server = strict().await;
    let (mut client, _) = RawClient::connect(server.url()).await;
    let pcmu = json!({"type": "audio/pcmu"});
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"type": "transcription"}),
            "invalid_value",
            "session.type",
        ),
        (
            json!({"instructions": "x"}),
            "missing_required_parameter",
            "session.type",
        ),
        (
            json!({"type": "realtime", "input_audio_format": "g711_ulaw"}),
            "unknown_parameter",
            "session.input_audio_format",
        ),
        (
            json!({"type": "realtime", "audio": {"output": {"format": "pcm16"}}}),
            "invalid_type",
            "session.audio.output.format",
        ),
        (
            json!({"type": "realtime", "audio": {"output": {"format": {"type": "audio/pcm"}}}}),
            "missing_required_parameter",
            "session.audio.output.format.rate",
        ),
        (
            json!({"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcmu", "rate": 8000}}}}),
            "unknown_parameter",
            "session.audio.input.format.rate",
        ),
        (
            json!({"type": "realtime", "audio": {"input": {"format": {"type": "g711_ulaw"}}}}),
            "invalid_value",
            "session.audio.input.format.type",
        ),
        (
            json!({"type": "realtime", "audio": {"output": {"format": pcmu, "voice": ""}}}),
            "invalid_value",
            "session.audio.output.voice",
        ),
        (
            json!({"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "create_response": null}}}}),
            "invalid_type",
            "session.audio.input.turn_detection.create_response",
        ),
        (
            json!({"type": "realtime", "tools": [{"type": "function", "description": "no name"}]}),
            "missing_required_parameter",
            "session.tools[0].name",
        ),
        (
            json!({"type": "realtime", "tools": [{"type": "function", "name": "send sms"}]}),
            "invalid_value",
            "session.tools[0].name",
        ),
        (
            json!({"type": "realtime", "tools": [{"type": "function", "name": "f", "parameters": "{}"}]}),
            "invalid_type",
            "session.tools[0].parameters",
        ),
        (
            json!({"type": "realtime", "output_modalities": ["audio", "text"]}),
            "invalid_value",
            "session.output_modalities",
        ),
        (
            json!({"type": "realtime", "tool_choice": "sometimes"}),
            "invalid_value",
            "session.tool_choice",
        ),
    ];
    for (n, (session, code, param)) in cases.into_iter().enumerate() {
        let event_id = format!("evt_{n}");
        let error = client
            .refused(json!({"type": "session.update", "event_id": event_id, "session": session}))
            .await;
        assert_eq!(error["code"], code, "case {n}: {error}");
        assert_eq!(error["param"], param, "case {n}: {error}");
        assert_eq!(error["event_id"], event_id.as_str(), "case {n}");
    }
    assert!(server.sent_of("session.updated").await.is_empty());

    // A valid update merges: what a later update omits stays.
    let updated = client.configure_pcmu("evt_ok").await;
    assert_eq!(updated["session"]["audio"]["output"]["voice"], "marin");
    client
        .send(json!({"type": "session.update", "session": {"type": "realtime", "instructions": "Be brief."}}))
        .await;
    let merged = client.until("session.updated").await.pop().unwrap();
    assert_eq!(merged["session"]["instructions"], "Be brief.");
    assert_eq!(merged["session"]["audio"]["output"]["voice"], "marin");
    assert_eq!(
        merged["session"]["audio"]["input"]["format"]["type"],
        "audio/pcmu"
    );
}

#[tokio::test]
async fn a_second_response_create_is_refused_while_one_is_active_but_out_of_band_runs_beside() {
    let server = strict().await;
    let (mut client, _) = RawClient::connect(server.url()).await;
    client.configure_pcmu("evt_s").await;
    client
        .send(json!({"type": "response.create", "event_id": "evt_first"}))
        .await;
    let created = client.until("response.created").await.pop().unwrap();
    let first = created["response"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["response"]["status"], "in_progress");

    let error = client
        .refused(json!({"type": "response.create", "event_id": "evt_second",
            "response": {"instructions": "Say goodbye."}}))
        .await;
    assert_eq!(error["code"], "conversation_already_has_active_response");
    assert_eq!(error["event_id"], "evt_second");
    assert!(
        error["message"].as_str().unwrap().contains(&first),
        "{error}"
    );

    client
        .send(json!({"type": "response.create", "event_id": "evt_oob",
            "response": {"conversation": "none", "metadata": {"purpose": "tool_wait"}}}))
        .await;
    let oob = client.until("response.created").await.pop().unwrap();
    assert!(oob["response"]["conversation_id"].is_null());
    assert_eq!(oob["response"]["metadata"]["purpose"], "tool_wait");

    // Once the first response is done, a new one is accepted.
    let handle = server.next_response().await;
    assert_eq!(handle.id, first);
    server.finish(&handle, Status::Completed).await;
    let done = client.until("response.done").await.pop().unwrap();
    assert_eq!(done["response"]["status"], "completed");
    client
        .send(json!({"type": "response.create", "event_id": "evt_third"}))
        .await;
    client.until("response.created").await;
    assert_eq!(
        server.active_responses().await.len(),
        2,
        "the third and the out-of-band one"
    );
}

#[tokio::test]
async fn truncation_is_refused_past_the_audio_generated_and_for_non_audio_items() {
    let server = strict().await;
    let (mut client, _) = RawClient::connect(server.url()).await;
    client.configure_pcmu("evt_s").await;
    client.send(json!({"type": "response.create"})).await;
    server
        .respond(
            Response::new()
                .audio("item_a", &[0x55; 1600]) // 200 ms of μ-law
                .function_call("call_1", "send_sms", r#"{"to":"+14155550123"}"#)
                .status(Status::Completed),
        )
        .await;
    client.until("response.done").await;

    let past = client
        .refused(
            json!({"type": "conversation.item.truncate", "event_id": "evt_t1",
            "item_id": "item_a", "content_index": 0, "audio_end_ms": 250}),
        )
        .await;
    assert_eq!(past["code"], "invalid_value");
    assert_eq!(past["event_id"], "evt_t1");
    assert!(
        past["message"]
            .as_str()
            .unwrap()
            .contains("Audio content of 200ms is already shorter than 250ms"),
        "{past}"
    );
    let unknown = client
        .refused(
            json!({"type": "conversation.item.truncate", "event_id": "evt_t2",
            "item_id": "item_nope", "content_index": 0, "audio_end_ms": 10}),
        )
        .await;
    assert_eq!(unknown["param"], "item_id");
    assert_eq!(unknown["event_id"], "evt_t2");
    let not_audio = client
        .refused(
            json!({"type": "conversation.item.truncate", "event_id": "evt_t3",
            "item_id": "fc_call_1", "content_index": 0, "audio_end_ms": 10}),
        )
        .await;
    assert_eq!(not_audio["code"], "unsupported_content_type");

    client
        .send(
            json!({"type": "conversation.item.truncate", "item_id": "item_a",
            "content_index": 0, "audio_end_ms": 150}),
        )
        .await;
    let truncated = client
        .until("conversation.item.truncated")
        .await
        .pop()
        .unwrap();
    assert_eq!(truncated["audio_end_ms"], 150);
    // The item is now 150 ms long.
    let again = client
        .refused(
            json!({"type": "conversation.item.truncate", "item_id": "item_a",
            "content_index": 0, "audio_end_ms": 180}),
        )
        .await;
    assert!(again["event_id"].is_null(), "no client event_id to echo");
    assert_eq!(again["code"], "invalid_value");
}

#[tokio::test]
async fn cancel_with_nothing_active_and_outputs_for_unknown_calls_are_errors() {
    let server = strict().await;
    let (mut client, _) = RawClient::connect(server.url()).await;
    client.configure_pcmu("evt_s").await;
    let cancel = client
        .refused(json!({"type": "response.cancel", "event_id": "evt_c"}))
        .await;
    assert_eq!(cancel["code"], "response_cancel_not_active");
    assert_eq!(cancel["event_id"], "evt_c");

    let output = json!({"type": "function_call_output", "call_id": "call_x", "output": "{}"});
    let unknown = client
        .refused(json!({"type": "conversation.item.create", "event_id": "evt_o", "item": output}))
        .await;
    assert_eq!(unknown["code"], "invalid_tool_call_id");
    assert_eq!(unknown["event_id"], "evt_o");

    // The call exists once a response made it; then its output is accepted.
    client.send(json!({"type": "response.create"})).await;
    server
        .respond(
            Response::new()
                .function_call("call_x", "list_events", "{}")
                .status(Status::Completed),
        )
        .await;
    client.until("response.done").await;
    client
        .send(json!({"type": "conversation.item.create", "item": output}))
        .await;
    let added = client.until("conversation.item.added").await.pop().unwrap();
    assert_eq!(added["item"]["call_id"], "call_x");
    assert_eq!(added["previous_item_id"], "fc_call_x");

    // A cancel of an active response ends it `cancelled` by the client.
    client.send(json!({"type": "response.create"})).await;
    client.until("response.created").await;
    client.send(json!({"type": "response.cancel"})).await;
    let done = client.until("response.done").await.pop().unwrap();
    assert_eq!(done["response"]["status"], "cancelled");
    assert_eq!(
        done["response"]["status_details"]["reason"],
        "client_cancelled"
    );
}

#[tokio::test]
async fn a_handshake_without_a_model_is_refused() {
    let server = strict().await;
    let refused = tokio_tungstenite::connect_async(server.base_url()).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400)
        }
        other => panic!("expected HTTP 400, got {:?}", other.map(|_| ())),
    }
}
