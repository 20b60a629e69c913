//! The call core with the keypad: key presses in, the caller's entry to the engine; keys the
//! assistant presses out to Twilio.

use std::sync::Arc;
use std::time::Duration;

use phone_core::keypad::{Key, KeySequence};
use phone_core::tools::{CallEffect, ToolOutcome};
use serde_json::json;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::*;
use crate::engine::{EngineEvent, ToolCall};

fn core() -> (CallCore, Instant) {
    let mut config = crate::config::minimal_for_tests();
    config.keypad.timeout = Duration::from_secs(3);
    config.keypad.max_keys = 6;
    let now = Instant::now();
    let mut core = CallCore::new(Arc::new(config), "Be brief.".into(), 100, now);
    core.start(now);
    (core, now)
}

fn talking() -> (CallCore, Instant) {
    let (mut core, now) = core();
    core.engine_event(EngineEvent::SessionReady, now, OffsetDateTime::UNIX_EPOCH);
    core.take_actions();
    (core, now)
}

fn press(core: &mut CallCore, keys: &str, now: Instant) {
    for c in keys.chars() {
        core.caller_pressed(Key::from_char(c).unwrap(), now, OffsetDateTime::UNIX_EPOCH);
    }
}

fn caller_texts(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Engine(EngineCommand::CallerText { text }) => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn keys_up_to_pound_are_one_caller_input_recorded_as_their_turn() {
    let (mut core, now) = talking();
    press(&mut core, "12", now);
    assert!(!core.has_actions(), "nothing before the entry is complete");
    assert!(core.keypad_deadline().is_some());
    press(&mut core, "34#", now);
    let actions = core.take_actions();
    assert_eq!(
        caller_texts(&actions),
        ["The caller pressed 1 2 3 4 # on their phone's keypad."]
    );
    let recorded: Vec<&str> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Record(turn) => Some(turn.text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(recorded, ["[keypad] 1234#"]);
    assert_eq!(core.keypad_deadline(), None);
}

#[test]
fn an_entry_ends_after_the_timeout_or_at_the_key_limit() {
    let (mut core, now) = talking();
    press(&mut core, "7", now);
    let due = core.keypad_deadline().unwrap();
    assert_eq!(due, now + Duration::from_secs(3));
    core.keypad_timer(due - Duration::from_millis(1), OffsetDateTime::UNIX_EPOCH);
    assert!(!core.has_actions(), "not yet");
    core.keypad_timer(due, OffsetDateTime::UNIX_EPOCH);
    assert_eq!(
        caller_texts(&core.take_actions()),
        ["The caller pressed 7 on their phone's keypad."]
    );
    press(&mut core, "123456", now);
    assert_eq!(
        caller_texts(&core.take_actions()),
        ["The caller pressed 1 2 3 4 5 6 on their phone's keypad."]
    );
}

#[test]
fn keys_with_no_session_to_hear_them_are_dropped() {
    let (mut core, now) = core();
    core.take_actions();
    press(&mut core, "1#", now);
    assert!(caller_texts(&core.take_actions()).is_empty());
}

#[test]
fn press_digits_plays_its_keys_now_and_the_call_goes_on() {
    let (mut core, now) = talking();
    let call = ToolCall {
        call_id: "c1".into(),
        name: "press_digits".into(),
        arguments: r#"{"digits":"1"}"#.into(),
    };
    core.engine_event(
        EngineEvent::ToolCalls {
            turn: "r1".into(),
            calls: vec![call],
        },
        now,
        OffsetDateTime::UNIX_EPOCH,
    );
    core.take_actions();
    let keys = KeySequence::parse("1w2").unwrap();
    let mut outcome = ToolOutcome::error("unused");
    outcome.is_error = false;
    outcome.result = json!({"ok": true});
    outcome.effect = Some(CallEffect::PressKeys(keys.clone()));
    core.tool_done("r1", "c1".into(), outcome, now);
    let actions = core.take_actions();
    assert_eq!(actions[0], Action::PressKeys(keys), "{actions:?}");
    assert!(matches!(
        actions[1],
        Action::Engine(EngineCommand::ToolOutput { .. })
    ));
    assert!(matches!(
        actions[2],
        Action::Engine(EngineCommand::Say {
            purpose: Purpose::FollowUp,
            ..
        })
    ));
    assert!(!core.phase().ending());
    assert_eq!(core.take_effect(), None, "nothing left for after the call");
}
