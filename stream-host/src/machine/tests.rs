//! The call core's behaviour, event by event, without sockets.

use std::sync::Arc;
use std::time::Duration;

use phone_core::tools::{CallEffect, ToolOutcome};
use phone_core::{Role, Usage};
use serde_json::json;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::*;
use crate::engine::{EngineAudio, EngineEvent};

fn config() -> StreamHostConfig {
    let mut host = crate::config::minimal_for_tests();
    host.model = "gpt-realtime".into();
    host.greeting = "Hello".into();
    host.idle_timeout = Duration::from_secs(30);
    host.reconnect_attempts = 2;
    host.max_cost_nano_usd = None;
    host
}

fn core_with(tweak: impl FnOnce(&mut StreamHostConfig)) -> (CallCore, Instant) {
    let mut config = config();
    tweak(&mut config);
    let now = Instant::now();
    let mut core = CallCore::new(Arc::new(config), "Be brief.".into(), 100, now);
    core.start(now);
    (core, now)
}

/// A core whose session is configured, with its start-up actions taken.
fn talking() -> (CallCore, Instant) {
    let (mut core, now) = core_with(|_| {});
    core.engine_event(EngineEvent::SessionReady, now, wall());
    core.take_actions();
    (core, now)
}

fn wall() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH
}

fn audio<'a>(response: &'a str, item: &'a str, bytes: usize) -> EngineAudio<'a> {
    EngineAudio {
        payload: "A".repeat(bytes * 4 / 3).into(),
        response_id: response.into(),
        item_id: item.into(),
        content_index: 0,
        in_conversation: true,
    }
}

fn said(actions: &[Action]) -> Vec<Purpose> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Engine(EngineCommand::Say { purpose, .. }) => Some(*purpose),
            _ => None,
        })
        .collect()
}

fn ended(actions: &[Action]) -> Option<EndReason> {
    actions.iter().find_map(|a| match a {
        Action::End(r) => Some(*r),
        _ => None,
    })
}

#[test]
fn the_first_action_configures_the_session_and_no_audio_flows_before_it_is_ready() {
    let (mut core, now) = core_with(|_| {});
    let actions = core.take_actions();
    assert!(matches!(
        actions.as_slice(),
        [Action::Engine(EngineCommand::Configure { history, .. })] if history.is_empty()
    ));
    assert!(!core.audio_flows());
    assert_eq!(
        core.engine_audio(&audio("r0", "i0", 800), now),
        None,
        "audio of an unconfigured session (PCM16 at 24 kHz) must never reach Twilio"
    );
    core.engine_event(EngineEvent::SessionReady, now, wall());
    let actions = core.take_actions();
    assert_eq!(
        actions[0],
        Action::FlushCallerAudio,
        "queued caller audio first"
    );
    assert_eq!(said(&actions), [Purpose::Greeting]);
    assert!(core.engine_audio(&audio("r1", "i1", 800), now).is_some());
}

#[test]
fn a_refused_or_unconfirmed_session_ends_the_call_on_the_fallback_path() {
    let (mut core, now) = core_with(|_| {});
    core.engine_event(
        EngineEvent::SessionRefused {
            reason: "model cannot change".into(),
        },
        now,
        wall(),
    );
    assert_eq!(
        ended(&core.take_actions()),
        Some(EndReason::SessionNotConfigured)
    );

    let (mut core, now) = core_with(|_| {});
    core.take_actions();
    core.timer(Timer::SessionSetup, now + Duration::from_secs(1));
    assert_eq!(ended(&core.take_actions()), None, "not due yet");
    let deadline = core.session_deadline().unwrap();
    core.timer(Timer::SessionSetup, deadline);
    assert_eq!(
        ended(&core.take_actions()),
        Some(EndReason::SessionNotConfigured)
    );
}

#[test]
fn a_limit_during_set_up_ends_at_once_without_a_goodbye() {
    let (mut core, now) = core_with(|_| {});
    core.take_actions();
    core.timer(Timer::Drain, now);
    let actions = core.take_actions();
    assert!(said(&actions).is_empty());
    assert_eq!(ended(&actions), Some(EndReason::Drain));
}

#[test]
fn the_reconnect_budget_is_spent_over_the_whole_call() {
    let (mut core, now) = talking();
    for _ in 0..2 {
        core.engine_lost();
        let actions = core.take_actions();
        assert!(matches!(actions.as_slice(), [Action::Reconnect(_)]));
        assert!(
            !core.audio_flows(),
            "caller audio is queued while reconnecting"
        );
        core.engine_connected(now);
        core.engine_event(EngineEvent::SessionReady, now, wall());
        let actions = core.take_actions();
        assert_eq!(said(&actions), [Purpose::Apology], "no second greeting");
    }
    // The server accepted and closed each time: the budget does not refill.
    core.engine_lost();
    assert_eq!(ended(&core.take_actions()), Some(EndReason::OpenAiLost));
}

#[test]
fn a_reconnected_session_is_seeded_with_the_conversation() {
    let (mut core, now) = talking();
    core.engine_event(
        EngineEvent::Transcript {
            role: Role::Caller,
            item_id: None,
            text: "Book lunch".into(),
        },
        now,
        wall(),
    );
    core.take_actions();
    core.engine_lost();
    core.take_actions();
    core.engine_connected(now);
    let actions = core.take_actions();
    assert!(matches!(
        actions.as_slice(),
        [Action::Engine(EngineCommand::Configure { history, .. })]
            if history == &[(Role::Caller, "Book lunch".to_owned())]
    ));
}

#[test]
fn a_goodbye_ends_the_call_only_when_its_own_words_are_said_and_played() {
    let (mut core, now) = talking();
    let later = now + Duration::from_secs(31);
    assert_eq!(core.idle_check(later), None, "silent too long");
    let actions = core.take_actions();
    assert_eq!(said(&actions), [Purpose::Goodbye]);
    let mark = core
        .engine_audio(&audio("r_bye", "i_bye", 960), later)
        .unwrap()
        .unwrap();
    core.engine_event(EngineEvent::Spoke(Purpose::FollowUp), later, wall());
    assert_eq!(
        ended(&core.take_actions()),
        None,
        "another response's end is not the goodbye's"
    );
    core.engine_event(EngineEvent::Spoke(Purpose::Goodbye), later, wall());
    assert_eq!(ended(&core.take_actions()), None, "said, but still playing");
    core.twilio_mark(&mark);
    assert_eq!(ended(&core.take_actions()), Some(EndReason::Idle));
}

#[test]
fn a_goodbye_that_never_finishes_ends_at_its_grace() {
    let (mut core, now) = talking();
    core.timer(Timer::MaxDuration, now);
    core.take_actions();
    let deadline = core.goodbye_deadline().unwrap();
    assert_eq!(deadline, now + GOODBYE_GRACE);
    core.timer(Timer::GoodbyeGrace, deadline);
    assert_eq!(ended(&core.take_actions()), Some(EndReason::MaxDuration));
}

#[test]
fn end_call_turns_the_follow_up_into_the_goodbye() {
    let (mut core, now) = talking();
    core.engine_event(
        EngineEvent::ToolCalls {
            turn: "r1".into(),
            calls: vec![ToolCall {
                call_id: "c1".into(),
                name: "end_call".into(),
                arguments: "{}".into(),
            }],
        },
        now,
        wall(),
    );
    assert!(matches!(
        core.take_actions().as_slice(),
        [Action::RunTools { .. }]
    ));
    let mut outcome = ToolOutcome::error("unused");
    outcome.result = json!({"ok": true});
    outcome.effect = Some(CallEffect::EndCall);
    core.tool_done("r1", "c1".into(), outcome, now);
    let actions = core.take_actions();
    assert!(matches!(
        actions[0],
        Action::Engine(EngineCommand::ToolOutput { .. })
    ));
    assert_eq!(said(&actions), [Purpose::Goodbye]);
    assert!(core.phase().ending());
    core.engine_event(EngineEvent::Spoke(Purpose::Goodbye), now, wall());
    assert_eq!(
        ended(&core.take_actions()),
        Some(EndReason::AssistantHungUp)
    );
    assert_eq!(core.take_effect(), Some(CallEffect::EndCall));
}

#[test]
fn one_follow_up_after_every_answer_of_a_turn_and_tools_are_ignored_once_ending() {
    let (mut core, now) = talking();
    let call = |id: &str| ToolCall {
        call_id: id.into(),
        name: "list_events".into(),
        arguments: "{}".into(),
    };
    core.engine_event(
        EngineEvent::ToolCalls {
            turn: "r1".into(),
            calls: vec![call("a"), call("b")],
        },
        now,
        wall(),
    );
    core.take_actions();
    core.tool_done("r1", "a".into(), ToolOutcome::error("x"), now);
    assert!(said(&core.take_actions()).is_empty());
    core.tool_done("r1", "b".into(), ToolOutcome::error("y"), now);
    assert_eq!(said(&core.take_actions()), [Purpose::FollowUp]);

    core.timer(Timer::Drain, now);
    core.take_actions();
    core.engine_event(
        EngineEvent::ToolCalls {
            turn: "r2".into(),
            calls: vec![call("c")],
        },
        now,
        wall(),
    );
    assert!(
        core.take_actions().is_empty(),
        "no tool runs while the call ends"
    );
}

#[test]
fn barge_in_clears_twilio_and_truncates_what_was_heard() {
    let (mut core, now) = talking();
    core.engine_audio(&audio("r1", "i1", 1600), now);
    core.engine_event(
        EngineEvent::AudioDone {
            item_id: "i1".into(),
        },
        now,
        wall(),
    );
    core.engine_audio(&audio("r2", "i2", 1600), now);
    core.take_actions();
    core.engine_event(
        EngineEvent::CallerStartedSpeaking {
            active: vec!["r2".into()],
        },
        now,
        wall(),
    );
    let actions = core.take_actions();
    assert_eq!(actions[0], Action::ClearTwilio);
    let Action::Engine(EngineCommand::Interrupted { cuts, active }) = &actions[1] else {
        panic!("{actions:?}")
    };
    assert_eq!(active, &["r2"]);
    let heard: Vec<(&str, u64)> = cuts
        .iter()
        .map(|c| (c.item_id.as_str(), c.audio_end_ms))
        .collect();
    assert_eq!(heard, [("i1", 50), ("i2", 0)]);
    assert_eq!(
        core.engine_audio(&audio("r2", "i2", 160), now),
        None,
        "late audio of the interrupted response is dropped"
    );
}

#[test]
fn the_cost_cap_prices_the_model_the_engine_reports_and_says_goodbye() {
    let (mut core, now) = core_with(|c| {
        c.max_cost_nano_usd = Some(10_000_000);
        c.model = "not-priced".into();
    });
    core.engine_event(
        EngineEvent::SessionOpened {
            model: Some("gpt-realtime".into()),
        },
        now,
        wall(),
    );
    core.engine_event(EngineEvent::SessionReady, now, wall());
    core.take_actions();
    let costly = Usage {
        input_audio_tokens: 600,
        output_audio_tokens: 300,
        responses: 1,
        ..Usage::default()
    };
    core.engine_event(EngineEvent::Usage(costly), now, wall());
    assert_eq!(said(&core.take_actions()), [Purpose::Goodbye]);
    assert_eq!(core.phase().end_reason(), Some(EndReason::CostLimit));
    assert_eq!(core.finish().model, "gpt-realtime");
}

#[test]
fn transcripts_are_recorded_in_order_and_marked_interrupted() {
    let (mut core, now) = talking();
    core.engine_audio(&audio("r1", "i1", 1600), now);
    core.engine_event(
        EngineEvent::CallerStartedSpeaking {
            active: vec!["r1".into()],
        },
        now,
        wall(),
    );
    core.engine_event(
        EngineEvent::Transcript {
            role: Role::Assistant,
            item_id: Some("i1".into()),
            text: "Let me tell you".into(),
        },
        now,
        wall(),
    );
    let turns: Vec<_> = core
        .take_actions()
        .into_iter()
        .filter_map(|a| match a {
            Action::Record(t) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(turns.len(), 1);
    assert!(turns[0].interrupted);
    assert_eq!(turns[0].seq, 0);
}

/// An outbound call whose session is ready, waiting for the detection's verdict.
fn outbound_waiting() -> (CallCore, Instant) {
    let (mut core, now) = core_with(|_| {});
    core.expect_answer("Hi, this is Ava.".into(), "Leave a message.".into());
    core.engine_event(EngineEvent::SessionReady, now, wall());
    let actions = core.take_actions();
    assert!(said(&actions).is_empty(), "silent until the verdict");
    assert!(core.awaiting_answer() && !core.audio_flows());
    (core, now)
}

#[test]
fn an_outbound_call_greets_a_person_only_once_the_verdict_is_in() {
    let (mut core, now) = outbound_waiting();
    core.answered(phone_core::outbound::AnsweredBy::Human, now);
    let actions = core.take_actions();
    assert_eq!(said(&actions), [Purpose::Greeting]);
    assert!(core.audio_flows());
    core.answered(phone_core::outbound::AnsweredBy::MachineEndBeep, now);
    assert!(core.take_actions().is_empty(), "one verdict only");
}

#[test]
fn a_verdict_before_the_session_is_ready_is_acted_on_when_it_is() {
    let (mut core, now) = core_with(|_| {});
    core.expect_answer("Hi.".into(), "Leave a message.".into());
    core.take_actions();
    core.answered(phone_core::outbound::AnsweredBy::Unknown, now);
    assert!(core.take_actions().is_empty());
    core.engine_event(EngineEvent::SessionReady, now, wall());
    assert_eq!(said(&core.take_actions()), [Purpose::Greeting]);
}

#[test]
fn a_voicemail_is_one_message_cut_at_twenty_seconds() {
    let (mut core, now) = outbound_waiting();
    core.answered(phone_core::outbound::AnsweredBy::MachineEndBeep, now);
    let actions = core.take_actions();
    assert!(matches!(
        actions.as_slice(),
        [Action::Engine(EngineCommand::Say { purpose: Purpose::Goodbye, instructions: Some(i) })]
            if i == "Leave a message."
    ));
    let limit = Duration::from_secs(phone_core::outbound::VOICEMAIL_MAX_SECS);
    assert_eq!(core.goodbye_deadline(), Some(now + limit));
    // Still talking at 19 s: nothing ends it; at 20 s the call ends whatever is being said.
    core.timer(Timer::GoodbyeGrace, now + limit - Duration::from_secs(1));
    assert_eq!(ended(&core.take_actions()), None);
    core.timer(Timer::GoodbyeGrace, now + limit);
    assert_eq!(ended(&core.take_actions()), Some(EndReason::VoicemailLeft));
}

#[test]
fn a_fax_ends_an_outbound_call_at_once() {
    let (mut core, now) = outbound_waiting();
    core.answered(phone_core::outbound::AnsweredBy::Fax, now);
    let actions = core.take_actions();
    assert!(said(&actions).is_empty());
    assert_eq!(ended(&actions), Some(EndReason::FaxAnswered));
}
