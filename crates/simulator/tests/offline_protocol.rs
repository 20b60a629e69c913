//! The offline Realtime stand-in, driven over a real WebSocket as the stream host drives it.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::{SinkExt, StreamExt};
use phone_simulator::audio::{self, mulaw, speech};
use phone_simulator::offline::{OfflineConfig, OfflineRealtime, Script};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn start(api_key: Option<&str>) -> OfflineRealtime {
    OfflineRealtime::start(OfflineConfig {
        model: "gpt-realtime-2.1".into(),
        script: Script::dentist(time::macros::date!(2026 - 11 - 25)),
        api_key: api_key.map(str::to_owned),
        // The tone-pattern voice: deterministic and independent of what is installed.
        use_espeak: false,
    })
    .await
    .unwrap()
}

async fn connect(server: &OfflineRealtime, key: Option<&str>) -> Socket {
    let mut request = server.url().into_client_request().unwrap();
    if let Some(key) = key {
        request
            .headers_mut()
            .insert("Authorization", format!("Bearer {key}").parse().unwrap());
    }
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn send(ws: &mut Socket, value: Value) {
    ws.send(Message::text(value.to_string())).await.unwrap();
}

async fn next(ws: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("an event within 10 s")
            .expect("socket open")
            .unwrap();
        if let Message::Text(text) = msg {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

/// Events up to and including the first of type `kind`.
async fn until(ws: &mut Socket, kind: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let e = next(ws).await;
        let done = e["type"] == kind;
        seen.push(e);
        if done {
            return seen;
        }
    }
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

async fn open_session(ws: &mut Socket) {
    assert_eq!(next(ws).await["type"], "session.created");
    send(
        ws,
        json!({"type": "session.update", "session": {"type": "realtime",
            "output_modalities": ["audio"], "instructions": "Be brief.",
            "audio": {"input": {"format": {"type": "audio/pcmu"},
                                "turn_detection": {"type": "server_vad", "create_response": true,
                                                   "interrupt_response": true}},
                      "output": {"format": {"type": "audio/pcmu"}, "voice": "marin"}}}}),
    )
    .await;
    let updated = next(ws).await;
    assert_eq!(updated["type"], "session.updated");
    assert_eq!(
        updated["session"]["audio"]["output"]["format"]["type"],
        "audio/pcmu"
    );
    assert_eq!(updated["session"]["instructions"], "Be brief.");
}

/// Caller audio: `lead_ms` of silence, a spoken-like sentence, `tail_ms` of silence.
fn caller_audio(text: &str, lead_ms: usize, tail_ms: usize) -> Vec<u8> {
    let mut bytes = vec![mulaw::SILENCE; lead_ms * 8];
    bytes.extend(audio::to_mulaw(&speech::speech_like(text, 120.0)).unwrap());
    bytes.extend(vec![mulaw::SILENCE; tail_ms * 8]);
    bytes
}

async fn append(ws: &mut Socket, bytes: &[u8]) {
    for frame in bytes.chunks(160) {
        send(
            ws,
            json!({"type": "input_audio_buffer.append", "audio": STANDARD.encode(frame)}),
        )
        .await;
    }
}

fn audio_of(events: &[Value]) -> Vec<u8> {
    of_type(events, "response.output_audio.delta")
        .iter()
        .flat_map(|e| STANDARD.decode(e["delta"].as_str().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn greeting_request_is_answered_with_audible_audio_and_usage() {
    let server = start(None).await;
    let mut ws = connect(&server, None).await;
    open_session(&mut ws).await;
    send(
        &mut ws,
        json!({"type": "response.create",
        "response": {"instructions": "Greet the caller now, saying exactly: \"Hello caller!\""}}),
    )
    .await;
    let events = until(&mut ws, "response.done").await;
    assert_eq!(events[0]["type"], "response.created");
    let audio = audio_of(&events);
    assert!(audio.len() > 4000, "{} bytes", audio.len());
    let level = phone_simulator::vad::frame_dbfs(&mulaw::decode_all(&audio));
    assert!(level > -30.0, "reply is audible: {level} dBFS");
    let transcript = of_type(&events, "response.output_audio_transcript.done");
    assert_eq!(transcript[0]["transcript"], "Hello caller!");
    let done = events.last().unwrap();
    assert_eq!(done["response"]["status"], "completed");
    let tokens = &done["response"]["usage"]["output_token_details"]["audio_tokens"];
    assert_eq!(tokens.as_u64().unwrap(), audio.len() as u64 / 8 / 50);
}

#[tokio::test]
async fn caller_speech_is_detected_transcribed_and_answered() {
    let server = start(None).await;
    let mut ws = connect(&server, None).await;
    open_session(&mut ws).await;
    append(
        &mut ws,
        &caller_audio("I would like to book a dentist appointment", 1000, 800),
    )
    .await;
    let events = until(&mut ws, "response.done").await;
    let started = of_type(&events, "input_audio_buffer.speech_started");
    let start_ms = started[0]["audio_start_ms"].as_u64().unwrap();
    assert!(
        (960..=1100).contains(&start_ms),
        "speech starts near 1 s: {start_ms}"
    );
    let stopped = of_type(&events, "input_audio_buffer.speech_stopped");
    assert_eq!(stopped[0]["item_id"], started[0]["item_id"]);
    assert_eq!(of_type(&events, "input_audio_buffer.committed").len(), 1);
    let heard = of_type(
        &events,
        "conversation.item.input_audio_transcription.completed",
    );
    assert_eq!(
        heard[0]["transcript"],
        "Hi, I'd like to book a dentist appointment."
    );
    assert!(audio_of(&events).len() > 8000);
}

#[tokio::test]
async fn silence_gets_no_turn() {
    let server = start(None).await;
    let mut ws = connect(&server, None).await;
    open_session(&mut ws).await;
    append(&mut ws, &vec![mulaw::SILENCE; 8 * 3000]).await;
    // A response.create still works, and is the only thing that produces events.
    send(&mut ws, json!({"type": "response.create"})).await;
    let events = until(&mut ws, "response.done").await;
    assert!(of_type(&events, "input_audio_buffer.speech_started").is_empty());
}

#[tokio::test]
async fn second_turn_calls_create_event_and_confirms_from_the_tool_output() {
    let server = start(None).await;
    let mut ws = connect(&server, None).await;
    open_session(&mut ws).await;
    append(&mut ws, &caller_audio("book a dentist", 500, 700)).await;
    until(&mut ws, "response.done").await;
    append(
        &mut ws,
        &caller_audio("tomorrow at three for thirty minutes", 300, 700),
    )
    .await;
    let events = until(&mut ws, "response.done").await;
    let call = of_type(&events, "response.function_call_arguments.done")[0].clone();
    assert_eq!(call["name"], "create_event");
    let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(
        args,
        json!({"title": "Dentist", "start": "2026-11-26T15:00", "duration_minutes": 30})
    );
    assert!(
        audio_of(&events).is_empty(),
        "a tool-call response has no audio"
    );
    send(&mut ws, json!({"type": "conversation.item.create", "item": {
        "type": "function_call_output", "call_id": call["call_id"], "output": "{\"id\":\"evt_1\"}"}})).await;
    send(&mut ws, json!({"type": "response.create"})).await;
    let events = until(&mut ws, "response.done").await;
    let said = of_type(&events, "response.output_audio_transcript.done")[0]["transcript"].clone();
    assert!(said.as_str().unwrap().starts_with("All set"), "{said}");
}

#[tokio::test]
async fn speech_during_a_reply_cancels_it_and_truncation_is_checked() {
    let server = start(None).await;
    let mut ws = connect(&server, None).await;
    open_session(&mut ws).await;
    send(&mut ws, json!({"type": "response.create"})).await;
    // Let a few deltas out, then talk over the reply.
    let mut events = Vec::new();
    while of_type(&events, "response.output_audio.delta").len() < 3 {
        events.push(next(&mut ws).await);
    }
    let item = of_type(&events, "response.output_audio.delta")[0]["item_id"].clone();
    append(&mut ws, &caller_audio("no wait", 0, 0)).await;
    let rest = until(&mut ws, "response.done").await;
    assert!(!of_type(&rest, "input_audio_buffer.speech_started").is_empty());
    let done = rest.last().unwrap();
    assert_eq!(done["response"]["status"], "cancelled");
    assert_eq!(
        done["response"]["status_details"]["reason"],
        "turn_detected"
    );
    assert!(of_type(&rest, "response.output_audio.done").is_empty());
    let sent_ms = (audio_of(&events).len() + audio_of(&rest).len()) as u64 / 8;
    // Truncating past the audio sent is an error, as with the real API; within it is fine.
    send(
        &mut ws,
        json!({"type": "conversation.item.truncate", "item_id": item,
                         "content_index": 0, "audio_end_ms": sent_ms + 1000}),
    )
    .await;
    assert_eq!(
        until(&mut ws, "error").await.last().unwrap()["error"]["code"],
        "invalid_value"
    );
    send(
        &mut ws,
        json!({"type": "conversation.item.truncate", "item_id": item,
                         "content_index": 0, "audio_end_ms": 120}),
    )
    .await;
    let truncated = until(&mut ws, "conversation.item.truncated").await;
    assert_eq!(truncated.last().unwrap()["audio_end_ms"], 120);
    // Nothing is active any more: cancelling is an error, as with the real API.
    send(&mut ws, json!({"type": "response.cancel"})).await;
    let e = until(&mut ws, "error").await;
    assert_eq!(
        e.last().unwrap()["error"]["code"],
        "response_cancel_not_active"
    );
}

#[tokio::test]
async fn api_key_is_required_when_configured() {
    let server = start(Some("sk-test")).await;
    let request = server.url().into_client_request().unwrap();
    assert!(tokio_tungstenite::connect_async(request).await.is_err());
    let mut ws = connect(&server, Some("sk-test")).await;
    assert_eq!(next(&mut ws).await["type"], "session.created");
}

#[tokio::test]
async fn beta_header_is_refused_like_the_real_api() {
    let server = start(None).await;
    let mut request = server.url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("OpenAI-Beta", "realtime=v1".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let e = next(&mut ws).await;
    assert_eq!(e["error"]["code"], "beta_api_shape_disabled");
}

#[tokio::test]
async fn session_created_reports_the_model_of_the_connect_url() {
    let server = start(None).await;
    let mut ws = connect(&server, None).await;
    let created = next(&mut ws).await;
    assert_eq!(created["session"]["model"], "gpt-realtime-2.1");

    let base = server.url();
    let base = base.split('?').next().unwrap();
    let other = format!("{base}?trace=1&model=gpt-realtime-2.1-mini");
    let (mut ws, _) = tokio_tungstenite::connect_async(other).await.unwrap();
    let created = next(&mut ws).await;
    assert_eq!(created["type"], "session.created");
    assert_eq!(created["session"]["model"], "gpt-realtime-2.1-mini");
}
