//! The PyPI `standardwebhooks` package (infra/local/install-deps.sh installs it) verifying our
//! webhook signatures (`oracle/standard_webhooks.py`). Without `python3` or the package the
//! check is skipped loudly; when `CI` is set it fails instead.

use serde_json::json;

use crate::python_oracle::Oracle;
use crate::webhook_receiver::Received;

const ORACLE: Oracle = Oracle {
    name: "standardwebhooks oracle",
    install: "run infra/local/install-deps.sh (pip install standardwebhooks)",
};

/// Panics unless every request verifies with `secret`, and fails once its body is changed.
pub fn assert_verified(secret: &str, requests: &[Received]) {
    assert!(!requests.is_empty(), "no webhook requests to verify");
    let script = crate::paths::workspace_file("crates/test-support/oracle/standard_webhooks.py");
    let lines: Vec<String> = requests
        .iter()
        .map(|r| {
            json!({"secret": secret, "id": r.id, "timestamp": r.timestamp,
                "signature": r.signature, "body": r.body})
            .to_string()
        })
        .collect();
    ORACLE
        .run_lines(&script, &[], &lines)
        .accepted_or_panic("standardwebhooks rejected our signatures");
}
