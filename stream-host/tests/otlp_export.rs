//! OpenTelemetry export of calls over OTLP/HTTP to a loopback receiver. One test in this binary:
//! it sets the process's OTEL_* variables, which the host reads when it starts.
//!
//! Not configured, or configured with `OTEL_SDK_DISABLED=true`: a call sends nothing. Configured
//! (http/json): the call arrives as one trace, a `call` span with a `turn` span per assistant
//! turn and a `tool` span per tool run under it, with the latency split as attributes.

mod harness;

use std::time::Duration;

use harness::{SlowCalendar, WAIT, b64, sid};
use phone_test_support::otlp_receiver::OtlpReceiver;
use phone_test_support::realtime_server::{Response, Status};
use serde_json::Value;

/// One call with a tool turn on `host`, to its end.
async fn tool_call(host: &harness::Host, call: &str) {
    let mut twilio = host.connect_call(call).await;
    host.openai.wait_for("session.update", 1, WAIT).await;
    host.greeting_done().await;
    for _ in 0..10 {
        twilio.media(&b64(&[0x55; 160])).await;
    }
    host.openai
        .wait_for("input_audio_buffer.append", 10, WAIT)
        .await;
    let turn = host.openai.vad_turn().await.unwrap();
    host.openai
        .play(
            &turn,
            Response::new()
                .function_call("call_otel", "list_events", r#"{"day":"2026-11-26"}"#)
                .status(Status::Completed),
        )
        .await;
    host.openai
        .wait_for("conversation.item.create", 1, WAIT)
        .await;
    host.openai
        .respond(
            Response::new()
                .audio("item_r", &[3; 800])
                .status(Status::Completed),
        )
        .await;
    twilio.recv_event("media", WAIT).await;
    twilio.stop(call).await;
    host.wait_no_active_calls().await;
}

fn attribute<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

fn set(key: &str, value: &str) {
    // SAFETY: the only test of this binary; nothing else reads the environment meanwhile.
    unsafe { std::env::set_var(key, value) }
}

#[tokio::test]
async fn a_call_is_one_trace_with_its_turns_and_tools_only_when_configured() {
    let receiver = OtlpReceiver::start().await;

    // Not configured: nothing is sent.
    let host = harness::start_with_calendar(SlowCalendar::new(Duration::from_millis(100))).await;
    tool_call(&host, &sid(70)).await;
    // Configured but disabled by OTEL_SDK_DISABLED: nothing either.
    set("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint());
    set("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json");
    set("OTEL_SERVICE_NAME", "phone-test");
    set("OTEL_SDK_DISABLED", "true");
    let host = harness::start_with_calendar(SlowCalendar::new(Duration::from_millis(100))).await;
    tool_call(&host, &sid(71)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(receiver.received().is_empty(), "nothing sent when off");

    set("OTEL_SDK_DISABLED", "false");
    let host = harness::start_with_calendar(SlowCalendar::new(Duration::from_millis(100))).await;
    let call = sid(72);
    tool_call(&host, &call).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while receiver.json_spans().len() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "spans not exported: {:?}",
            receiver.received()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let spans = receiver.json_spans();
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let named =
        |name: &str| -> Vec<&Value> { spans.iter().filter(|s| s["name"] == name).collect() };
    let (root, turns, tools) = (named("call"), named("turn"), named("tool"));
    assert_eq!((root.len(), turns.len(), tools.len()), (1, 1, 1));
    let root = root[0];
    let trace_id = root["traceId"].as_str().unwrap();
    assert_eq!(trace_id.len(), 32, "hex trace id");
    assert!(spans.iter().all(|s| s["traceId"] == trace_id), "one trace");
    assert!(root["parentSpanId"].as_str().unwrap_or_default().is_empty());
    for child in [turns[0], tools[0]] {
        assert_eq!(child["parentSpanId"], root["spanId"], "under the call span");
    }
    assert_eq!(attribute(root, "call.sid").unwrap()["stringValue"], call);
    let service = root["resource"]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == "service.name")
        .unwrap();
    assert_eq!(service["value"]["stringValue"], "phone-test");

    let turn = turns[0];
    let tool = tools[0];
    assert_eq!(
        attribute(tool, "tool.name").unwrap()["stringValue"],
        "list_events"
    );
    assert_eq!(attribute(tool, "turn.index").unwrap()["intValue"], "0");
    let ns = |span: &Value, field: &str| -> u128 { span[field].as_str().unwrap().parse().unwrap() };
    let tool_ms = attribute(turn, "latency.tool_ms").unwrap()["intValue"]
        .as_str()
        .unwrap()
        .parse::<u128>()
        .unwrap();
    assert!(tool_ms >= 90, "tool time on the turn: {tool_ms}");
    assert!(ns(root, "startTimeUnixNano") <= ns(turn, "startTimeUnixNano"));
    assert!(ns(turn, "startTimeUnixNano") < ns(tool, "startTimeUnixNano"));
    assert!(ns(tool, "endTimeUnixNano") < ns(turn, "endTimeUnixNano"));
    assert!(ns(turn, "endTimeUnixNano") <= ns(root, "endTimeUnixNano"));
    let turn_ms = (ns(turn, "endTimeUnixNano") - ns(turn, "startTimeUnixNano")) / 1_000_000;
    let total = attribute(turn, "latency.total_ms").unwrap()["intValue"]
        .as_str()
        .unwrap()
        .parse::<u128>()
        .unwrap();
    assert!(turn_ms.abs_diff(total) <= 1, "{turn_ms} vs {total}");
}
