//! The Realtime adapter's translation, frame by frame.

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::engine::Purpose;
use crate::machine::playback::Cut;

fn engine() -> RealtimeEngine {
    RealtimeEngine::new(
        Arc::new(crate::config::minimal_for_tests()),
        Arc::new(Vec::new()),
    )
}

fn feed(engine: &mut RealtimeEngine, event: Value) -> EngineOutput {
    let mut out = EngineOutput::default();
    let text = event.to_string();
    assert!(engine.parse(&text, &mut out).is_none());
    out
}

fn command(engine: &mut RealtimeEngine, command: EngineCommand) -> Vec<Value> {
    let mut out = EngineOutput::default();
    engine.command(command, &mut out);
    out.send
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect()
}

fn say(purpose: Purpose) -> EngineCommand {
    EngineCommand::Say {
        purpose,
        instructions: None,
    }
}

fn response(kind: &str, id: &str, status: &str, metadata: Value, conversation: Value) -> Value {
    json!({"type": kind, "response": {"id": id, "status": status, "metadata": metadata,
           "conversation_id": conversation}})
}

fn function_call(response_id: &str, call_id: &str) -> Value {
    json!({"type": "response.function_call_arguments.done", "response_id": response_id,
           "item_id": "item_fc", "output_index": 0, "call_id": call_id, "name": "send_sms",
           "arguments": "{\"to\":\"+14155550123\",\"body\":\"hi\"}"})
}

#[test]
fn the_session_update_is_tagged_and_its_refusal_recognised() {
    let mut e = engine();
    let sent = command(
        &mut e,
        EngineCommand::Configure {
            instructions: "Be brief".into(),
            history: vec![(Role::Caller, "Hi".into())],
        },
    );
    assert_eq!(sent[0]["type"], "session.update");
    assert_eq!(sent[0]["event_id"], "session-1");
    assert_eq!(sent[1]["type"], "conversation.item.create");
    let out = feed(
        &mut e,
        json!({"type": "error", "error": {"type": "invalid_request_error",
            "code": "invalid_value", "message": "bad", "event_id": "session-1"}}),
    );
    assert!(matches!(
        out.events.as_slice(),
        [EngineEvent::SessionRefused { .. }]
    ));
}

#[test]
fn calls_of_a_cancelled_response_are_answered_not_run() {
    let mut e = engine();
    feed(&mut e, function_call("resp_1", "call_sms"));
    // The caller said "no, don't send it": server VAD cancelled the response.
    let out = feed(
        &mut e,
        response(
            "response.done",
            "resp_1",
            "cancelled",
            Value::Null,
            json!("conv_1"),
        ),
    );
    assert!(
        !out.events
            .iter()
            .any(|e| matches!(e, EngineEvent::ToolCalls { .. })),
        "nothing runs"
    );
    let sent: Value = serde_json::from_str(&out.send[0]).unwrap();
    assert_eq!(sent["item"]["type"], "function_call_output");
    assert_eq!(sent["item"]["call_id"], "call_sms");
    assert!(sent["item"]["output"].as_str().unwrap().contains("not run"));
}

#[test]
fn calls_of_a_completed_response_run_as_one_turn() {
    let mut e = engine();
    feed(&mut e, function_call("resp_1", "call_a"));
    feed(&mut e, function_call("resp_1", "call_b"));
    let out = feed(
        &mut e,
        response(
            "response.done",
            "resp_1",
            "completed",
            Value::Null,
            json!("conv_1"),
        ),
    );
    let [EngineEvent::ToolCalls { turn, calls }] = out.events.as_slice() else {
        panic!("{:?}", out.events)
    };
    assert_eq!(turn, "resp_1");
    assert_eq!(calls.len(), 2);
    assert!(out.send.is_empty());
}

#[test]
fn a_follow_up_refused_for_an_active_response_is_sent_after_that_response() {
    let mut e = engine();
    let sent = command(&mut e, say(Purpose::FollowUp));
    let id = sent[0]["event_id"].as_str().unwrap().to_owned();
    feed(
        &mut e,
        response(
            "response.created",
            "resp_vad",
            "in_progress",
            Value::Null,
            json!("conv_1"),
        ),
    );
    let refused = feed(
        &mut e,
        json!({"type": "error", "error": {"type": "invalid_request_error",
            "code": "conversation_already_has_active_response", "message": "busy",
            "event_id": id}}),
    );
    assert!(refused.send.is_empty(), "not while the VAD response runs");
    assert!(refused.events.is_empty(), "not given up either");
    let done = feed(
        &mut e,
        response(
            "response.done",
            "resp_vad",
            "completed",
            Value::Null,
            json!("conv_1"),
        ),
    );
    let again: Value = serde_json::from_str(&done.send[0]).unwrap();
    assert_eq!(again["type"], "response.create");
    assert_eq!(again["response"]["metadata"]["purpose"], "follow_up");
    assert!(
        !done.events.contains(&EngineEvent::Spoke(Purpose::FollowUp)),
        "the VAD response's end is not the follow-up's"
    );
}

#[test]
fn the_notice_stops_when_the_conversation_speaks() {
    let mut e = engine();
    let sent = command(&mut e, say(Purpose::ToolWait));
    assert_eq!(sent[0]["response"]["conversation"], "none");
    let id = sent[0]["event_id"].as_str().unwrap().to_owned();
    feed(
        &mut e,
        response(
            "response.created",
            "resp_n",
            "in_progress",
            json!({"purpose": "tool_wait", "request": id}),
            Value::Null,
        ),
    );
    let mut out = EngineOutput::default();
    let delta = json!({"type": "response.output_audio.delta", "response_id": "resp_n",
        "item_id": "item_n", "output_index": 0, "content_index": 0, "delta": "AAAA"})
    .to_string();
    let audio = e.parse(&delta, &mut out).unwrap();
    assert!(
        !audio.in_conversation,
        "nothing to truncate for an out-of-band item"
    );
    let out = feed(
        &mut e,
        response(
            "response.created",
            "resp_vad",
            "in_progress",
            Value::Null,
            json!("conv_1"),
        ),
    );
    assert_eq!(
        out.events,
        [EngineEvent::DropAudio {
            response_id: "resp_n".into()
        }]
    );
    let cancel: Value = serde_json::from_str(&out.send[0]).unwrap();
    assert_eq!(
        cancel,
        json!({"type": "response.cancel", "response_id": "resp_n"})
    );
}

#[test]
fn a_goodbye_is_spoken_when_its_own_response_is_done() {
    let mut e = engine();
    let sent = command(&mut e, say(Purpose::Goodbye));
    let id = sent[0]["event_id"].as_str().unwrap().to_owned();
    let tags = json!({"purpose": "goodbye", "request": id});
    feed(
        &mut e,
        response(
            "response.created",
            "resp_b",
            "in_progress",
            tags.clone(),
            json!("conv_1"),
        ),
    );
    let out = feed(
        &mut e,
        response(
            "response.done",
            "resp_b",
            "completed",
            tags,
            json!("conv_1"),
        ),
    );
    assert_eq!(out.events, [EngineEvent::Spoke(Purpose::Goodbye)]);
}

#[test]
fn an_interruption_truncates_and_cancels_only_what_the_server_does_not() {
    let mut e = engine();
    let sent = command(
        &mut e,
        EngineCommand::Interrupted {
            cuts: vec![Cut {
                item_id: "item_a".into(),
                content_index: 0,
                audio_end_ms: 350,
            }],
            active: vec!["resp_vad".into()],
        },
    );
    assert_eq!(
        sent,
        [
            json!({"type": "conversation.item.truncate", "item_id": "item_a",
                "content_index": 0, "audio_end_ms": 350})
        ],
        "server VAD's interrupt_response cancels the conversation's response itself"
    );
}
