//! The official `openai` Python package checking Chat Completions request bodies
//! (`oracle/chat_request.py`: `CompletionCreateParamsNonStreaming`, no unknown keys). Skipped
//! loudly without `python3` or the package; when `CI` is set it fails instead.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

/// Panics unless every body is a valid non-streaming Chat Completions request.
pub fn assert_requests_valid(bodies: &[Value]) {
    assert!(!bodies.is_empty(), "no requests to validate");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/oracle/chat_request.py");
    let lines: Vec<String> = bodies.iter().map(Value::to_string).collect();
    let child = Command::new("python3")
        .arg(script)
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
        .write_all(lines.join("\n").as_bytes())
        .expect("python3 reads stdin");
    let output = child.wait_with_output().expect("python3 finishes");
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(3) => skip(&stderr),
        _ => panic!("Chat Completions requests rejected by the openai package:\n{stderr}"),
    }
}

fn skip(reason: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "openai chat oracle unavailable in CI: {reason}"
    );
    eprintln!(
        "\n!!! SKIPPED openai chat oracle: {reason}\n!!! install it with `pip install openai`\n"
    );
}
