//! The Live double itself, driven by a raw WebSocket client: it must be as strict as the
//! protocol it stands for, or the bridge's tests prove nothing.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::{SinkExt, StreamExt};
use phone_test_support::live_server::{LiveOptions, LiveTestServer};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(server: &LiveTestServer) -> Socket {
    tokio_tungstenite::connect_async(server.url())
        .await
        .unwrap()
        .0
}

async fn send(ws: &mut Socket, value: Value) {
    ws.send(Message::text(value.to_string())).await.unwrap();
}

/// The next event other than an output audio delta.
async fn next(ws: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("an event within 5 s")
            .expect("socket open")
            .unwrap();
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["type"] != "session.output_audio.delta" {
                return value;
            }
        }
    }
}

fn start_event(event_id: &str) -> Value {
    json!({"type": "session.start", "event_id": event_id, "session": {
        "model": "gpt-live-1.1", "instructions": "You answer the phone.",
        "audio": {"format": {"type": "audio/pcmu", "rate": 8000}, "output": {"voice": "marin"}},
        "delegation": {"type": "responses", "responses": {"model": "gpt-5.6-terra",
            "tools": [{"type": "function", "name": "create_event", "parameters": {"type": "object"}}],
            "tool_choice": "auto", "parallel_tool_calls": false}}}})
}

async fn started(server: &LiveTestServer) -> Socket {
    let mut ws = connect(server).await;
    send(&mut ws, start_event("start-1")).await;
    let event = next(&mut ws).await;
    assert_eq!(event["type"], "session.started", "{event}");
    ws
}

fn append(frame: &[u8]) -> Value {
    json!({"type": "session.input_audio.append", "audio": STANDARD.encode(frame)})
}

#[tokio::test]
async fn nothing_is_sent_before_session_start_and_commands_before_it_are_refused() {
    let server = LiveTestServer::start().await;
    let mut ws = connect(&server).await;
    let silent = tokio::time::timeout(Duration::from_millis(300), ws.next()).await;
    assert!(silent.is_err(), "a passive socket receives nothing");
    send(
        &mut ws,
        json!({"type": "session.commentary.append", "event_id": "early-1",
               "content": "Hello", "delegation_id": null}),
    )
    .await;
    let refused = next(&mut ws).await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["error"]["code"], "session_not_started");
    assert_eq!(refused["error"]["client_event_id"], "early-1");
    send(&mut ws, start_event("start-9")).await;
    let event = next(&mut ws).await;
    assert_eq!(event["type"], "session.started");
    assert_eq!(event["client_event_id"], "start-9");
    assert!(
        event["session"]["id"]
            .as_str()
            .unwrap()
            .starts_with("live_")
    );
    assert_eq!(event["session"]["status"], "active");
}

#[tokio::test]
async fn session_start_is_refused_for_each_fault_and_accepted_once_right() {
    let server = LiveTestServer::start().await;
    let mut ws = connect(&server).await;
    let faults = [
        ("/session/voice", json!("marin"), "session.voice"),
        ("/session/model", json!("gpt-realtime"), "session.model"),
        (
            "/session/audio/format",
            json!({"type": "audio/pcmu"}),
            "session.audio.format.rate",
        ),
        (
            "/session/delegation/type",
            json!("robots"),
            "session.delegation.type",
        ),
    ];
    for (pointer, value, param) in faults {
        let mut start = start_event("bad");
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        start.pointer_mut(parent).unwrap()[key] = value;
        send(&mut ws, start).await;
        let refused = next(&mut ws).await;
        assert_eq!(refused["type"], "error", "{pointer}");
        assert_eq!(refused["error"]["param"], param, "{refused}");
        assert_eq!(refused["error"]["client_event_id"], "bad");
    }
    send(&mut ws, start_event("good")).await;
    assert_eq!(next(&mut ws).await["type"], "session.started");
    send(&mut ws, start_event("again")).await;
    assert_eq!(
        next(&mut ws).await["error"]["code"],
        "session_already_started"
    );
    assert_eq!(server.sessions_started(), 1);
}

#[tokio::test]
async fn events_outside_the_live_union_are_refused() {
    let server = LiveTestServer::start().await;
    let mut ws = started(&server).await;
    for (kind, id) in [
        ("session.input_audio.commit", "c-1"),
        ("input_audio_buffer.append", "c-2"),
        ("response.cancel", "c-3"),
    ] {
        send(&mut ws, json!({"type": kind, "event_id": id})).await;
        let refused = next(&mut ws).await;
        assert_eq!(refused["error"]["code"], "invalid_event_type", "{kind}");
        assert_eq!(refused["error"]["client_event_id"], id);
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains("session.start")
        );
    }
    // delegation_id is required (nullable): leaving it out is refused.
    send(
        &mut ws,
        json!({"type": "session.commentary.append", "event_id": "c-4", "content": "Hi"}),
    )
    .await;
    assert_eq!(next(&mut ws).await["error"]["param"], "delegation_id");
}

#[tokio::test]
async fn a_delegated_call_is_answered_then_continued_and_holds_the_next_call() {
    let server = LiveTestServer::start().await;
    let mut ws = started(&server).await;
    let first = server
        .call_tool("create_event", &json!({"title": "Dentist"}))
        .await;
    let second = server
        .call_tool("create_event", &json!({"title": "Gym"}))
        .await;
    let created = next(&mut ws).await;
    assert_eq!(created["type"], "session.delegation.created");
    assert_eq!(created["delegation"]["id"], first.delegation_id.as_str());
    let mut nested = Vec::new();
    for _ in 0..3 {
        let e = next(&mut ws).await;
        assert_eq!(e["type"], "response.event");
        assert_eq!(e["delegation_id"], first.delegation_id.as_str());
        nested.push(e["event"].clone());
    }
    assert_eq!(nested[0]["type"], "response.created");
    assert_eq!(nested[1]["type"], "response.output_item.done");
    assert_eq!(nested[1]["item"]["call_id"], first.call_id.as_str());
    assert_eq!(nested[1]["item"]["arguments"], r#"{"title":"Dentist"}"#);
    assert_eq!(nested[2]["type"], "response.completed");
    assert!(
        nested[2]["response"]["usage"]["input_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );

    send(
        &mut ws,
        json!({"type": "response.create", "event_id": "rc-early"}),
    )
    .await;
    let refused = next(&mut ws).await;
    assert_eq!(refused["error"]["code"], "unanswered_function_calls");
    assert_eq!(refused["error"]["client_event_id"], "rc-early");
    let output = |call_id: &str, id: &str| {
        json!({"type": "response.item.create", "event_id": id,
               "item": {"type": "function_call_output", "call_id": call_id, "output": "{\"ok\":true}"}})
    };
    send(&mut ws, output("call_unknown", "out-0")).await;
    assert_eq!(next(&mut ws).await["error"]["code"], "unknown_call_id");
    send(&mut ws, output(&first.call_id, "out-1")).await;
    send(
        &mut ws,
        json!({"type": "response.create", "event_id": "rc-1"}),
    )
    .await;
    let continued = next(&mut ws).await;
    assert_eq!(
        continued["event"]["type"], "response.created",
        "{continued}"
    );
    assert_eq!(continued["delegation_id"], first.delegation_id.as_str());
    assert_eq!(continued["client_event_id"], "rc-1");
    assert_eq!(next(&mut ws).await["event"]["type"], "response.completed");
    // Only now is the held second call delegated.
    let created = next(&mut ws).await;
    assert_eq!(created["type"], "session.delegation.created");
    assert_eq!(created["delegation"]["id"], second.delegation_id.as_str());
}

#[tokio::test]
async fn output_keeps_flowing_while_the_caller_speaks_and_usage_follows_input() {
    let server = LiveTestServer::start().await;
    let mut ws = started(&server).await;
    server.speak(vec![0x10; 8000]).await;
    let (mut speech, mut usage, mut kinds) = (0, Vec::new(), Vec::new());
    let frame = [0x20u8; 160];
    // 2.4 s of caller audio at real-time pace while the double speaks for 1 s.
    for i in 0..120 {
        send(&mut ws, append(&frame)).await;
        if i % 5 == 4 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        while let Ok(Some(Ok(Message::Text(text)))) =
            tokio::time::timeout(Duration::from_millis(1), ws.next()).await
        {
            let e: Value = serde_json::from_str(text.as_str()).unwrap();
            kinds.push(e["type"].as_str().unwrap().to_owned());
            match e["type"].as_str().unwrap() {
                "session.output_audio.delta" => {
                    let audio = STANDARD.decode(e["delta"].as_str().unwrap()).unwrap();
                    speech += audio.iter().filter(|&&b| b == 0x10).count();
                }
                "session.usage.updated" => usage.push(e["usage"]["seconds"].as_f64().unwrap()),
                _ => {}
            }
        }
    }
    assert_eq!(
        speech, 8000,
        "all the speech came out while the caller talked"
    );
    assert_eq!(usage, [1.0, 2.0], "cumulative seconds of input timeline");
    assert!(
        kinds
            .iter()
            .all(|k| k == "session.output_audio.delta" || k == "session.usage.updated"),
        "no barge-in, cancel or truncate events: {kinds:?}"
    );
    let silence = kinds
        .iter()
        .filter(|k| *k == "session.output_audio.delta")
        .count();
    assert!(
        silence > 10,
        "the track continues after the speech: {silence} deltas"
    );
}

#[tokio::test]
async fn session_close_gets_closed_with_reason_and_final_usage_then_the_socket_closes() {
    let server = LiveTestServer::start().await;
    let mut ws = started(&server).await;
    for _ in 0..75 {
        send(&mut ws, append(&[0xFF; 160])).await;
    }
    send(
        &mut ws,
        json!({"type": "session.close", "event_id": "close-1"}),
    )
    .await;
    let closed = loop {
        let e = next(&mut ws).await;
        if e["type"] == "session.closed" {
            break e;
        }
    };
    assert_eq!(closed["reason"], "close_requested");
    assert_eq!(closed["client_event_id"], "close-1");
    assert_eq!(
        closed["usage"]["seconds"], 1.0,
        "1.5 s of input, whole seconds"
    );
    let end = tokio::time::timeout(Duration::from_secs(2), ws.next())
        .await
        .unwrap();
    assert!(matches!(end, Some(Ok(Message::Close(_))) | None), "{end:?}");
}

#[tokio::test]
async fn the_server_can_end_a_session_mid_call_or_drop_it() {
    let server = LiveTestServer::start().await;
    let mut ws = started(&server).await;
    server.close_session("expired").await;
    let closed = next(&mut ws).await;
    assert_eq!(closed["type"], "session.closed");
    assert_eq!(closed["reason"], "expired");
    let mut ws = started(&server).await;
    server.drop_connection().await;
    let end = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    assert!(!text.contains("session.closed"), "a drop says nothing");
                }
                other => return other,
            }
        }
    })
    .await
    .unwrap();
    assert!(
        !matches!(end, Some(Ok(Message::Close(_)))),
        "no close frame: {end:?}"
    );
}

#[tokio::test]
async fn accept_then_close_and_a_query_string_are_failures_a_client_must_handle() {
    let server = LiveTestServer::start_with(LiveOptions {
        accept_then_close: true,
        ..LiveOptions::default()
    })
    .await;
    let mut ws = connect(&server).await;
    match tokio::time::timeout(Duration::from_secs(2), ws.next())
        .await
        .unwrap()
    {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1011),
        other => panic!("{other:?}"),
    }
    let server = LiveTestServer::start().await;
    let url = format!("{}?model=gpt-live-1", server.url());
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
}

#[tokio::test]
async fn every_event_either_side_sends_matches_the_sdk_unions() {
    // A clean call: every client event is valid, and so is every server event.
    let server = LiveTestServer::start_with(LiveOptions {
        silence_track: false,
        ..LiveOptions::default()
    })
    .await;
    let mut ws = started(&server).await;
    for _ in 0..60 {
        send(&mut ws, append(&[0xFF; 160])).await;
    }
    send(
        &mut ws,
        json!({"type": "session.commentary.append", "event_id": "greet-1",
               "content": "Greet the caller now.", "delegation_id": null}),
    )
    .await;
    server.speak(vec![0x10; 1600]).await;
    // Two ticks of the output track.
    tokio::time::sleep(Duration::from_millis(250)).await;
    server.transcript(true, "Book the dentist", 100, 900).await;
    server.transcript(false, "Sure.", 1000, 1400).await;
    let call = server
        .call_tool("create_event", &json!({"title": "Dentist"}))
        .await;
    while next(&mut ws).await["event"]["type"] != "response.completed" {}
    send(
        &mut ws,
        json!({"type": "response.item.create", "event_id": "out-1",
               "item": {"type": "function_call_output", "call_id": call.call_id, "output": "{}"}}),
    )
    .await;
    send(
        &mut ws,
        json!({"type": "response.create", "event_id": "rc-1"}),
    )
    .await;
    send(
        &mut ws,
        json!({"type": "session.close", "event_id": "close-1"}),
    )
    .await;
    while next(&mut ws).await["type"] != "session.closed" {}
    server.assert_client_events_valid().await;
    server.assert_sent_events_valid().await;
    let sent: Vec<String> = server
        .sent_events()
        .await
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    for kind in [
        "session.started",
        "session.usage.updated",
        "session.commentary.appended",
        "session.output_audio.delta",
        "session.delegation.created",
        "response.event",
        "session.closed",
    ] {
        assert!(sent.iter().any(|k| k == kind), "{kind} was exercised");
    }

    // The refusals are valid server events too.
    let server = LiveTestServer::start().await;
    let mut ws = connect(&server).await;
    send(
        &mut ws,
        json!({"type": "session.input_audio.commit", "event_id": "x"}),
    )
    .await;
    next(&mut ws).await;
    let mut bad = start_event("bad");
    bad["session"]["voice"] = json!("marin");
    send(&mut ws, bad).await;
    next(&mut ws).await;
    server.assert_sent_events_valid().await;
}
