//! The official `openai` Python package checking Chat Completions request bodies
//! (`oracle/chat_request.py`: `CompletionCreateParamsNonStreaming`, no unknown keys). Skipped
//! loudly without `python3` or the package; when `CI` is set it fails instead.

use serde_json::Value;

use crate::python_oracle::Oracle;

const ORACLE: Oracle = Oracle {
    name: "openai chat oracle",
    install: "install it with `pip install openai`",
};

/// Panics unless every body is a valid non-streaming Chat Completions request.
pub fn assert_requests_valid(bodies: &[Value]) {
    assert!(!bodies.is_empty(), "no requests to validate");
    let script = crate::paths::workspace_file("crates/test-support/oracle/chat_request.py");
    let lines: Vec<String> = bodies.iter().map(Value::to_string).collect();
    ORACLE
        .run_lines(&script, &[], &lines)
        .accepted_or_panic("Chat Completions requests rejected by the openai package");
}
