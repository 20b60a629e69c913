//! The official `openai` Python package as an oracle for Realtime events: every event must parse
//! as a member of the SDK's `RealtimeClientEvent` (what we send) or `RealtimeServerEvent` (what
//! the strict test double sends) union (`oracle/realtime_events.py`).
//!
//! Without `python3` or the package the check is skipped loudly; when `CI` is set it fails
//! instead, so CI cannot silently lose it.

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::python_oracle::Oracle;

const ORACLE: Oracle = Oracle {
    name: "openai oracle",
    install: "install it with `pip install openai` to check the Realtime events",
};

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
    let script = crate::paths::workspace_file("crates/test-support/oracle/realtime_events.py");
    let which = match union {
        Union::Client => "client",
        Union::Server => "server",
    };
    ORACLE
        .run_lines(&script, &[which], lines)
        .accepted_or_panic(&format!("{which} events rejected by the openai package"));
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
