//! The strict Realtime double's conversation: server VAD cancelling a response after its function
//! call was announced, two responses whose audio overlaps, servers that accept then close, and
//! every event it sends parsing as the official SDK's `RealtimeServerEvent`.

mod raw_realtime;

use phone_test_support::openai_oracle;
use phone_test_support::realtime_server::{Mode, RealtimeTestServer, Response, Status};
use raw_realtime::{RawClient, WAIT, index_of};
use serde_json::json;

#[tokio::test]
async fn barge_in_cancels_the_response_after_its_function_call_arguments_were_sent() {
    let server = RealtimeTestServer::start(Mode::Strict).await;
    let (mut client, _) = RawClient::connect(server.url()).await;
    client.configure_pcmu("evt_s").await;
    client
        .send(json!({"type": "response.create", "event_id": "evt_r"}))
        .await;
    let response = server.next_response().await;
    assert_eq!(response.request.as_ref().unwrap()["event_id"], "evt_r");
    server
        .play(
            &response,
            Response::new()
                .audio("item_a", &[0x55; 800])
                .transcript("item_a", "Sending it now")
                .function_call("call_1", "send_sms", r#"{"body":"hi"}"#),
        )
        .await;
    // "No, don't send it": the caller speaks while the response is still active.
    let next = server
        .vad_turn()
        .await
        .expect("server VAD starts a response");

    let events = client.until("input_audio_buffer.committed").await;
    let args = index_of(&events, "response.function_call_arguments.done");
    let started = index_of(&events, "input_audio_buffer.speech_started");
    let done = index_of(&events, "response.done");
    assert!(args < started && started < done, "{events:#?}");
    let args = &events[args];
    assert_eq!(args["call_id"], "call_1");
    assert_eq!(args["name"], "send_sms");
    assert_eq!(args["response_id"], response.id.as_str());
    assert_eq!(args["item_id"], "fc_call_1");
    let done = &events[done]["response"];
    assert_eq!(done["id"], response.id.as_str());
    assert_eq!(done["status"], "cancelled");
    assert_eq!(done["status_details"]["type"], "cancelled");
    assert_eq!(done["status_details"]["reason"], "turn_detected");
    assert_eq!(done["output"][0]["id"], "item_a");
    assert_eq!(done["output"][1]["type"], "function_call");
    assert_eq!(done["output"][1]["call_id"], "call_1");
    let created = client.until("response.created").await.pop().unwrap();
    assert_eq!(created["response"]["id"], next.id.as_str());
    assert!(next.request.is_none(), "created by server VAD");

    // The tool follow-up races the VAD response: refused, echoing its event_id.
    let refused = client
        .refused(json!({"type": "response.create", "event_id": "evt_follow_up"}))
        .await;
    assert_eq!(refused["code"], "conversation_already_has_active_response");
    assert_eq!(refused["event_id"], "evt_follow_up");
    server.caller_said("No, don't send it").await;
    let transcript = client
        .until("conversation.item.input_audio_transcription.completed")
        .await
        .pop()
        .unwrap();
    assert_eq!(transcript["transcript"], "No, don't send it");
}

#[tokio::test]
async fn an_out_of_band_response_and_a_default_one_stream_interleaved_audio() {
    let server = RealtimeTestServer::start(Mode::Strict).await;
    let (mut client, _) = RawClient::connect(server.url()).await;
    client.configure_pcmu("evt_s").await;
    client
        .send(json!({"type": "response.create", "response": {"conversation": "none"}}))
        .await;
    client.send(json!({"type": "response.create"})).await;
    let notice = server.next_response().await;
    let answer = server.next_response().await;
    assert!(notice.out_of_band && !answer.out_of_band);
    server
        .play(&notice, Response::new().audio("item_wait", &[1; 400]))
        .await;
    server
        .play(&answer, Response::new().audio("item_answer", &[2; 400]))
        .await;
    server
        .play(&notice, Response::new().audio("item_wait", &[3; 400]))
        .await;
    server.finish(&notice, Status::Completed).await;
    server.finish(&answer, Status::Completed).await;

    let deltas: Vec<(String, String)> = server
        .sent_of("response.output_audio.delta")
        .await
        .iter()
        .map(|d| {
            (
                d["response_id"].as_str().unwrap().to_owned(),
                d["item_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        deltas,
        [
            (notice.id.clone(), "item_wait".to_owned()),
            (answer.id.clone(), "item_answer".to_owned()),
            (notice.id.clone(), "item_wait".to_owned()),
        ]
    );
    // The out-of-band item is not in the conversation: it cannot be truncated.
    client.until("response.done").await;
    let error = client
        .refused(
            json!({"type": "conversation.item.truncate", "item_id": "item_wait",
            "content_index": 0, "audio_end_ms": 10}),
        )
        .await;
    assert_eq!(error["param"], "item_id");
}

#[tokio::test]
async fn a_server_that_accepts_then_closes_does_so_the_given_number_of_times() {
    let server = RealtimeTestServer::start(Mode::Strict).await;
    server.close_at_once(2);
    for _ in 0..2 {
        let (mut socket, _) = tokio_tungstenite::connect_async(server.url())
            .await
            .unwrap();
        let first = tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut socket))
            .await
            .unwrap();
        match first {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 1011)
            }
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
    let (_client, created) = RawClient::connect(server.url()).await;
    assert_eq!(created["type"], "session.created");
    assert_eq!(server.connections_opened(), 3);

    server.close_every_connection_at_once();
    for _ in 0..3 {
        let (mut socket, _) = tokio_tungstenite::connect_async(server.url())
            .await
            .unwrap();
        let first = tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut socket))
            .await
            .unwrap();
        assert!(
            matches!(
                first,
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_)))
            ),
            "{first:?}"
        );
    }
    assert_eq!(server.connections_opened(), 6);
}

#[tokio::test]
async fn every_event_the_double_sends_is_a_valid_sdk_server_event() {
    let server = RealtimeTestServer::start(Mode::Strict).await;
    let (mut client, _) = RawClient::connect(&server.url_for("gpt-realtime-2.1")).await;
    let valid_client_events = vec![
        json!({"type": "session.update", "event_id": "evt_s", "session": {"type": "realtime",
            "output_modalities": ["audio"], "instructions": "Answer the phone.",
            "audio": {"input": {"format": {"type": "audio/pcmu"}, "noise_reduction": {"type": "near_field"},
                "transcription": {"model": "gpt-4o-transcribe"},
                "turn_detection": {"type": "server_vad", "idle_timeout_ms": null,
                    "create_response": true, "interrupt_response": true}},
                "output": {"format": {"type": "audio/pcmu"}, "voice": "marin"}},
            "tools": [{"type": "function", "name": "send_sms", "description": "Sends an SMS.",
                "parameters": {"type": "object", "properties": {}}}],
            "tool_choice": "auto"}}),
        json!({"type": "input_audio_buffer.append", "audio": "////////////////////////"}),
        json!({"type": "response.create", "event_id": "evt_r", "response": {"instructions": "Greet."}}),
        json!({"type": "response.create", "event_id": "evt_busy"}),
        json!({"type": "response.create", "response": {"conversation": "none",
            "tool_choice": "none", "metadata": {"purpose": "tool_wait"}}}),
        json!({"type": "input_audio_buffer.commit"}),
        json!({"type": "input_audio_buffer.clear"}),
        json!({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "My name is Ada"}]}}),
        json!({"type": "response.cancel", "event_id": "evt_nothing"}),
    ];
    for event in &valid_client_events[..5] {
        client.send(event.clone()).await;
    }
    let greeting = server.next_response().await;
    let notice = server.next_response().await;
    server
        .play(
            &greeting,
            Response::new()
                .audio("item_g", &[0x55; 1600])
                .transcript("item_g", "Hello!")
                .function_call("call_1", "send_sms", "{}"),
        )
        .await;
    server
        .play(&notice, Response::new().audio("item_n", &[1; 160]))
        .await;
    server.finish(&notice, Status::Incomplete).await;
    let turn = server.vad_turn().await.unwrap();
    server.caller_said("Stop").await;
    server
        .play(
            &turn,
            Response::new()
                .audio("item_t", &[2; 800])
                .usage(
                    json!({"total_tokens": 30, "input_tokens": 20, "output_tokens": 10,
                    "input_token_details": {"text_tokens": 20, "audio_tokens": 0},
                    "output_token_details": {"text_tokens": 0, "audio_tokens": 10}}),
                )
                .status(Status::Failed),
        )
        .await;
    for event in &valid_client_events[5..] {
        client.send(event.clone()).await;
    }
    client
        .send(
            json!({"type": "conversation.item.truncate", "item_id": "item_g",
            "content_index": 0, "audio_end_ms": 100}),
        )
        .await;
    client
        .send(json!({"type": "conversation.item.delete", "item_id": "item_t"}))
        .await;
    client.until("conversation.item.deleted").await;

    let sent = server.sent_events().await;
    let kinds: std::collections::BTreeSet<&str> =
        sent.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for kind in [
        "session.created",
        "session.updated",
        "error",
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        "response.output_audio.delta",
        "response.output_audio_transcript.delta",
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.done",
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "input_audio_buffer.cleared",
        "conversation.item.input_audio_transcription.completed",
        "conversation.item.truncated",
        "conversation.item.deleted",
    ] {
        assert!(kinds.contains(kind), "the run must cover {kind}: {kinds:?}");
    }
    server.assert_sent_events_valid().await;
    openai_oracle::assert_client_events_valid(&valid_client_events);
}

#[test]
fn the_server_event_oracle_rejects_an_invented_shape() {
    if !openai_oracle::available() {
        eprintln!("!!! SKIPPED: the openai package is not importable");
        assert!(
            std::env::var_os("CI").is_none(),
            "openai oracle unavailable in CI"
        );
        return;
    }
    // `response.output_audio.delta` without `output_index`/`content_index`/`event_id`.
    let invented = json!({"type": "response.output_audio.delta", "response_id": "r",
        "item_id": "i", "delta": "AAAA"});
    let rejected = std::panic::catch_unwind(|| {
        openai_oracle::assert_server_events_valid(&[invented]);
    });
    assert!(
        rejected.is_err(),
        "the oracle must reject an invented shape"
    );
}
