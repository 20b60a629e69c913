//! The GPT-Live adapter's translation, frame by frame.

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;

fn engine() -> LiveEngine {
    let mut config = crate::config::minimal_for_tests();
    config.model = "gpt-live-1.1".into();
    LiveEngine::new(
        Arc::new(config),
        Arc::new(vec![json!({"type": "function", "name": "create_event"})]),
    )
}

fn feed(engine: &mut LiveEngine, event: Value) -> EngineOutput {
    let mut out = EngineOutput::default();
    let text = event.to_string();
    let _ = engine.parse(&text, &mut out);
    out
}

fn sent(out: &EngineOutput) -> Vec<Value> {
    out.send
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect()
}

fn configure(e: &mut LiveEngine) -> Value {
    let mut out = EngineOutput::default();
    e.command(
        EngineCommand::Configure {
            instructions: "Be brief".into(),
            history: vec![(Role::Caller, "Hi".into())],
        },
        &mut out,
    );
    sent(&out).remove(0)
}

#[test]
fn the_session_starts_in_mulaw_with_our_tools_delegated_and_is_ready_on_started() {
    let mut e = engine();
    let start = configure(&mut e);
    assert_eq!(start["type"], "session.start");
    assert_eq!(start["event_id"], "start-1");
    assert_eq!(start["session"]["model"], "gpt-live-1.1");
    assert_eq!(
        start["session"]["audio"]["format"],
        json!({"type": "audio/pcmu", "rate": 8000})
    );
    assert_eq!(
        start["session"]["delegation"]["responses"]["tools"][0]["name"],
        "create_event"
    );
    let out = feed(
        &mut e,
        json!({"type": "session.started", "event_id": "e1", "client_event_id": "start-1",
               "session": {"id": "live_1", "model": "gpt-live-1.1", "status": "active"}}),
    );
    assert_eq!(
        out.events,
        [
            EngineEvent::SessionOpened {
                model: Some("gpt-live-1.1".into())
            },
            EngineEvent::SessionReady
        ]
    );
    let refused = feed(
        &mut e,
        json!({"type": "error", "event_id": "e2", "client_event_id": "start-1",
               "error": {"type": "invalid_request_error", "code": "unknown_parameter", "message": "no"}}),
    );
    assert!(matches!(
        refused.events.as_slice(),
        [EngineEvent::SessionRefused { .. }]
    ));
}

fn delegated(delegation: &str, event: Value) -> Value {
    json!({"type": "response.event", "event_id": "e", "delegation_id": delegation, "event": event})
}

#[test]
fn a_delegated_call_runs_when_its_backend_response_completes_and_not_when_it_fails() {
    let mut e = engine();
    configure(&mut e);
    let call = json!({"type": "response.output_item.done", "output_index": 0, "item": {
        "type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "create_event",
        "arguments": "{}", "status": "completed"}});
    assert!(
        feed(&mut e, delegated("dlg_1", call.clone()))
            .events
            .is_empty()
    );
    let usage = json!({"input_tokens": 100, "input_tokens_details": {"cached_tokens": 20},
        "output_tokens": 10, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 110});
    let out = feed(
        &mut e,
        delegated(
            "dlg_1",
            json!({"type": "response.completed", "response": {"id": "resp_1", "usage": usage}}),
        ),
    );
    assert!(
        matches!(&out.events[0], EngineEvent::Usage(u) if u.input_text_tokens == 100 && u.cached_text_tokens == 20)
    );
    assert!(
        matches!(&out.events[1], EngineEvent::ToolCalls { turn, calls } if turn == "dlg_1" && calls.len() == 1)
    );

    feed(&mut e, delegated("dlg_2", call));
    let out = feed(
        &mut e,
        delegated(
            "dlg_2",
            json!({"type": "response.failed", "response": {"id": "resp_2"}}),
        ),
    );
    assert!(
        out.events.is_empty(),
        "the service discards a failed response's calls"
    );
    assert!(out.send.is_empty(), "and no output may be sent for them");
}

#[test]
fn billed_seconds_are_cumulative_and_reported_as_increments() {
    let mut e = engine();
    configure(&mut e);
    let usage =
        |s: f64| json!({"type": "session.usage.updated", "event_id": "e", "usage": {"seconds": s}});
    let first = feed(&mut e, usage(15.0));
    let second = feed(&mut e, usage(30.5));
    let same = feed(&mut e, usage(30.5));
    let billed = |out: &EngineOutput| match out.events.as_slice() {
        [EngineEvent::Usage(u)] => u.billed_ms,
        _ => 0,
    };
    assert_eq!(
        (billed(&first), billed(&second), billed(&same)),
        (15_000, 15_500, 0)
    );
}

#[test]
fn a_goodbye_is_said_once_the_assistant_spoke_and_went_quiet_on_the_track() {
    let mut e = engine();
    configure(&mut e);
    let mut out = EngineOutput::default();
    e.command(
        EngineCommand::Say {
            purpose: Purpose::Goodbye,
            instructions: Some("Say goodbye".into()),
        },
        &mut out,
    );
    assert_eq!(sent(&out)[0]["type"], "session.commentary.append");
    let chunk = json!({"type": "session.output_audio.delta", "delta": "/".repeat(1068)}); // 100 ms
    feed(&mut e, chunk.clone());
    feed(
        &mut e,
        json!({"type": "session.output_transcript.delta", "event_id": "e", "delta": "Bye!",
               "start_ms": 100, "end_ms": 600}),
    );
    for _ in 0..11 {
        let out = feed(&mut e, chunk.clone());
        assert!(out.events.is_empty(), "not quiet long enough yet");
    }
    let out = feed(&mut e, chunk);
    assert_eq!(
        out.events,
        [
            EngineEvent::AudioDone {
                item_id: "live".into()
            },
            EngineEvent::Spoke(Purpose::Goodbye)
        ]
    );
}

#[test]
fn caller_speech_needs_no_truncate_and_the_session_closes_with_session_close() {
    let mut e = engine();
    configure(&mut e);
    let mut out = EngineOutput::default();
    e.command(
        EngineCommand::Interrupted {
            cuts: vec![],
            active: vec![],
        },
        &mut out,
    );
    assert!(out.send.is_empty());
    let close: Value = serde_json::from_str(&e.close().unwrap()).unwrap();
    assert_eq!(close["type"], "session.close");
}
