//! The official `openai` Python package as the oracle of GPT-Live events: every event a test
//! recorded is validated against the SDK's `openai.types.live` client or server union
//! (`scripts/live_oracle.py`). Without the package the check is skipped loudly; with `CI` set,
//! a missing package fails instead, so CI cannot silently lose the check.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

/// Which union the events must belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Union {
    /// `openai.types.live.ClientEvent`: what a client sends.
    Client,
    /// `openai.types.live.ServerEvent` (and `ResponseStreamEvent` for nested backend events).
    Server,
}

/// Validates `events` against the SDK union; panics with every reason when one is invalid, and
/// when the package is missing under `CI`. Returns whether the check ran.
pub fn assert_valid(union: Union, events: &[Value]) -> bool {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/live_oracle.py");
    let side = match union {
        Union::Client => "client",
        Union::Server => "server",
    };
    assert!(!events.is_empty(), "no {side} events to validate");
    let input: String = events.iter().map(|e| format!("{e}\n")).collect();
    let child = Command::new("python3")
        .arg(script)
        .arg(side)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => return skip(&format!("python3 not runnable: {e}")),
    };
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("python3 reads stdin");
    let output = child.wait_with_output().expect("python3 finishes");
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => true,
        Some(3) => skip(&stderr),
        _ => panic!("{side} events rejected by the openai package's Live types:\n{stderr}"),
    }
}

fn skip(reason: &str) -> bool {
    assert!(
        std::env::var_os("CI").is_none(),
        "openai Live oracle unavailable in CI: {reason}"
    );
    eprintln!(
        "\n!!! SKIPPED openai Live oracle: {reason}\n!!! install it with `pip install openai` to check the Live events\n"
    );
    false
}
