//! The offline stand-in's GPT-Live mode, driven over a real WebSocket as a Live bridge drives
//! it: caller audio appended continuously, the output track read back in step.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::{SinkExt, StreamExt};
use phone_simulator::audio::{self, mulaw, speech};
use phone_simulator::offline::{OfflineConfig, OfflineRealtime, Script};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn start() -> OfflineRealtime {
    OfflineRealtime::start(OfflineConfig {
        model: "gpt-realtime".into(),
        script: Script::dentist(time::macros::date!(2026 - 11 - 25)),
        api_key: None,
        // The tone-pattern voice: deterministic and independent of what is installed.
        use_espeak: false,
    })
    .await
    .unwrap()
}

async fn send(ws: &mut Socket, value: Value) {
    ws.send(Message::text(value.to_string())).await.unwrap();
}

/// Every event that is waiting, without blocking for more than a moment.
async fn drain(ws: &mut Socket) -> Vec<Value> {
    let mut events = Vec::new();
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(Duration::from_millis(50), ws.next()).await
    {
        if let Message::Text(text) = message {
            events.push(serde_json::from_str(text.as_str()).unwrap());
        }
    }
    events
}

async fn next(ws: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("an event within 10 s")
            .expect("socket open")
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

async fn open_live(server: &OfflineRealtime) -> Socket {
    let mut ws = tokio_tungstenite::connect_async(server.live_url())
        .await
        .unwrap()
        .0;
    send(
        &mut ws,
        json!({"type": "session.start", "event_id": "start-1", "session": {
            "model": "gpt-live-1.1", "instructions": "Be brief.",
            "audio": {"format": {"type": "audio/pcmu", "rate": 8000}, "output": {"voice": "marin"}},
            "delegation": {"type": "responses", "responses": {"model": "gpt-5.6-luna",
                "tools": [{"type": "function", "name": "create_event"}], "tool_choice": "auto",
                "parallel_tool_calls": false}}}}),
    )
    .await;
    let started = next(&mut ws).await;
    assert_eq!(started["type"], "session.started", "{started}");
    assert_eq!(started["client_event_id"], "start-1");
    assert!(
        started["session"]["id"]
            .as_str()
            .unwrap()
            .starts_with("live_")
    );
    ws
}

/// Appends `bytes` in 20 ms frames and returns every event that came back meanwhile.
async fn append(ws: &mut Socket, bytes: &[u8]) -> Vec<Value> {
    let mut events = Vec::new();
    for (i, frame) in bytes.chunks(160).enumerate() {
        let audio = STANDARD.encode(frame);
        send(
            ws,
            json!({"type": "session.input_audio.append", "audio": audio}),
        )
        .await;
        if i % 25 == 24 {
            events.extend(drain(ws).await);
        }
    }
    events.extend(drain(ws).await);
    events
}

fn silence(ms: usize) -> Vec<u8> {
    vec![mulaw::SILENCE; ms * 8]
}

fn caller(text: &str) -> Vec<u8> {
    let mut bytes = silence(300);
    bytes.extend(audio::to_mulaw(&speech::speech_like(text, 120.0)).unwrap());
    bytes.extend(silence(900));
    bytes
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

/// Non-silent bytes of the output track.
fn voiced(events: &[Value]) -> usize {
    of_type(events, "session.output_audio.delta")
        .iter()
        .flat_map(|e| STANDARD.decode(e["delta"].as_str().unwrap()).unwrap())
        .filter(|&b| b != mulaw::SILENCE)
        .count()
}

fn said(events: &[Value], kind: &str) -> String {
    of_type(events, kind)
        .iter()
        .map(|e| e["delta"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn commands_before_session_start_are_refused_and_a_query_string_too() {
    let server = start().await;
    let url = format!("{}?model=gpt-live-1", server.live_url());
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
    let mut ws = tokio_tungstenite::connect_async(server.live_url())
        .await
        .unwrap()
        .0;
    send(
        &mut ws,
        json!({"type": "session.input_audio.append", "event_id": "a-1", "audio": ""}),
    )
    .await;
    let refused = next(&mut ws).await;
    assert_eq!(refused["error"]["code"], "session_not_started");
    assert_eq!(refused["error"]["client_event_id"], "a-1");
}

#[tokio::test]
async fn the_output_track_is_continuous_and_the_greeting_is_spoken_when_asked() {
    let server = start().await;
    let mut ws = open_live(&server).await;
    let quiet = append(&mut ws, &silence(1000)).await;
    assert_eq!(
        of_type(&quiet, "session.output_audio.delta").len(),
        10,
        "100 ms per delta"
    );
    assert_eq!(voiced(&quiet), 0, "silence between replies");
    send(
        &mut ws,
        json!({"type": "session.commentary.append", "event_id": "greet-1",
               "content": "Greet the caller now, saying exactly: \"Hello caller!\"",
               "delegation_id": null}),
    )
    .await;
    let events = append(&mut ws, &silence(4500)).await;
    assert_eq!(
        of_type(&events, "session.commentary.appended")[0]["client_event_id"],
        "greet-1"
    );
    assert!(
        voiced(&events) > 2000,
        "an audible greeting: {}",
        voiced(&events)
    );
    assert_eq!(
        said(&events, "session.output_transcript.delta"),
        "Hello caller!"
    );
    let usage = of_type(&events, "session.usage.updated");
    assert_eq!(
        usage[0]["usage"]["seconds"], 5.0,
        "cumulative timeline seconds"
    );
}

#[tokio::test]
async fn a_caller_turn_is_transcribed_and_answered_and_talking_over_the_reply_stops_it() {
    let server = start().await;
    let mut ws = open_live(&server).await;
    let events = append(
        &mut ws,
        &caller("Hi, I'd like to book a dentist appointment."),
    )
    .await;
    let heard = said(&events, "session.input_transcript.delta");
    assert_eq!(heard, "Hi, I'd like to book a dentist appointment.");
    // Part of the reply, then the caller talks over it.
    let mut events = events;
    events.extend(append(&mut ws, &silence(400)).await);
    assert!(voiced(&events) > 0, "the reply started");
    let interrupted = append(&mut ws, &caller("Tomorrow at three in the afternoon.")).await;
    let after: Vec<Value> = interrupted
        .iter()
        .skip_while(|e| e["type"] != "session.input_transcript.delta")
        .cloned()
        .collect();
    assert!(!after.is_empty());
    assert!(
        of_type(&interrupted, "session.output_transcript.delta")
            .iter()
            .all(|e| !e["delta"].as_str().unwrap().contains("suit you")),
        "the reply stopped before its end"
    );
    for event in &interrupted {
        let kind = event["type"].as_str().unwrap();
        assert!(
            !kind.contains("speech_started")
                && !kind.contains("truncat")
                && !kind.contains("cancel"),
            "{kind}"
        );
    }
    drop(ws);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let report = server.report();
    assert_eq!(report.barge_ins, 1);
}

#[tokio::test]
async fn the_calendar_call_is_delegated_and_its_result_spoken_after_output_and_response_create() {
    let server = start().await;
    let mut ws = open_live(&server).await;
    append(
        &mut ws,
        &caller("Hi, I'd like to book a dentist appointment."),
    )
    .await;
    append(&mut ws, &silence(6000)).await;
    let events = append(
        &mut ws,
        &caller("Tomorrow at three in the afternoon, for thirty minutes."),
    )
    .await;
    let created = of_type(&events, "session.delegation.created");
    let delegation_id = created[0]["delegation"]["id"].as_str().unwrap().to_owned();
    let nested: Vec<&Value> = of_type(&events, "response.event");
    assert_eq!(nested[0]["delegation_id"], delegation_id.as_str());
    let item = &nested[1]["event"]["item"];
    assert_eq!(item["type"], "function_call");
    assert_eq!(item["name"], "create_event");
    assert_eq!(item["status"], "completed");
    let arguments: Value = serde_json::from_str(item["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments["start"], "2026-11-26T15:00");
    assert!(
        nested[2]["event"]["response"]["usage"]["input_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );
    let call_id = item["call_id"].as_str().unwrap().to_owned();
    // The delegation's events are what the SDK defines, nested Responses events included.
    phone_test_support::live_oracle::assert_valid(
        phone_test_support::live_oracle::Union::Server,
        &events,
    );
    send(
        &mut ws,
        json!({"type": "response.create", "event_id": "rc-0"}),
    )
    .await;
    assert_eq!(
        next_non_audio(&mut ws).await["error"]["code"],
        "unanswered_function_calls"
    );
    send(
        &mut ws,
        json!({"type": "response.item.create", "event_id": "out-1", "item": {
            "type": "function_call_output", "call_id": call_id, "output": "{\"id\":\"evt_1\"}"}}),
    )
    .await;
    send(
        &mut ws,
        json!({"type": "response.create", "event_id": "rc-1"}),
    )
    .await;
    let events = append(&mut ws, &silence(8000)).await;
    let continuation = of_type(&events, "response.event");
    assert_eq!(continuation[0]["client_event_id"], "rc-1");
    assert_eq!(continuation[0]["delegation_id"], delegation_id.as_str());
    assert!(said(&events, "session.output_transcript.delta").starts_with("All set."));
    send(
        &mut ws,
        json!({"type": "session.close", "event_id": "close-1"}),
    )
    .await;
    let closed = next_non_audio(&mut ws).await;
    assert_eq!(closed["type"], "session.closed");
    assert_eq!(closed["reason"], "close_requested");
    assert_eq!(closed["client_event_id"], "close-1");
    assert!(closed["usage"]["seconds"].as_f64().unwrap() >= 15.0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let report = server.report();
    assert_eq!(report.tool_calls, 1);
    assert_eq!(report.tool_outputs, ["{\"id\":\"evt_1\"}"]);
}

async fn next_non_audio(ws: &mut Socket) -> Value {
    loop {
        let event = next(ws).await;
        if event["type"] != "session.output_audio.delta" {
            return event;
        }
    }
}

#[tokio::test]
async fn every_event_of_a_live_call_matches_the_sdk_unions() {
    use phone_test_support::live_oracle::{Union, assert_valid};
    let server = start().await;
    let mut ws = tokio_tungstenite::connect_async(server.live_url())
        .await
        .unwrap()
        .0;
    let mut sent = vec![
        json!({"type": "session.commentary.append", "event_id": "early",
                               "content": "Greet the caller.", "delegation_id": null}),
    ];
    send(&mut ws, sent[0].clone()).await;
    let mut received = vec![next(&mut ws).await];
    sent.push(
        json!({"type": "session.start", "event_id": "start-1", "session": {
        "model": "gpt-live-1", "audio": {"format": {"type": "audio/pcmu", "rate": 8000}},
        "delegation": {"type": "responses", "responses": {"model": "gpt-5.6-luna"}}}}),
    );
    send(&mut ws, sent[1].clone()).await;
    received.push(next(&mut ws).await);
    sent.push(sent[0].clone());
    send(&mut ws, sent[0].clone()).await;
    let mut audio = silence(1000);
    audio.extend(caller("Hi, I'd like to book a dentist appointment."));
    audio.extend(silence(4000));
    for frame in audio.chunks(160) {
        let append = json!({"type": "session.input_audio.append", "audio": STANDARD.encode(frame)});
        sent.push(append.clone());
        send(&mut ws, append).await;
    }
    received.extend(drain(&mut ws).await);
    let close = json!({"type": "session.close", "event_id": "close-1"});
    sent.push(close.clone());
    send(&mut ws, close).await;
    loop {
        let event = next(&mut ws).await;
        let done = event["type"] == "session.closed";
        received.push(event);
        if done {
            break;
        }
    }
    for kind in [
        "error",
        "session.started",
        "session.commentary.appended",
        "session.output_audio.delta",
        "session.output_transcript.delta",
        "session.input_transcript.delta",
        "session.usage.updated",
        "session.closed",
    ] {
        assert!(!of_type(&received, kind).is_empty(), "{kind} was exercised");
    }
    assert_valid(Union::Client, &sent);
    assert_valid(Union::Server, &received);
}
