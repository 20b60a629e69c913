//! The official `openai` Python package as an oracle for Realtime events: every event must parse
//! as a member of the SDK's `RealtimeClientEvent` (what we send) or `RealtimeServerEvent` (what
//! the strict test double sends) union (`oracle/realtime_events.py`).
//!
//! Without `python3` or the package the check is skipped loudly; when `CI` is set it fails
//! instead, so CI cannot silently lose it.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

/// Which union the events must belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Union {
    /// `RealtimeClientEvent`.
    Client,
    /// `RealtimeServerEvent`.
    Server,
}

/// Panics unless every event is a valid `RealtimeClientEvent`.
pub fn assert_client_events_valid(events: &[Value]) {
    assert_valid(Union::Client, events);
}

/// Panics unless every event is a valid `RealtimeServerEvent`.
pub fn assert_server_events_valid(events: &[Value]) {
    assert_valid(Union::Server, events);
}

/// Panics unless every event belongs to `union`; skips (or fails under `CI`) without the oracle.
pub fn assert_valid(union: Union, events: &[Value]) {
    assert!(!events.is_empty(), "no events to validate");
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    assert_lines_valid(union, &lines);
}

/// Like [`assert_valid`], for events already serialised (one JSON object per string).
pub fn assert_lines_valid(union: Union, lines: &[String]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/oracle/realtime_events.py");
    let which = match union {
        Union::Client => "client",
        Union::Server => "server",
    };
    let child = Command::new("python3")
        .arg(script)
        .arg(which)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => return skip(&format!("python3 not runnable: {e}")),
    };
    let input = lines.join("\n");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("python3 reads stdin");
    let output = child.wait_with_output().expect("python3 finishes");
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(3) => skip(&stderr),
        _ => panic!("{which} events rejected by the openai package:\n{stderr}"),
    }
}

/// Whether `python3` can import the SDK's Realtime types (so a check would really run).
pub fn available() -> bool {
    Command::new("python3")
        .args(["-c", "import openai.types.realtime, pydantic"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn skip(reason: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "openai oracle unavailable in CI: {reason}"
    );
    eprintln!(
        "\n!!! SKIPPED openai oracle: {reason}\n!!! install it with `pip install openai` to check the Realtime events\n"
    );
}
