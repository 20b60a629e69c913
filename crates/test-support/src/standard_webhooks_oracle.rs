//! The PyPI `standardwebhooks` package (infra/local/install-deps.sh installs it) verifying our
//! webhook signatures (`oracle/standard_webhooks.py`). Without `python3` or the package the
//! check is skipped loudly; when `CI` is set it fails instead.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::webhook_receiver::Received;

/// Panics unless every request verifies with `secret`, and fails once its body is changed.
pub fn assert_verified(secret: &str, requests: &[Received]) {
    assert!(!requests.is_empty(), "no webhook requests to verify");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/oracle/standard_webhooks.py");
    let lines: Vec<String> = requests
        .iter()
        .map(|r| {
            json!({"secret": secret, "id": r.id, "timestamp": r.timestamp,
                "signature": r.signature, "body": r.body})
            .to_string()
        })
        .collect();
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
        _ => panic!("standardwebhooks rejected our signatures:\n{stderr}"),
    }
}

fn skip(reason: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "standardwebhooks oracle unavailable in CI: {reason}"
    );
    eprintln!(
        "\n!!! SKIPPED standardwebhooks oracle: {reason}\n!!! run infra/local/install-deps.sh (pip install standardwebhooks)\n"
    );
}
