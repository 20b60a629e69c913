//! Every client event we send, checked against the official `openai` Python package's Realtime
//! GA types (`phone_test_support::openai_oracle`). Skipped loudly when the package is not
//! installed; fails instead when `CI` is set, so CI cannot silently lose the check.

use phone_realtime::client;
use phone_realtime::session::{SessionConfig, TurnDetection};
use phone_test_support::openai_oracle as oracle;
use serde_json::json;

fn session(
    turn_detection: TurnDetection,
    transcription_model: Option<&str>,
    reasoning_effort: Option<&str>,
) -> String {
    SessionConfig {
        voice: "marin".into(),
        instructions: "You answer the phone.".into(),
        turn_detection,
        transcription_model: transcription_model.map(String::from),
        tools: vec![json!({"type": "function", "name": "create_event",
            "description": "Books an event.",
            "parameters": {"type": "object", "properties": {"title": {"type": "string"}},
                           "required": ["title"]}})],
        reasoning_effort: reasoning_effort.map(String::from),
    }
    .to_event("session-1")
}

fn every_client_event() -> Vec<String> {
    vec![
        session(
            TurnDetection::default(),
            Some("gpt-transcribe"),
            Some("low"),
        ),
        session(
            TurnDetection::ServerVad {
                threshold: 0.6,
                prefix_padding_ms: 200,
                silence_duration_ms: 400,
                idle_timeout_ms: Some(8000),
            },
            None,
            Some("xhigh"),
        ),
        session(
            TurnDetection::SemanticVad {
                eagerness: "low".into(),
            },
            Some("gpt-live-transcribe"),
            None,
        ),
        client::append_audio("f39/fn5+fX19fA=="),
        client::input_audio_commit(),
        client::input_audio_clear(),
        client::user_text("Book lunch with Ana."),
        client::assistant_text("Done, lunch is booked."),
        client::function_call_output("call_1", &json!({"ok": true})),
        client::response_create("rc-1", "follow_up", None),
        client::response_create("rc-2", "goodbye", Some("Say goodbye.")),
        client::tool_wait_notice("rc-3"),
        client::response_cancel(None),
        client::response_cancel(Some("resp_1")),
        client::truncate("item_1", 0, 1500),
        client::item_delete("item_1"),
    ]
}

#[test]
fn every_client_event_validates_against_the_openai_python_types() {
    oracle::assert_lines_valid(oracle::Union::Client, &every_client_event());
}
