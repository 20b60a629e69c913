//! How calls end, over real sockets on loopback with a strict Realtime server: OpenAI gone,
//! the caller hanging up, capacity, drain, silence, and the cost and time limits.

mod harness;

use std::time::Duration;

use harness::{AUTH_TOKEN, WAIT, sid, start};
use phone_core::CallStatus;
use phone_test_support::realtime_server::{Mode, Response, Status};
use phone_test_support::twilio_stream::{Signing, TwilioStream};
use serde_json::json;

#[tokio::test]
async fn openai_gone_for_good_ends_the_call_cleanly() {
    let host = harness::start_with(Mode::Strict, |c| c.reconnect_attempts = 2).await;
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
    let host = harness::start_with(Mode::Strict, |c| c.max_calls = 1).await;
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
    host.greeting_done().await;
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
    let bye = host.openai.next_response().await;
    assert!(bye.instructions().unwrap().contains("goodbye"), "{bye:?}");
    host.openai
        .play(&bye, Response::new().audio("item_bye", &[3; 800]))
        .await;
    let mark = twilio.recv_event("mark", WAIT).await;
    host.openai.finish(&bye, Status::Completed).await;
    twilio.mark(mark["mark"]["name"].as_str().unwrap()).await;
    twilio.expect_closed(WAIT).await;
    host.wait_no_active_calls().await;
    host.assert_no_refusals().await;
}

#[tokio::test]
async fn silent_caller_gets_a_goodbye_and_the_call_ends() {
    let host = harness::start_with(Mode::Strict, |c| {
        c.idle_timeout = Duration::from_millis(400)
    })
    .await;
    let mut twilio = host.connect_call(&sid(13)).await;
    host.greeting_done().await;
    let bye = host.openai.next_response().await;
    assert!(bye.instructions().unwrap().contains("silent"), "{bye:?}");
    host.openai.finish(&bye, Status::Completed).await;
    twilio.expect_closed(WAIT).await;
    host.wait_no_active_calls().await;
    host.assert_no_refusals().await;
}

#[tokio::test]
async fn call_at_its_cost_limit_says_goodbye_and_ends() {
    // 600 audio-in + 300 audio-out tokens cost ~$0.03 at gpt-realtime prices: over a 1-cent cap.
    let host = harness::start_with(Mode::Strict, |c| c.max_cost_nano_usd = Some(10_000_000)).await;
    let mut twilio = host.connect_call(&sid(21)).await;
    let cheap = json!({"total_tokens": 10, "input_tokens": 10, "output_tokens": 0,
        "input_token_details": {"text_tokens": 10, "audio_tokens": 0}});
    host.openai
        .respond(Response::new().usage(cheap).status(Status::Completed))
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        host.openai.events_of("response.create").await.len(),
        1,
        "under the cap: no goodbye"
    );
    let costly = json!({"total_tokens": 900, "input_tokens": 600, "output_tokens": 300,
        "input_token_details": {"text_tokens": 0, "audio_tokens": 600},
        "output_token_details": {"text_tokens": 0, "audio_tokens": 300}});
    let answer = host.openai.vad_turn().await.unwrap();
    host.openai
        .play(
            &answer,
            Response::new().usage(costly).status(Status::Completed),
        )
        .await;
    let bye = host.openai.next_response().await;
    assert!(
        bye.instructions().unwrap().contains("spending limit"),
        "{bye:?}"
    );
    host.openai.finish(&bye, Status::Completed).await;
    twilio.expect_closed(WAIT).await;
    host.wait_no_active_calls().await;
    host.assert_no_refusals().await;
}

#[tokio::test]
async fn call_at_its_time_limit_ends_even_if_the_goodbye_never_finishes() {
    let host = harness::start_with(Mode::Strict, |c| c.max_call = Duration::from_secs(1)).await;
    let mut twilio = host.connect_call(&sid(14)).await;
    host.greeting_done().await;
    let bye = host.openai.next_response().await;
    assert!(
        bye.instructions().unwrap().contains("time limit"),
        "{bye:?}"
    );
    // No response.done: the goodbye grace (10 s) bounds the wait.
    twilio.expect_closed(Duration::from_secs(15)).await;
    host.wait_no_active_calls().await;
    host.assert_no_refusals().await;
}
