//! A call through the GPT-Live engine (`VOICE_ENGINE=live`) on the strict Live double: the
//! session starts in μ-law with our tools delegated, audio passes both ways untouched, a
//! delegated tool call runs through the same dispatcher and is continued once, the call is
//! priced per second, and it closes with `session.close`.

mod harness;

use harness::{WAIT, b64, sid};
use phone_test_support::live_server::LiveTestServer;
use serde_json::json;

#[tokio::test]
async fn a_call_runs_on_gpt_live_with_a_delegated_tool_and_closes_cleanly() {
    let live = LiveTestServer::start().await;
    let host = harness::start_live(live.url()).await;
    let mut twilio = host.connect_call(&sid(90)).await;
    let start = &live.wait_for("session.start", 1, WAIT).await[0];
    assert_eq!(start["session"]["model"], "gpt-live-1.1");
    assert_eq!(
        start["session"]["audio"]["format"],
        json!({"type": "audio/pcmu", "rate": 8000})
    );
    let tools: Vec<&str> = start["session"]["delegation"]["responses"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(tools.contains(&"create_event"), "{tools:?}");
    // The greeting is asked as commentary once the session has started.
    let greeting = &live.wait_for("session.commentary.append", 1, WAIT).await[0];
    assert!(
        greeting["content"]
            .as_str()
            .unwrap()
            .contains("Hello from the test line")
    );

    // Caller audio goes in untouched (the double paces its output on it); output comes back.
    for i in 0..10u8 {
        twilio.media(&b64(&[0x70 + i; 160])).await;
    }
    live.speak(vec![0x2a; 800]).await;
    for i in 0..10u8 {
        twilio.media(&b64(&[0x10 + i; 160])).await;
    }
    let appended = live.wait_for("session.input_audio.append", 20, WAIT).await;
    assert_eq!(appended[0]["audio"], b64(&[0x70; 160]));
    let media = twilio.recv_event("media", WAIT).await;
    assert!(media["media"]["payload"].as_str().is_some());

    // A delegated call: run by our dispatcher, answered, continued with one response.create.
    live.call_tool(
        "create_event",
        &json!({"title": "Dentist", "start": "2026-12-03T15:00", "duration_minutes": 30}),
    )
    .await;
    let output = &live.wait_for("response.item.create", 1, WAIT).await[0];
    assert_eq!(output["item"]["type"], "function_call_output");
    assert!(
        output["item"]["output"]
            .as_str()
            .unwrap()
            .contains("Dentist")
    );
    live.wait_for("response.create", 1, WAIT).await;

    twilio.stop(&sid(90)).await;
    live.wait_for("session.close", 1, WAIT).await;
    host.wait_no_active_calls().await;
    let call = host.call_row(&sid(90)).await;
    assert!(
        call.usage.billed_ms > 0 || call.usage.responses > 0,
        "{:?}",
        call.usage
    );
    assert!(
        live.errors_sent().await.is_empty(),
        "{:?}",
        live.errors_sent().await
    );
    live.assert_client_events_valid().await;
}

/// GPT-Live's session clock runs on input audio: when Twilio's frames stop, the bridge keeps
/// appending 20 ms frames of silence.
#[tokio::test]
async fn a_gap_in_the_callers_frames_is_filled_with_silence() {
    let live = LiveTestServer::start().await;
    let host = harness::start_live(live.url()).await;
    let _twilio = host.connect_call(&sid(91)).await;
    live.wait_for("session.commentary.append", 1, WAIT).await;
    // Twilio sends nothing for a while.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let appended = live.events_of("session.input_audio.append").await;
    assert!(appended.len() >= 15, "{} frames appended", appended.len());
    assert!(
        appended.iter().all(|a| a["audio"] == b64(&[0xFF; 160])),
        "only silence was appended"
    );
}
