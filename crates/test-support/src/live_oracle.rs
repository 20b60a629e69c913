//! The official `openai` Python package as the oracle of GPT-Live events: every event a test
//! recorded is validated against the SDK's `openai.types.live` client or server union
//! (`scripts/live_oracle.py`). Without the package the check is skipped loudly; with `CI` set,
//! a missing package fails instead, so CI cannot silently lose the check.

use serde_json::Value;

use crate::python_oracle::Oracle;

const ORACLE: Oracle = Oracle {
    name: "openai Live oracle",
    install: "install it with `pip install openai` to check the Live events",
};

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
    let script = crate::paths::workspace_file("crates/test-support/scripts/live_oracle.py");
    let side = match union {
        Union::Client => "client",
        Union::Server => "server",
    };
    assert!(!events.is_empty(), "no {side} events to validate");
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    ORACLE
        .run_lines(&script, &[side], &lines)
        .accepted_or_panic(&format!(
            "{side} events rejected by the openai package's Live types"
        ))
        .is_some()
}
