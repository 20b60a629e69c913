//! The bridge over real sockets on loopback: a Twilio-shaped client, the stream host, and a
//! strict OpenAI Realtime server. How calls end is in `bridge_endings.rs`, tools in calls in
//! `tools_in_calls.rs`.

mod harness;

use std::time::Duration;

use harness::{AUTH_TOKEN, WAIT, b64, delta, sid, start};
use phone_core::{CallStatus, Role};
use phone_test_support::realtime_server::{Response, Status};
use phone_test_support::twilio_stream::{Signing, TwilioStream};
use serde_json::json;

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
        .respond(Response::new().audio("item_1", &reply))
        .await;
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
    host.assert_no_refusals().await;
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
    host.assert_no_refusals().await;
    host.openai.assert_client_events_valid().await;
}

#[tokio::test]
async fn barge_in_clears_twilio_truncates_at_played_audio_and_drops_stale_deltas() {
    let host = start().await;
    let mut twilio = host.connect_call(&sid(3)).await;
    let greeting = host.openai.next_response().await;
    host.openai
        .play(
            &greeting,
            Response::new()
                .audio("item_a", &[0x55; 1600]) // 200 ms
                .audio("item_a", &[0x56; 1600]), // 400 ms
        )
        .await;
    twilio.recv_event("media", WAIT).await;
    let first_mark = twilio.recv_event("mark", WAIT).await;
    twilio.recv_event("media", WAIT).await;
    twilio.recv_event("mark", WAIT).await;
    // Only the first 200 ms have played when the caller speaks; server VAD cancels the greeting.
    twilio
        .mark(first_mark["mark"]["name"].as_str().unwrap())
        .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    host.openai.caller_starts_speaking().await;
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
    host.openai
        .wait_for_sent("conversation.item.truncated", 1, WAIT)
        .await;
    // A late delta of the interrupted response (in flight when it was cancelled) must not
    // reach the caller; the answer to the caller's turn does.
    host.openai
        .send(delta(&greeting.id, "item_a", &[0x57; 160]))
        .await;
    let answer = host.openai.caller_stops_speaking().await.unwrap();
    host.openai
        .play(&answer, Response::new().audio("item_b", &[0x58; 160]))
        .await;
    let next = twilio.recv_event("media", WAIT).await;
    assert_eq!(next["media"]["payload"], b64(&[0x58; 160]));
    twilio.stop(&sid(3)).await;
    host.wait_no_active_calls().await;
    assert_eq!(host.call_row(&sid(3)).await.stats.interruptions, 1);
    host.assert_no_refusals().await;
    host.openai.assert_client_events_valid().await;
}

#[tokio::test]
async fn transcripts_are_stored_and_usage_is_priced() {
    let host = start().await;
    let mut twilio = host.connect_call(&sid(4)).await;
    let usage = json!({"total_tokens": 1300, "input_tokens": 1000, "output_tokens": 300,
        "input_token_details": {"text_tokens": 400, "audio_tokens": 600, "cached_tokens_details": {"text_tokens": 100, "audio_tokens": 0}},
        "output_token_details": {"text_tokens": 0, "audio_tokens": 300}});
    host.openai
        .respond(
            Response::new()
                .usage(usage.clone())
                .status(Status::Completed),
        )
        .await;
    let answer = host.openai.vad_turn().await.unwrap();
    host.openai.caller_said("Book the dentist").await;
    host.openai
        .play(
            &answer,
            Response::new()
                .audio("item_a", &[0x55; 160])
                .transcript("item_a", "Done, booked.")
                .usage(usage)
                .status(Status::Completed),
        )
        .await;
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
    host.assert_no_refusals().await;
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
    host.greeting_done().await;
    let answer = host.openai.vad_turn().await.unwrap();
    host.openai.caller_said("My name is Ada").await;
    host.openai
        .play(
            &answer,
            Response::new()
                .audio("a1", &[0x55; 160])
                .transcript("a1", "Hi Ada!")
                .status(Status::Completed),
        )
        .await;
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
    // The apology is the second connection's response.
    host.openai
        .respond(Response::new().audio("i2", &[1; 160]))
        .await;
    twilio.recv_event("media", WAIT).await;
    twilio.stop(&sid(8)).await;
    host.wait_no_active_calls().await;
    assert_eq!(host.call_row(&sid(8)).await.stats.reconnects, 1);
    host.assert_no_refusals().await;
    host.openai.assert_client_events_valid().await;
}
