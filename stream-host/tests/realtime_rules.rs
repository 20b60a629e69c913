//! The bridge where the real Realtime API's rules bite (on the strict double): one test per
//! defect found in review, each tried as a real call would go. On the bridge before these
//! fixes every one of them failed.

mod harness;

use std::time::Duration;

use harness::{SlowCalendar, WAIT, b64, delta, sid, start_with};
use phone_core::store::PageRequest;
use phone_core::{PriceTable, StreamEnd, Usage};
use phone_test_support::realtime_server::{Mode, Response, Status};
use serde_json::json;

/// Defect 1: the socket's model is the URL's; `session.update` must not name another, and the
/// call is priced on the model the session reports.
#[tokio::test]
async fn session_update_names_no_model_and_the_call_is_priced_on_the_sessions_model() {
    // The URL says gpt-realtime; the configured model says otherwise (as an old configuration
    // could): the strict double refuses a session.update that names a different model.
    let host = start_with(Mode::Strict, |c| c.model = "gpt-realtime-2.1".into()).await;
    let mut twilio = host.connect_call(&sid(60)).await;
    let update = &host.openai.wait_for("session.update", 1, WAIT).await[0];
    assert!(update["session"].get("model").is_none(), "{update}");
    let usage = json!({"total_tokens": 1100, "input_tokens": 1000, "output_tokens": 100,
        "input_token_details": {"text_tokens": 1000, "audio_tokens": 0},
        "output_token_details": {"text_tokens": 100, "audio_tokens": 0}});
    host.openai
        .respond(Response::new().usage(usage).status(Status::Completed))
        .await;
    twilio.stop(&sid(60)).await;
    host.wait_no_active_calls().await;
    let call = host.call_row(&sid(60)).await;
    let spent = Usage {
        input_text_tokens: 1000,
        output_text_tokens: 100,
        responses: 1,
        ..Usage::default()
    };
    let on_session_model = PriceTable::default().cost("gpt-realtime", &spent).unwrap();
    let on_configured = PriceTable::default()
        .cost("gpt-realtime-2.1", &spent)
        .unwrap();
    assert_ne!(on_session_model, on_configured);
    assert_eq!(call.cost, on_session_model, "priced on the session's model");
    host.assert_no_refusals().await;
    host.openai.assert_client_events_valid().await;
}

/// Defect 2: a refused `session.update` ends the call at once (the caller hears the fallback
/// TwiML), and audio of the unconfigured session never reaches Twilio.
#[tokio::test]
async fn a_refused_session_ends_the_call_at_once_and_its_audio_never_reaches_twilio() {
    let host = start_with(Mode::Strict, |c| c.voice = String::new()).await;
    let mut twilio = host.connect_call(&sid(61)).await;
    host.openai.wait_for_sent("error", 1, WAIT).await;
    host.openai
        .send(delta("resp_default", "item_default", &[0x00; 960]))
        .await;
    let started = tokio::time::Instant::now();
    while let Some(message) = twilio.recv(WAIT).await {
        assert_ne!(
            message["event"], "media",
            "unconfigured audio reached the caller"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the call ended at the refusal, not at a timeout"
    );
    host.wait_no_active_calls().await;
    assert_eq!(
        host.call_row(&sid(61)).await.stream_end,
        Some(StreamEnd::SessionNotConfigured),
        "recorded before the close, so the <Connect action> plays the apology and fallback"
    );
}

/// Defect 2: a session never confirmed ends the call after the session timeout, with no
/// audio forwarded meanwhile.
#[tokio::test]
async fn an_unconfirmed_session_ends_the_call_after_the_session_timeout() {
    let host = start_with(Mode::Strict, |c| {
        c.session_timeout = Duration::from_millis(400)
    })
    .await;
    host.openai.delay_session_updated(Duration::from_secs(5));
    let mut twilio = host.connect_call(&sid(62)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    host.openai
        .send(delta("resp_default", "item_default", &[0x00; 960]))
        .await;
    let started = tokio::time::Instant::now();
    while let Some(message) = twilio.recv(WAIT).await {
        assert_ne!(message["event"], "media");
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        host.openai.events_of("response.create").await.is_empty(),
        "nothing is asked of an unconfigured session"
    );
}

/// Defect 3: a goodbye asked for while the greeting still runs is sent after the greeting's
/// `response.done`, and the call ends only on the goodbye's own `response.done`.
#[tokio::test]
async fn a_goodbye_waits_for_the_running_response_and_ends_on_its_own_done() {
    let host = start_with(Mode::Strict, |c| c.max_call = Duration::from_millis(300)).await;
    let mut twilio = host.connect_call(&sid(63)).await;
    let greeting = host.openai.next_response().await;
    // The time limit fires while the greeting still streams.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        host.openai.events_of("response.create").await.len(),
        1,
        "no goodbye while the greeting runs (it would be refused)"
    );
    host.openai.finish(&greeting, Status::Completed).await;
    let goodbye = host.openai.next_response().await;
    assert_eq!(goodbye.purpose(), Some("goodbye"));
    assert!(goodbye.instructions().unwrap().contains("time limit"));
    // The greeting's end did not end the call: the goodbye is still to be said.
    assert!(
        twilio
            .recv_or_timeout(Duration::from_millis(200))
            .await
            .is_none()
    );
    host.openai
        .play(
            &goodbye,
            Response::new()
                .audio("item_bye", &[0x42; 480])
                .status(Status::Completed),
        )
        .await;
    let media = twilio.recv_event("media", WAIT).await;
    assert_eq!(media["media"]["payload"], b64(&[0x42; 480]));
    let mark = twilio.recv_event("mark", WAIT).await;
    twilio.mark(mark["mark"]["name"].as_str().unwrap()).await;
    twilio.expect_closed(WAIT).await;
    assert_eq!(
        host.call_row(&sid(63)).await.stream_end,
        Some(StreamEnd::MaxDuration),
        "a normal end: the <Connect action> adds nothing"
    );
    host.assert_no_refusals().await;
    host.openai.assert_client_events_valid().await;
}

/// Defect 3: the tool's follow-up, asked for while a response server VAD started is running,
/// is sent after that response, so the tool's answer is spoken.
#[tokio::test]
async fn a_follow_up_waits_for_a_response_server_vad_started() {
    let host = harness::start_with_calendar(SlowCalendar::new(Duration::from_millis(600))).await;
    let _twilio = host.connect_call(&sid(64)).await;
    host.greeting_done().await;
    let turn = host.openai.vad_turn().await.unwrap();
    host.openai
        .play(
            &turn,
            Response::new()
                .function_call("call_l1", "list_events", r#"{"day":"2026-12-03"}"#)
                .status(Status::Completed),
        )
        .await;
    // While the tool runs, the caller speaks again: server VAD answers on its own.
    let vad = host.openai.vad_turn().await.unwrap();
    host.openai
        .wait_for("conversation.item.create", 1, WAIT)
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let creates = host.openai.events_of("response.create").await.len();
    assert_eq!(creates, 1, "only the greeting: the follow-up waits");
    host.openai.finish(&vad, Status::Completed).await;
    let follow_up = host.openai.next_response().await;
    assert_eq!(follow_up.purpose(), Some("follow_up"));
    host.assert_no_refusals().await;
    host.openai.assert_client_events_valid().await;
}

/// Defect 4: with a preamble still playing while the answer streams, barge-in truncates the
/// item the caller was hearing, where they stopped hearing it, and the one queued behind it at
/// zero.
#[tokio::test]
async fn barge_in_truncates_the_item_playing_when_two_overlap_at_twilio() {
    let host = harness::start_with_tools().await;
    let mut twilio = host.connect_call(&sid(65)).await;
    host.greeting_done().await;
    let turn = host.openai.vad_turn().await.unwrap();
    host.openai
        .play(
            &turn,
            (0..6)
                .fold(Response::new(), |r, _| r.audio("item_pre", &[0x11; 800])) // "let me check", 600 ms
                .function_call("call_l2", "list_events", r#"{"day":"2026-12-03"}"#)
                .status(Status::Completed),
        )
        .await;
    let answer = host.openai.next_response().await;
    host.openai
        .play(&answer, Response::new().audio("item_ans", &[0x22; 1600]))
        .await;
    // Twilio has played 200 ms of the preamble when the caller speaks.
    let mut first_mark = None;
    let mut answer_audio = false;
    while !answer_audio {
        let message = twilio.recv(WAIT).await.unwrap();
        if message["event"] == "mark" && first_mark.is_none() {
            first_mark = Some(message["mark"]["name"].as_str().unwrap().to_owned());
        }
        answer_audio =
            message["event"] == "media" && message["media"]["payload"] == b64(&[0x22; 1600]);
    }
    let first_mark = first_mark.unwrap();
    assert!(first_mark.starts_with("item_pre:"), "{first_mark}");
    twilio.mark(&first_mark).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    host.openai.caller_starts_speaking().await;
    twilio.recv_event("clear", WAIT).await;
    let truncates = host
        .openai
        .wait_for("conversation.item.truncate", 2, WAIT)
        .await;
    let cut: Vec<(&str, u64)> = truncates
        .iter()
        .map(|t| {
            (
                t["item_id"].as_str().unwrap(),
                t["audio_end_ms"].as_u64().unwrap(),
            )
        })
        .collect();
    let heard = first_mark
        .split(':')
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        + 50;
    assert_eq!(cut, [("item_pre", heard), ("item_ans", 0)]);
    host.assert_no_refusals().await;
    host.openai.assert_client_events_valid().await;
}

/// Defect 5: the caller says "no, don't send it" while the model is still speaking: the
/// response with the `send_sms` call is cancelled, and the SMS is not sent.
#[tokio::test]
async fn a_write_tool_of_a_cancelled_response_does_not_run() {
    let host = harness::start_with_tools().await;
    let _twilio = host.connect_call(&sid(66)).await;
    host.greeting_done().await;
    let turn = host.openai.vad_turn().await.unwrap();
    host.openai
        .play(
            &turn,
            Response::new()
                .audio("item_ok", &[0x33; 800])
                .function_call(
                    "call_sms",
                    "send_sms",
                    r#"{"to":"+14155550199","body":"On my way"}"#,
                ),
        )
        .await;
    host.openai.caller_starts_speaking().await;
    let output = &host
        .openai
        .wait_for("conversation.item.create", 1, WAIT)
        .await[0];
    assert_eq!(output["item"]["call_id"], "call_sms");
    assert!(
        output["item"]["output"]
            .as_str()
            .unwrap()
            .contains("not run")
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let records = host
        .store
        .list_tool_calls(&format!("CALL#{}", sid(66)), &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert!(records.is_empty(), "the tool ran: {records:?}");
    host.assert_no_refusals().await;
    host.openai.assert_client_events_valid().await;
}

/// Defect 6: the out-of-band "one moment" stops when a response of the conversation starts,
/// so two voices never stream at once.
#[tokio::test]
async fn the_one_moment_notice_stops_when_the_conversation_speaks() {
    let host = harness::start_with_calendar(SlowCalendar::new(Duration::from_millis(4000))).await;
    let mut twilio = host.connect_call(&sid(67)).await;
    host.greeting_done().await;
    let turn = host.openai.vad_turn().await.unwrap();
    host.openai
        .play(
            &turn,
            Response::new()
                .function_call("call_s2", "list_events", r#"{"day":"2026-12-03"}"#)
                .status(Status::Completed),
        )
        .await;
    let notice = host.openai.next_response().await;
    assert!(notice.out_of_band);
    host.openai
        .play(&notice, Response::new().audio("item_n", &[0x44; 800]))
        .await;
    twilio.recv_event("media", WAIT).await;
    // The caller speaks; server VAD starts a response of the conversation.
    host.openai.caller_starts_speaking().await;
    let cancels = host.openai.wait_for("response.cancel", 1, WAIT).await;
    assert_eq!(cancels[0]["response_id"], notice.id.as_str());
    let vad = host.openai.caller_stops_speaking().await.unwrap();
    host.openai
        .play(&vad, Response::new().audio("item_v", &[0x55; 160]))
        .await;
    let next = twilio.recv_event("media", WAIT).await;
    assert_eq!(
        next["media"]["payload"],
        b64(&[0x55; 160]),
        "nothing more of the notice reaches the caller"
    );
    host.assert_no_refusals().await;
}

/// Defect 7: a server that accepts and closes at once gets the call's reconnect budget, not
/// endless billed sessions.
#[tokio::test]
async fn the_reconnect_budget_is_spent_over_the_whole_call() {
    let host = start_with(Mode::Strict, |c| c.reconnect_attempts = 3).await;
    let mut twilio = host.connect_call(&sid(68)).await;
    host.greeting_done().await;
    host.openai.close_every_connection_at_once();
    host.openai.drop_connection().await;
    twilio.expect_closed(Duration::from_secs(10)).await;
    assert_eq!(
        host.openai.connections_opened(),
        4,
        "the first connection and three attempts, no more"
    );
    host.wait_no_active_calls().await;
}

/// Defect 7: while OpenAI is away, Twilio's socket is still read: a hang-up ends the call at
/// once instead of after the reconnect attempts.
#[tokio::test]
async fn a_hang_up_while_reconnecting_ends_the_call_at_once() {
    let host = start_with(Mode::Strict, |c| {
        c.reconnect_attempts = 3;
        c.openai_connect_timeout = Duration::from_secs(5);
    })
    .await;
    let mut twilio = host.connect_call(&sid(69)).await;
    host.greeting_done().await;
    host.openai.close_every_connection_at_once();
    host.openai.drop_connection().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let hung_up = tokio::time::Instant::now();
    twilio.stop(&sid(69)).await;
    host.wait_no_active_calls().await;
    assert!(
        hung_up.elapsed() < Duration::from_millis(300),
        "hang-up handled in {:?}",
        hung_up.elapsed()
    );
}

/// A guest near their daily minutes: the call row's `max_call_secs` shortens the call (the
/// goodbye comes at that limit, not at `MAX_CALL_SECS`).
#[tokio::test]
async fn a_guests_call_ends_at_the_minutes_left_on_its_row() {
    let host = start_with(Mode::Strict, |c| c.max_call = Duration::from_secs(60)).await;
    let _twilio = host
        .connect_call_with(&sid(70), |call| {
            call.access = phone_core::AccessLevel::Guest;
            call.max_call_secs = Some(1);
        })
        .await;
    host.greeting_done().await;
    let goodbye = host.openai.next_response().await;
    assert_eq!(goodbye.purpose(), Some("goodbye"));
    assert!(goodbye.instructions().unwrap().contains("time limit"));
}
