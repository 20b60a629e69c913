//! Per-turn latency over real sockets with the strict Realtime server: a call of two turns
//! (a plain answer, then a tool call on a slow calendar) stores one latency row per turn with
//! ordered timestamps and the tool's time, puts the percentiles on the call row, and writes
//! one CloudWatch EMF line for the call.

mod harness;

use std::time::Duration;

use harness::{SlowCalendar, WAIT, b64, sid};
use phone_core::CallSid;
use phone_core::store::PageRequest;
use phone_test_support::realtime_server::{Response, Status};
use phone_test_support::twilio_stream::TwilioStream;
use serde_json::Value;

/// The calendar answers after this long: the tool turn's tool time.
const TOOL_DELAY: Duration = Duration::from_millis(300);

/// Sends `frames` of 20 ms caller audio and waits until the server has them all.
async fn speak(host: &harness::Host, twilio: &mut TwilioStream, frames: usize, sent: &mut usize) {
    for _ in 0..frames {
        twilio.media(&b64(&[0x55; 160])).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    *sent += frames;
    host.openai
        .wait_for("input_audio_buffer.append", *sent, WAIT)
        .await;
}

#[tokio::test]
async fn each_turn_stores_its_latency_with_the_tool_time_split_out() {
    let (_guard, logs) = phone_test_support::logs::capture();
    let host = harness::start_with_calendar(SlowCalendar::new(TOOL_DELAY)).await;
    let call = sid(60);
    let mut twilio = host.connect_call(&call).await;
    host.openai.wait_for("session.update", 1, WAIT).await;
    host.greeting_done().await;
    let mut sent = 0;

    // Turn 0: the caller speaks half a second; the model answers at once.
    speak(&host, &mut twilio, 25, &mut sent).await;
    let turn = host.openai.vad_turn().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    host.openai
        .play(
            &turn,
            Response::new()
                .audio("item_a", &[1; 800])
                .transcript("item_a", "It is sunny.")
                .status(Status::Completed),
        )
        .await;
    twilio.recv_event("media", WAIT).await;

    // Turn 1: a tool call on the slow calendar, then the follow-up speaks.
    speak(&host, &mut twilio, 25, &mut sent).await;
    let turn = host.openai.vad_turn().await.unwrap();
    host.openai
        .play(
            &turn,
            Response::new()
                .function_call("call_lat", "list_events", r#"{"day":"2026-11-26"}"#)
                .status(Status::Completed),
        )
        .await;
    host.openai
        .wait_for("conversation.item.create", 1, WAIT)
        .await;
    host.openai
        .respond(
            Response::new()
                .audio("item_b", &[2; 800])
                .status(Status::Completed),
        )
        .await;
    twilio.recv_event("media", WAIT).await;

    twilio.stop(&call).await;
    host.wait_no_active_calls().await;
    host.assert_no_refusals().await;

    let sid = CallSid::parse(&call).unwrap();
    let turns = host
        .store
        .list_turn_latencies(&sid, &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(turns.len(), 2, "one row per assistant turn: {turns:#?}");
    for (i, t) in turns.iter().enumerate() {
        assert_eq!(t.index, i as u32);
        assert!(t.speech_ended_at < t.first_audio_at, "{t:?}");
        assert_eq!(
            t.total_ms,
            t.model_ms + t.tool_ms + t.transport_ms,
            "the parts add up: {t:?}"
        );
        let measured = (t.first_audio_at - t.speech_ended_at).whole_milliseconds();
        assert!(
            (measured - i128::from(t.total_ms)).abs() <= 1,
            "timestamps agree with the total: {t:?}"
        );
        assert!(t.total_ms < 5_000, "plausible on loopback: {t:?}");
    }
    assert!(
        turns[0].first_audio_at < turns[1].speech_ended_at,
        "turns in call order"
    );
    // The engine said speech ended at the end of the audio it had; that audio arrived before the
    // event, so the first turn's speech end is before the test asked for the reply.
    assert!(turns[0].total_ms >= 50, "{:?}", turns[0]);
    assert_eq!(turns[0].tool_ms, 0);
    assert!(
        turns[1].tool_ms >= TOOL_DELAY.as_millis() as u64 - 10,
        "the calendar's time is tool time: {:?}",
        turns[1]
    );
    assert!(turns[1].total_ms >= turns[1].tool_ms);

    let row = host.call_row(&call).await;
    let percentiles = row.latency.expect("percentiles on the call row");
    assert_eq!(percentiles.turns, 2);
    let mut totals = [turns[0].total_ms, turns[1].total_ms];
    totals.sort_unstable();
    assert_eq!(percentiles.p50_ms, Some(totals[0]));
    assert_eq!(percentiles.p95_ms, Some(totals[1]));

    let lines = logs.lines_with(&["turn latency metric written", &call]);
    assert_eq!(lines.len(), 1, "one EMF line per call: {}", logs.text());
    let emf = lines[0].split("emf=").nth(1).expect("the line is logged");
    let doc: Value = serde_json::from_str(emf.trim()).expect("EMF is one JSON object");
    assert_valid_emf(&doc);
    assert_eq!(
        doc["TurnLatency"],
        serde_json::json!([turns[0].total_ms, turns[1].total_ms])
    );
    assert_eq!(doc["TurnToolTime"][1], turns[1].tool_ms);
    assert_eq!(doc["Engine"], "realtime");
}

/// Checks a document against the CloudWatch Embedded Metric Format specification: the `_aws`
/// metadata (integer `Timestamp` in epoch milliseconds, a non-empty `CloudWatchMetrics` array of
/// directives with a 1–255 character `Namespace`, dimension sets of at most 30 names, at most 100
/// metric definitions with a `Name` and a standard `Unit`), every referenced dimension a string
/// member of the root, and every metric a number or an array of at most 100 numbers.
fn assert_valid_emf(doc: &Value) {
    const UNITS: [&str; 27] = [
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ];
    let root = doc.as_object().expect("the root is an object");
    let aws = root["_aws"].as_object().expect("_aws is an object");
    let timestamp = aws["Timestamp"].as_i64().expect("Timestamp is an integer");
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    assert!((now_ms - timestamp).abs() < 60_000, "Timestamp is epoch ms");
    let directives = aws["CloudWatchMetrics"].as_array().unwrap();
    assert!(!directives.is_empty());
    for directive in directives {
        let namespace = directive["Namespace"].as_str().unwrap();
        assert!((1..=255).contains(&namespace.len()));
        for set in directive["Dimensions"].as_array().unwrap() {
            let names = set.as_array().unwrap();
            assert!(names.len() <= 30);
            for name in names {
                let name = name.as_str().unwrap();
                assert!(
                    root[name].is_string(),
                    "dimension {name} is a string member"
                );
            }
        }
        let metrics = directive["Metrics"].as_array().unwrap();
        assert!(!metrics.is_empty() && metrics.len() <= 100);
        for metric in metrics {
            let name = metric["Name"].as_str().unwrap();
            assert!((1..=255).contains(&name.len()));
            if let Some(unit) = metric.get("Unit") {
                assert!(UNITS.contains(&unit.as_str().unwrap()), "unit {unit}");
            }
            match &root[name] {
                Value::Number(_) => {}
                Value::Array(values) => {
                    assert!(!values.is_empty() && values.len() <= 100);
                    assert!(values.iter().all(Value::is_number));
                }
                other => panic!("metric {name} is {other}, not a number or numbers"),
            }
        }
    }
}
