//! The bridge over real sockets on loopback: a Twilio-shaped client, the stream host, and a
//! scripted OpenAI Realtime server.

mod harness;

use std::time::Duration;

use harness::{AUTH_TOKEN, WAIT, b64, sid, start};
use std::sync::Arc;

use phone_core::tools::clock_time::LocalZone;
use phone_core::{CallStatus, Role};
use phone_google::GoogleCalendar;
use phone_google::oauth::{ClientCredentials, TokenSource};
use phone_test_support::google_server::{self, GoogleTestServer};
use phone_test_support::realtime_server::Mode;
use phone_test_support::twilio_stream::{Signing, TwilioStream};
use secrecy::SecretString;
use serde_json::json;

fn delta(response: &str, item: &str, audio: &[u8]) -> serde_json::Value {
    json!({"type": "response.output_audio.delta", "response_id": response, "item_id": item,
           "output_index": 0, "content_index": 0, "delta": b64(audio)})
}

#[tokio::test]
async fn audio_passes_both_ways_byte_exact_and_nothing_is_lost_before_the_session_is_ready() {
    let host = start().await;
    host.openai
        .delay_session_updated(Duration::from_millis(300));
    let mut twilio = host.connect_call(&sid(1)).await;
    // Caller audio sent before `session.updated`: it must be queued, then forwarded in order.
    let frames: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i; 160]).collect();
    for frame in &frames {
        twilio.media(&b64(frame)).await;
    }
    let appends = host
        .openai
        .wait_for("input_audio_buffer.append", 20, WAIT)
        .await;
    let updated_before = host.openai.events_of("session.update").await.len();
    assert_eq!(updated_before, 1);
    let got: Vec<String> = appends
        .iter()
        .map(|a| a["audio"].as_str().unwrap().to_owned())
        .collect();
    let sent: Vec<String> = frames.iter().map(|f| b64(f)).collect();
    assert_eq!(
        got, sent,
        "every early frame arrives, in order, byte for byte"
    );

    let reply: Vec<u8> = (0..=255u8).cycle().take(960).collect(); // 120 ms: one mark
    host.openai
        .send(json!({"type": "response.created", "response": {"id": "resp_1"}}))
        .await;
    host.openai.send(delta("resp_1", "item_1", &reply)).await;
    let media = twilio.recv_event("media", WAIT).await;
    assert_eq!(media["media"]["payload"], b64(&reply));
    assert_eq!(media["streamSid"], twilio.stream_sid);
    let mark = twilio.recv_event("mark", WAIT).await;
    assert!(
        mark["mark"]["name"]
            .as_str()
            .unwrap()
            .starts_with("item_1:120:g0:"),
        "{mark}"
    );
}

#[tokio::test]
async fn session_is_ga_pcmu_and_the_assistant_greets_first() {
    let host = start().await;
    let _twilio = host.connect_call(&sid(2)).await;
    let update = &host.openai.wait_for("session.update", 1, WAIT).await[0];
    assert_eq!(update["session"]["type"], "realtime");
    assert_eq!(
        update["session"]["audio"]["input"]["format"]["type"],
        "audio/pcmu"
    );
    assert_eq!(
        update["session"]["audio"]["output"]["format"]["type"],
        "audio/pcmu"
    );
    let greeting = &host.openai.wait_for("response.create", 1, WAIT).await[0];
    assert!(
        greeting["response"]["instructions"]
            .as_str()
            .unwrap()
            .contains("Hello from the test line")
    );
    assert_eq!(
        host.openai.authorization_headers().await,
        vec![Some("Bearer sk-test-key".to_owned())]
    );
}

#[tokio::test]
async fn barge_in_clears_twilio_truncates_at_played_audio_and_drops_stale_deltas() {
    let host = start().await;
    let mut twilio = host.connect_call(&sid(3)).await;
    host.openai.wait_for("session.update", 1, WAIT).await;
    host.openai
        .send(json!({"type": "response.created", "response": {"id": "resp_1"}}))
        .await;
    host.openai
        .send(delta("resp_1", "item_a", &[0x55; 1600]))
        .await; // 200 ms
    host.openai
        .send(delta("resp_1", "item_a", &[0x56; 1600]))
        .await; // 400 ms
    twilio.recv_event("media", WAIT).await;
    let first_mark = twilio.recv_event("mark", WAIT).await;
    twilio.recv_event("media", WAIT).await;
    twilio.recv_event("mark", WAIT).await;
    // Only the first 200 ms have played when the caller speaks.
    twilio
        .mark(first_mark["mark"]["name"].as_str().unwrap())
        .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    host.openai.send(json!({"type": "input_audio_buffer.speech_started", "audio_start_ms": 900, "item_id": "item_u"})).await;
    twilio.recv_event("clear", WAIT).await;
    let truncate = &host
        .openai
        .wait_for("conversation.item.truncate", 1, WAIT)
        .await[0];
    assert_eq!(truncate["item_id"], "item_a");
    assert_eq!(
        truncate["audio_end_ms"], 250,
        "played 200 ms + 50 ms slack, under the 400 ms sent"
    );
    // A late delta of the interrupted response must not reach the caller.
    host.openai
        .send(delta("resp_1", "item_a", &[0x57; 160]))
        .await;
    host.openai
        .send(delta("resp_2", "item_b", &[0x58; 160]))
        .await;
    let next = twilio.recv_event("media", WAIT).await;
    assert_eq!(next["media"]["payload"], b64(&[0x58; 160]));
    twilio.stop(&sid(3)).await;
    host.wait_no_active_calls().await;
    assert_eq!(host.call_row(&sid(3)).await.stats.interruptions, 1);
}

#[tokio::test]
async fn transcripts_are_stored_and_usage_is_priced() {
    let host = start().await;
    let mut twilio = host.connect_call(&sid(4)).await;
    host.openai.wait_for("session.update", 1, WAIT).await;
    host.openai
        .send(
            json!({"type": "conversation.item.input_audio_transcription.completed",
        "item_id": "item_u", "content_index": 0, "transcript": "Book the dentist"}),
        )
        .await;
    host.openai
        .send(json!({"type": "response.output_audio_transcript.done",
        "item_id": "item_a", "transcript": "Done, booked."}))
        .await;
    let usage = json!({"total_tokens": 1300, "input_tokens": 1000, "output_tokens": 300,
        "input_token_details": {"text_tokens": 400, "audio_tokens": 600, "cached_tokens_details": {"text_tokens": 100, "audio_tokens": 0}},
        "output_token_details": {"text_tokens": 0, "audio_tokens": 300}});
    for _ in 0..2 {
        host.openai.send(json!({"type": "response.done", "response": {"id": "r", "status": "completed", "usage": usage}})).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    twilio.stop(&sid(4)).await;
    host.wait_no_active_calls().await;
    host.openai.wait_all_closed(WAIT).await;

    let call = host.call_row(&sid(4)).await;
    assert_eq!(call.status, CallStatus::Completed);
    assert_eq!(call.usage.responses, 2);
    assert_eq!(call.usage.input_audio_tokens, 1200);
    // 2 × (300 text × $4 + 100 cached × $0.40 + 600 audio × $32 + 300 audio out × $64) per 1M.
    let expected_nano = 2 * (300 * 4_000 + 100 * 400 + 600 * 32_000 + 300 * 64_000);
    assert_eq!(
        call.cost.input_nano_usd + call.cost.output_nano_usd,
        expected_nano
    );
    let turns = host
        .store
        .list_turns(&call.call_sid, &phone_core::store::PageRequest::first(10))
        .await
        .unwrap()
        .items;
    let said: Vec<(Role, &str)> = turns.iter().map(|t| (t.role, t.text.as_str())).collect();
    assert_eq!(
        said,
        [
            (Role::Caller, "Book the dentist"),
            (Role::Assistant, "Done, booked.")
        ]
    );
}

#[tokio::test]
async fn upgrade_without_a_valid_signature_is_refused() {
    let host = start().await;
    let none = TwilioStream::connect(&host.stream_url, Signing::None)
        .await
        .err();
    assert_eq!(none.as_deref(), Some("HTTP 403"));
    let wrong = TwilioStream::connect(&host.stream_url, Signing::Token("not-the-token"))
        .await
        .err();
    assert_eq!(wrong.as_deref(), Some("HTTP 403"));
    let garbage = TwilioStream::connect(&host.stream_url, Signing::Header("abc"))
        .await
        .err();
    assert_eq!(garbage.as_deref(), Some("HTTP 403"));
    assert_eq!(
        host.openai.connections_opened(),
        0,
        "no OpenAI socket for a refused upgrade"
    );
}

#[tokio::test]
async fn wrong_or_reused_stream_token_ends_the_stream_and_closes_openai() {
    let host = start().await;
    host.ring(&sid(5)).await;
    let mut bad = TwilioStream::connect(&host.stream_url, Signing::Token(AUTH_TOKEN))
        .await
        .unwrap();
    bad.start(&sid(5), &[("token", "guessed")]).await;
    bad.expect_closed(WAIT).await;
    host.openai.wait_all_closed(WAIT).await;
    assert!(host.openai.events_of("session.update").await.is_empty());

    let mut first = host.connect_call(&sid(6)).await;
    host.openai.wait_for("session.update", 1, WAIT).await;
    let token = "token-for-".to_owned() + &sid(6);
    let mut replay = TwilioStream::connect(&host.stream_url, Signing::Token(AUTH_TOKEN))
        .await
        .unwrap();
    replay.start(&sid(6), &[("token", &token)]).await;
    replay.expect_closed(WAIT).await;
    first.stop(&sid(6)).await;
    host.wait_no_active_calls().await;
}

#[tokio::test]
async fn malformed_oversized_and_binary_frames_are_dropped_and_the_call_goes_on() {
    let host = start().await;
    let mut twilio = host.connect_call(&sid(7)).await;
    host.openai.wait_for("session.update", 1, WAIT).await;
    twilio.send_raw("this is not json").await;
    twilio
        .send_raw(r#"{"event":"media","media":{"payload":42}}"#)
        .await;
    twilio
        .send_raw(&format!(
            r#"{{"event":"media","pad":"{}"}}"#,
            "x".repeat(70 * 1024)
        ))
        .await;
    twilio.send_binary(&[1, 2, 3]).await;
    twilio.send_raw(r#"{"event":"something_new"}"#).await;
    twilio.media(&b64(&[9; 160])).await;
    let appends = host
        .openai
        .wait_for("input_audio_buffer.append", 1, WAIT)
        .await;
    assert_eq!(appends[0]["audio"], b64(&[9; 160]));
    twilio.stop(&sid(7)).await;
    host.wait_no_active_calls().await;
    let stats = host.call_row(&sid(7)).await.stats;
    assert_eq!(
        stats.dropped_frames, 4,
        "three bad text frames and one binary; unknown events are ignored"
    );
    assert_eq!(stats.frames_in, 1);
}

#[tokio::test]
async fn openai_drop_reconnects_with_the_conversation_and_keeps_the_call() {
    let host = start().await;
    let mut twilio = host.connect_call(&sid(8)).await;
    host.openai.wait_for("session.update", 1, WAIT).await;
    host.openai
        .send(
            json!({"type": "conversation.item.input_audio_transcription.completed",
        "item_id": "u1", "content_index": 0, "transcript": "My name is Ada"}),
        )
        .await;
    host.openai.send(json!({"type": "response.output_audio_transcript.done", "item_id": "a1", "transcript": "Hi Ada!"})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    host.openai.drop_connection().await;

    host.openai.wait_for("session.update", 2, WAIT).await;
    assert_eq!(host.openai.connections_opened(), 2);
    let items = host
        .openai
        .wait_for("conversation.item.create", 2, WAIT)
        .await;
    assert_eq!(items[0]["item"]["content"][0]["text"], "My name is Ada");
    assert_eq!(items[1]["item"]["role"], "assistant");
    let creates = host.openai.wait_for("response.create", 2, WAIT).await;
    assert!(
        creates[1]["response"]["instructions"]
            .as_str()
            .unwrap()
            .contains("dropped")
    );

    twilio.media(&b64(&[7; 160])).await;
    host.openai
        .wait_for("input_audio_buffer.append", 1, WAIT)
        .await;
    host.openai.send(delta("r2", "i2", &[1; 160])).await;
    twilio.recv_event("media", WAIT).await;
    twilio.stop(&sid(8)).await;
    host.wait_no_active_calls().await;
    assert_eq!(host.call_row(&sid(8)).await.stats.reconnects, 1);
}

#[tokio::test]
async fn openai_gone_for_good_ends_the_call_cleanly() {
    let host = harness::start_with(Mode::Scripted, |c| c.reconnect_attempts = 2).await;
    let mut twilio = host.connect_call(&sid(9)).await;
    host.openai.wait_for("session.update", 1, WAIT).await;
    // The server goes away for good: every reconnect attempt is refused.
    host.openai.drop_connection().await;
    drop(host.openai);
    twilio.expect_closed(Duration::from_secs(10)).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while host.state.active_calls() > 0 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn caller_hang_up_closes_the_openai_socket_and_frees_the_call() {
    let host = start().await;
    let mut twilio = host.connect_call(&sid(10)).await;
    host.openai.wait_for("session.update", 1, WAIT).await;
    assert_eq!(host.state.active_calls(), 1);
    twilio.stop(&sid(10)).await;
    host.openai.wait_all_closed(WAIT).await;
    host.wait_no_active_calls().await;
    twilio.expect_closed(WAIT).await;
    assert_eq!(host.call_row(&sid(10)).await.status, CallStatus::Completed);
}

#[tokio::test]
async fn host_at_capacity_refuses_new_streams() {
    let host = harness::start_with(Mode::Scripted, |c| c.max_calls = 1).await;
    let _first = host.connect_call(&sid(11)).await;
    host.openai.wait_for("session.update", 1, WAIT).await;
    let second = TwilioStream::connect(&host.stream_url, Signing::Token(AUTH_TOKEN))
        .await
        .err();
    assert_eq!(second.as_deref(), Some("HTTP 503"));
}

#[tokio::test]
async fn drain_turns_health_503_refuses_new_calls_and_ends_live_ones_politely() {
    let host = start().await;
    let mut twilio = host.connect_call(&sid(12)).await;
    host.openai.wait_for("session.update", 1, WAIT).await;
    let health = reqwest::get(format!("{}/health", host.base)).await.unwrap();
    assert_eq!(health.status(), 200);

    host.drain.drain(Duration::from_millis(300));
    let health = reqwest::get(format!("{}/health", host.base)).await.unwrap();
    assert_eq!(health.status(), 503);
    let refused = TwilioStream::connect(&host.stream_url, Signing::Token(AUTH_TOKEN))
        .await
        .err();
    assert_eq!(refused.as_deref(), Some("HTTP 503"));

    // At the deadline the assistant is asked for a goodbye; once it is done the call ends.
    let creates = host.openai.wait_for("response.create", 2, WAIT).await;
    assert!(
        creates[1]["response"]["instructions"]
            .as_str()
            .unwrap()
            .contains("goodbye")
    );
    host.openai
        .send(json!({"type": "response.created", "response": {"id": "bye"}}))
        .await;
    host.openai.send(delta("bye", "item_bye", &[3; 800])).await;
    let mark = twilio.recv_event("mark", WAIT).await;
    host.openai
        .send(json!({"type": "response.done", "response": {"id": "bye", "status": "completed"}}))
        .await;
    twilio.mark(mark["mark"]["name"].as_str().unwrap()).await;
    twilio.expect_closed(WAIT).await;
    host.wait_no_active_calls().await;
}

#[tokio::test]
async fn silent_caller_gets_a_goodbye_and_the_call_ends() {
    let host = harness::start_with(Mode::Scripted, |c| {
        c.idle_timeout = Duration::from_millis(400)
    })
    .await;
    let mut twilio = host.connect_call(&sid(13)).await;
    let creates = host.openai.wait_for("response.create", 2, WAIT).await;
    assert!(
        creates[1]["response"]["instructions"]
            .as_str()
            .unwrap()
            .contains("silent")
    );
    host.openai
        .send(json!({"type": "response.done", "response": {"id": "bye", "status": "completed"}}))
        .await;
    twilio.expect_closed(WAIT).await;
    host.wait_no_active_calls().await;
}

#[tokio::test]
async fn call_at_its_time_limit_ends_even_if_the_goodbye_never_finishes() {
    let host =
        harness::start_with(Mode::Scripted, |c| c.max_call = Duration::from_millis(300)).await;
    let mut twilio = host.connect_call(&sid(14)).await;
    let creates = host.openai.wait_for("response.create", 2, WAIT).await;
    assert!(
        creates[1]["response"]["instructions"]
            .as_str()
            .unwrap()
            .contains("time limit")
    );
    // No response.done: the goodbye grace (10 s) bounds the wait.
    twilio.expect_closed(Duration::from_secs(15)).await;
    host.wait_no_active_calls().await;
}

#[tokio::test]
async fn a_tool_call_creates_the_event_and_the_model_gets_one_follow_up() {
    let host = harness::start_with_tools().await;
    let mut twilio = host.connect_call(&sid(15)).await;
    let update = &host.openai.wait_for("session.update", 1, WAIT).await[0];
    let tools = update["session"]["tools"].as_array().unwrap();
    assert!(
        tools
            .iter()
            .any(|t| t["name"] == "create_event" && t["type"] == "function")
    );
    host.openai
        .send(json!({"type": "response.created", "response": {"id": "resp_t"}}))
        .await;
    for (id, args) in [
        (
            "call_1",
            r#"{"title":"Dentist","start":"2026-11-26T15:00","duration_minutes":30}"#,
        ),
        ("call_2", r#"{"day":"2026-11-26"}"#),
    ] {
        let name = if id == "call_1" {
            "create_event"
        } else {
            "list_events"
        };
        host.openai
            .send(
                json!({"type": "response.function_call_arguments.done", "response_id": "resp_t",
            "item_id": "fc", "output_index": 0, "call_id": id, "name": name, "arguments": args}),
            )
            .await;
    }
    let outputs = host
        .openai
        .wait_for("conversation.item.create", 2, WAIT)
        .await;
    let created: serde_json::Value =
        serde_json::from_str(outputs[0]["item"]["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        created["created"]["start"],
        "2026-11-26T15:00 (Europe/Paris)"
    );
    // The follow-up waits for response.done, and there is only one for both outputs.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        host.openai.events_of("response.create").await.len(),
        1,
        "only the greeting so far"
    );
    host.openai
        .send(json!({"type": "response.done", "response": {"id": "resp_t", "status": "completed"}}))
        .await;
    host.openai.wait_for("response.create", 2, WAIT).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(host.openai.events_of("response.create").await.len(), 2);

    twilio.stop(&sid(15)).await;
    host.wait_no_active_calls().await;
    let records = host
        .store
        .list_tool_calls(
            &format!("CALL#{}", sid(15)),
            &phone_core::store::PageRequest::first(10),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| !r.is_error));
}

#[tokio::test]
async fn end_call_waits_for_the_goodbye_to_play_then_hangs_up_once() {
    let host = harness::start_with_tools().await;
    let mut twilio = host.connect_call(&sid(16)).await;
    host.openai.wait_for("session.update", 1, WAIT).await;
    host.openai
        .send(json!({"type": "response.created", "response": {"id": "r1"}}))
        .await;
    host.openai.send(json!({"type": "response.function_call_arguments.done", "response_id": "r1",
        "item_id": "fc", "output_index": 0, "call_id": "end_1", "name": "end_call", "arguments": "{}"})).await;
    host.openai
        .send(json!({"type": "response.done", "response": {"id": "r1", "status": "completed"}}))
        .await;
    host.openai.wait_for("response.create", 2, WAIT).await;
    // The goodbye plays; the call must stay up until its mark comes back.
    host.openai
        .send(json!({"type": "response.created", "response": {"id": "bye"}}))
        .await;
    host.openai.send(delta("bye", "item_bye", &[5; 1600])).await;
    host.openai
        .send(json!({"type": "response.done", "response": {"id": "bye", "status": "completed"}}))
        .await;
    let mark = twilio.recv_event("mark", WAIT).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        host.state.active_calls(),
        1,
        "not hung up before the goodbye was heard"
    );
    twilio.mark(mark["mark"]["name"].as_str().unwrap()).await;
    twilio.expect_closed(WAIT).await;
    host.wait_no_active_calls().await;
}

#[tokio::test]
async fn a_second_call_from_the_same_number_knows_what_the_first_did() {
    let host = harness::start_with_tools().await;
    let mut first = host.connect_call(&sid(17)).await;
    host.openai.wait_for("session.update", 1, WAIT).await;
    host.openai
        .send(
            json!({"type": "conversation.item.input_audio_transcription.completed",
        "item_id": "u1", "content_index": 0, "transcript": "Book the team sync Friday at 4"}),
        )
        .await;
    host.openai
        .send(json!({"type": "response.created", "response": {"id": "r1"}}))
        .await;
    host.openai.send(json!({"type": "response.function_call_arguments.done", "response_id": "r1", "item_id": "fc",
        "output_index": 0, "call_id": "c1", "name": "create_event",
        "arguments": r#"{"title":"Team sync","start":"2026-11-27T16:00"}"#})).await;
    host.openai
        .send(json!({"type": "response.done", "response": {"id": "r1", "status": "completed"}}))
        .await;
    host.openai
        .wait_for("conversation.item.create", 1, WAIT)
        .await;
    first.stop(&sid(17)).await;
    host.wait_no_active_calls().await;

    let _second = host.connect_call(&sid(18)).await;
    let updates = host.openai.wait_for("session.update", 2, WAIT).await;
    let instructions = updates[1]["session"]["instructions"].as_str().unwrap();
    assert!(
        instructions.contains("Book the team sync Friday at 4"),
        "{instructions}"
    );
    assert!(
        instructions.contains("Team sync") && instructions.contains("event_id"),
        "{instructions}"
    );
    assert!(
        instructions.contains("2026-11-27T16:00 (Europe/Paris)"),
        "{instructions}"
    );
}

#[tokio::test]
async fn a_voice_call_books_the_event_in_google_calendar() {
    let google = GoogleTestServer::start().await.unwrap();
    let creds = ClientCredentials {
        client_id: google_server::CLIENT_ID.into(),
        client_secret: SecretString::from(google_server::CLIENT_SECRET),
        token_url: google.token_url(),
    };
    let tokens = Arc::new(TokenSource::new(
        reqwest::Client::new(),
        creds,
        SecretString::from(google_server::REFRESH_TOKEN),
    ));
    let zone = LocalZone::new("Europe/Paris").unwrap();
    let calendar =
        GoogleCalendar::new(&google.calendar_base_url(), "primary", tokens, zone).unwrap();
    let host = harness::start_with_calendar(Arc::new(calendar)).await;
    let mut twilio = host.connect_call(&sid(19)).await;
    host.openai.wait_for("session.update", 1, WAIT).await;
    host.openai
        .send(json!({"type": "response.created", "response": {"id": "resp_g"}}))
        .await;
    host.openai
        .send(
            json!({"type": "response.function_call_arguments.done", "response_id": "resp_g",
        "item_id": "fc", "output_index": 0, "call_id": "call_g1", "name": "create_event",
        "arguments": r#"{"title":"Dentist","start":"2026-12-03T15:00","duration_minutes":30}"#}),
        )
        .await;
    let output = &host
        .openai
        .wait_for("conversation.item.create", 1, WAIT)
        .await[0];
    let result: serde_json::Value =
        serde_json::from_str(output["item"]["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        result["created"]["start"],
        "2026-12-03T15:00 (Europe/Paris)"
    );

    // The event exists in Google's calendar afterwards, in Google's wire shape.
    let events = google.live_events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["summary"], "Dentist");
    assert_eq!(events[0]["start"]["dateTime"], "2026-12-03T14:00:00Z");
    assert_eq!(events[0]["start"]["timeZone"], "Europe/Paris");
    assert_eq!(events[0]["end"]["dateTime"], "2026-12-03T14:30:00Z");
    assert_eq!(result["created"]["id"], events[0]["id"]);

    twilio.stop(&sid(19)).await;
    host.wait_no_active_calls().await;
    let records = host
        .store
        .list_tool_calls(
            &format!("CALL#{}", sid(19)),
            &phone_core::store::PageRequest::first(10),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(records.len(), 1, "the tool call is recorded on the call");
    assert!(!records[0].is_error);
}

/// A calendar that takes `delay` before every answer, as a slow upstream would.
struct SlowCalendar {
    inner: phone_local::LocalCalendar,
    delay: Duration,
}

#[async_trait::async_trait]
impl phone_core::ports::Calendar for SlowCalendar {
    async fn list_events(
        &self,
        range: phone_core::ports::TimeRange,
        query: Option<&str>,
        max: u32,
    ) -> Result<Vec<phone_core::ports::CalendarEvent>, phone_core::ports::PortError> {
        tokio::time::sleep(self.delay).await;
        self.inner.list_events(range, query, max).await
    }
    async fn get_event(
        &self,
        id: &str,
    ) -> Result<phone_core::ports::CalendarEvent, phone_core::ports::PortError> {
        self.inner.get_event(id).await
    }
    async fn create_event(
        &self,
        event: &phone_core::ports::NewEvent,
        request_id: &str,
    ) -> Result<phone_core::ports::CalendarEvent, phone_core::ports::PortError> {
        tokio::time::sleep(self.delay).await;
        self.inner.create_event(event, request_id).await
    }
    async fn update_event(
        &self,
        id: &str,
        patch: &phone_core::ports::EventPatch,
    ) -> Result<phone_core::ports::CalendarEvent, phone_core::ports::PortError> {
        self.inner.update_event(id, patch).await
    }
    async fn delete_event(&self, id: &str) -> Result<(), phone_core::ports::PortError> {
        self.inner.delete_event(id).await
    }
    async fn busy(
        &self,
        range: phone_core::ports::TimeRange,
    ) -> Result<Vec<phone_core::ports::TimeRange>, phone_core::ports::PortError> {
        self.inner.busy(range).await
    }
    fn describe(&self) -> String {
        "slow local calendar".into()
    }
}

#[tokio::test]
async fn a_slow_tool_gets_a_one_moment_and_the_follow_up_waits_for_it() {
    let store = phone_core::Store::new(
        Arc::new(phone_local::LocalRecords::in_memory()),
        Arc::new(phone_core::SystemClock),
        Default::default(),
    );
    let calendar = SlowCalendar {
        inner: phone_local::LocalCalendar::new(store),
        delay: Duration::from_millis(3500),
    };
    let host = harness::start_with_calendar(Arc::new(calendar)).await;
    let _twilio = host.connect_call(&sid(20)).await;
    let before = host.openai.wait_for("response.create", 1, WAIT).await.len();
    host.openai
        .send(json!({"type": "response.created", "response": {"id": "resp_s"}}))
        .await;
    host.openai
        .send(
            json!({"type": "response.function_call_arguments.done", "response_id": "resp_s",
        "item_id": "fc", "output_index": 0, "call_id": "call_s1", "name": "list_events",
        "arguments": r#"{"day":"2026-12-03"}"#}),
        )
        .await;
    host.openai
        .send(json!({"type": "response.done", "response": {"id": "resp_s", "status": "completed"}}))
        .await;

    // After 2.5 s of silence: an out-of-band "one moment", outside the conversation, no tools.
    let creates = host
        .openai
        .wait_for("response.create", before + 1, WAIT)
        .await;
    let notice = &creates[before]["response"];
    assert_eq!(notice["conversation"], "none", "{notice}");
    assert_eq!(notice["tool_choice"], "none");
    assert_eq!(notice["metadata"]["purpose"], "tool_wait");
    host.openai
        .send(
            json!({"type": "response.created", "response": {"id": "resp_wait",
            "metadata": {"purpose": "tool_wait"}}}),
        )
        .await;

    // The tool finishes while the notice is still speaking: its output goes in, but the
    // follow-up waits (two responses cannot run at once).
    host.openai
        .wait_for("conversation.item.create", 1, WAIT)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        host.openai.events_of("response.create").await.len(),
        before + 1
    );
    host.openai
        .send(
            json!({"type": "response.done", "response": {"id": "resp_wait", "status": "completed",
            "metadata": {"purpose": "tool_wait"}}}),
        )
        .await;
    let creates = host
        .openai
        .wait_for("response.create", before + 2, WAIT)
        .await;
    assert!(
        creates[before + 1]["response"]["conversation"].is_null(),
        "the follow-up is an ordinary response: {}",
        creates[before + 1]
    );
}
