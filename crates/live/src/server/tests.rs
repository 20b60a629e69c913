use super::*;

#[test]
fn audio_delta_borrows_its_payload() {
    let text = r#"{"type":"session.output_audio.delta","delta":"AAEC"}"#;
    match parse_server_event(text).unwrap() {
        ServerEvent::AudioDelta { delta } => {
            assert_eq!(delta, "AAEC");
            assert!(matches!(delta, Cow::Borrowed(_)));
        }
        other => panic!("{other:?}"),
    }
    // The sideband shape (with timestamps) still parses, through the general path.
    let text = r#"{"type":"session.output_audio.delta","start_ms":0,"end_ms":20,"delta":"AA=="}"#;
    assert!(matches!(
        parse_server_event(text).unwrap(),
        ServerEvent::AudioDelta { .. }
    ));
}

#[test]
fn session_started_gives_id_model_expiry_and_our_event_id() {
    let text = r#"{"type":"session.started","event_id":"evt_1","client_event_id":"start_1","session":{"id":"live_abc","model":"gpt-live-1.1","status":"active","expires_at":1790000000,"audio":{"format":{"type":"audio/pcmu","rate":8000}}}}"#;
    let ServerEvent::SessionStarted {
        session,
        client_event_id,
    } = parse_server_event(text).unwrap()
    else {
        panic!()
    };
    assert_eq!(session.id, "live_abc");
    assert_eq!(session.model, "gpt-live-1.1");
    assert_eq!(session.expires_at, Some(1_790_000_000));
    assert_eq!(client_event_id.as_deref(), Some("start_1"));
}

#[test]
fn session_closed_gives_reason_and_final_seconds() {
    let text = r#"{"type":"session.closed","event_id":"e","reason":"close_requested","session":{"id":"live_1","model":"gpt-live-1","status":"active","expires_at":1},"usage":{"seconds":101.0}}"#;
    assert_eq!(
        parse_server_event(text).unwrap(),
        ServerEvent::SessionClosed {
            reason: CloseReason::CloseRequested,
            usage: SessionUsage { seconds: 101.0 }
        }
    );
    let text = r#"{"type":"session.closed","reason":"brand_new_reason","usage":{"seconds":3}}"#;
    let ServerEvent::SessionClosed { reason, .. } = parse_server_event(text).unwrap() else {
        panic!()
    };
    assert_eq!(reason, CloseReason::Unknown);
}

#[test]
fn refused_event_id_is_found_inside_error_or_at_top_level() {
    // The SDK shape: inside `error`.
    let inner = r#"{"type":"error","event_id":"e","error":{"type":"invalid_request_error","code":"unknown_parameter","message":"no","param":"session.voice","client_event_id":"start_1"}}"#;
    // Also defined at the event's top level by the SDK; either one is enough.
    let outer = r#"{"type":"error","event_id":"e","client_event_id":"start_1","error":{"type":"invalid_request_error","code":"unknown_parameter","message":"no"}}"#;
    for text in [inner, outer] {
        let ServerEvent::Error {
            error,
            client_event_id,
        } = parse_server_event(text).unwrap()
        else {
            panic!()
        };
        assert_eq!(error.client_event_id.as_deref(), Some("start_1"), "{text}");
        assert_eq!(client_event_id.as_deref(), Some("start_1"), "{text}");
        assert_eq!(error.code.as_deref(), Some("unknown_parameter"));
    }
}

#[test]
fn transcripts_carry_text_and_timeline() {
    let text = r#"{"type":"session.input_transcript.delta","event_id":"e7","delta":"book","start_ms":1200,"end_ms":1500}"#;
    assert_eq!(
        parse_server_event(text).unwrap(),
        ServerEvent::InputTranscript(TranscriptDelta {
            event_id: Some("e7".into()),
            delta: "book".into(),
            start_ms: 1200,
            end_ms: 1500
        })
    );
    let text = r#"{"type":"session.output_transcript.delta","event_id":"e8","delta":"Sure","start_ms":1,"end_ms":2}"#;
    assert!(matches!(
        parse_server_event(text).unwrap(),
        ServerEvent::OutputTranscript(_)
    ));
}

#[test]
fn delegated_function_call_is_read_from_the_completed_item() {
    let created = r#"{"type":"session.delegation.created","event_id":"e","offset_ms":41230,"delegation":{"id":"dlg_1","target":"responses","type":"delegation","response_id":"resp_1"}}"#;
    let ServerEvent::DelegationCreated {
        delegation,
        offset_ms,
    } = parse_server_event(created).unwrap()
    else {
        panic!()
    };
    assert_eq!(delegation.id, "dlg_1");
    assert_eq!(delegation.response_id.as_deref(), Some("resp_1"));
    assert_eq!(offset_ms, 41230);
    let done = r#"{"type":"response.event","event_id":"e","delegation_id":"dlg_1","event":{"type":"response.output_item.done","output_index":0,"sequence_number":4,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"create_event","arguments":"{\"title\":\"Dentist\"}","status":"completed"}}}"#;
    let ServerEvent::Response {
        delegation_id,
        event,
    } = parse_server_event(done).unwrap()
    else {
        panic!()
    };
    assert_eq!(delegation_id.as_deref(), Some("dlg_1"));
    let call = event.function_call().unwrap();
    assert_eq!(call.call_id, "call_1");
    assert_eq!(call.name, "create_event");
    assert_eq!(call.arguments, r#"{"title":"Dentist"}"#);
}

#[test]
fn only_completed_function_calls_are_to_be_run() {
    let item = |status: &str| {
        format!(
            r#"{{"type":"response.event","event_id":"e","event":{{"type":"response.output_item.done","item":{{"type":"function_call","call_id":"c","name":"n","arguments":"{{}}"{status}}}}}}}"#
        )
    };
    let run = |text: &str| match parse_server_event(text).unwrap() {
        ServerEvent::Response { event, .. } => event.function_call().is_some(),
        other => panic!("{other:?}"),
    };
    assert!(run(&item(r#","status":"completed""#)));
    assert!(!run(&item(r#","status":"incomplete""#)));
    assert!(!run(&item(r#","status":"in_progress""#)));
    // UNCONFIRMED whether GPT-Live always sends a status: a done item without one is run.
    assert!(run(&item("")));
    // A message item is not a call.
    let message = r#"{"type":"response.event","event_id":"e","event":{"type":"response.output_item.done","item":{"type":"message","role":"assistant","content":[]}}}"#;
    assert!(!run(message));
}

#[test]
fn backend_usage_comes_with_each_terminal_response_event() {
    let usage = r#"{"input_tokens":300,"input_tokens_details":{"cached_tokens":200},"output_tokens":40,"output_tokens_details":{"reasoning_tokens":25},"total_tokens":340}"#;
    for kind in [
        "response.completed",
        "response.failed",
        "response.incomplete",
    ] {
        let text = format!(
            r#"{{"type":"response.event","event_id":"e","delegation_id":null,"event":{{"type":"{kind}","sequence_number":9,"response":{{"id":"resp_1","status":"x","output":[],"usage":{usage}}}}}}}"#
        );
        let ServerEvent::Response {
            delegation_id,
            event,
        } = parse_server_event(&text).unwrap()
        else {
            panic!()
        };
        assert_eq!(delegation_id, None);
        let u = event.usage().unwrap();
        assert_eq!(
            (
                u.input_tokens,
                u.input_tokens_details.cached_tokens,
                u.output_tokens,
                u.output_tokens_details.reasoning_tokens
            ),
            (300, 200, 40, 25),
            "{kind}"
        );
    }
}

#[test]
fn usage_updates_are_cumulative_seconds() {
    let text = r#"{"type":"session.usage.updated","event_id":"e","usage":{"seconds":14.0},"context_window":{"usage_ratio":0.1}}"#;
    assert_eq!(
        parse_server_event(text).unwrap(),
        ServerEvent::UsageUpdated {
            usage: SessionUsage { seconds: 14.0 }
        }
    );
}

#[test]
fn unknown_events_and_unknown_nested_events_are_other_not_errors() {
    for text in [
        r#"{"type":"session.output_audio.fixture.played","event_id":"e"}"#,
        r#"{"type":"decision.event","event_id":"e","event":{"type":"decision.completed"}}"#,
        r#"{"type":"brand.new","x":1}"#,
    ] {
        assert_eq!(
            parse_server_event(text).unwrap(),
            ServerEvent::Other,
            "{text}"
        );
    }
    let nested = r#"{"type":"response.event","event_id":"e","event":{"type":"response.output_text.delta","delta":"hi"}}"#;
    let ServerEvent::Response { event, .. } = parse_server_event(nested).unwrap() else {
        panic!()
    };
    assert_eq!(event, BackendEvent::Other);
    assert!(parse_server_event("{").is_err());
}

#[test]
fn acknowledgements_and_info_are_read() {
    let text = r#"{"type":"session.commentary.appended","event_id":"e","client_event_id":"greet-1","start_ms":10,"end_ms":10}"#;
    assert_eq!(
        parse_server_event(text).unwrap(),
        ServerEvent::CommentaryAppended {
            client_event_id: Some("greet-1".into())
        }
    );
    let text = r#"{"type":"info","event_id":"e","code":"data_channel_permissions","message":"m"}"#;
    assert!(matches!(
        parse_server_event(text).unwrap(),
        ServerEvent::Info { code, .. } if code == "data_channel_permissions"
    ));
}
