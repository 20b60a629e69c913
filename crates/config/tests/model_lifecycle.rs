//! The default OpenAI models, checked against the installed official `openai` Python package
//! (`model_lifecycle.py`): none may have an announced shutdown date in the SDK's docstrings, and
//! each must be a model the SDK lists for its use. The next retirement fails this test the day
//! the SDK is upgraded. Skipped loudly when the package is missing or older than 3.57; fails
//! instead when `CI` is set, so CI cannot silently lose the check.

use std::process::{Command, Output};

use phone_config::{DEFAULT_REALTIME_MODEL, DEFAULT_TEXT_MODEL, DEFAULT_TRANSCRIPTION_MODEL};

/// Runs the checker on `KIND=MODEL` pairs; `None` when it cannot run (skipped).
fn check(models: &[(&str, &str)]) -> Option<Output> {
    let script = std::path::Path::new(&package_dir()).join("tests/model_lifecycle.py");
    let output = Command::new("python3")
        .arg(script)
        .args(models.iter().map(|(kind, model)| format!("{kind}={model}")))
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) => {
            skip(&format!("python3 not runnable: {e}"));
            return None;
        }
    };
    if output.status.code() == Some(3) {
        skip(&String::from_utf8_lossy(&output.stderr));
        return None;
    }
    Some(output)
}

#[test]
fn no_default_model_has_an_announced_shutdown_date() {
    let Some(output) = check(&[
        ("realtime", DEFAULT_REALTIME_MODEL),
        ("transcription", DEFAULT_TRANSCRIPTION_MODEL),
        ("text", DEFAULT_TEXT_MODEL),
    ]) else {
        return;
    };
    assert!(
        output.status.success(),
        "a default OpenAI model is retiring or unknown to the SDK; change the default in \
         crates/config/src/openai.rs:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_check_flags_the_previous_defaults() {
    // The defaults before gpt-realtime-2.1: the SDK 3.57 announces a shutdown for each. Should a
    // later SDK drop them from its lists, they are flagged as unknown instead; either way the
    // check must fail and name them, or it would pass anything.
    let old = [
        ("realtime", "gpt-realtime"),
        ("transcription", "gpt-4o-transcribe"),
        ("text", "gpt-4.1-mini"),
    ];
    let Some(output) = check(&old) else {
        return;
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for (kind, model) in old {
        assert!(
            stderr.contains(&format!("{kind} model {model}:")),
            "{model} not flagged:\n{stderr}"
        );
    }
}

fn skip(reason: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "openai model lifecycle check unavailable in CI: {reason}"
    );
    eprintln!(
        "\n!!! SKIPPED openai model lifecycle check: {reason}\n!!! install it with \
         `pip install 'openai>=3.57'` to check the default models\n"
    );
}

/// This package's directory as cargo gives it to the test process (not the one compiled in: a
/// shared target directory reuses test binaries across checkouts: phone_test_support::paths).
fn package_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into())
}
