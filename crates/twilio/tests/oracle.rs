//! Our signatures against the official Twilio helper library (PyPI `twilio`), an independent
//! oracle. Skipped with a loud message when the library is absent, except in CI.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use phone_twilio::signature::compute_signature;
use serde_json::json;

#[test]
fn signatures_match_the_official_twilio_library() {
    if !common::python_twilio_available() {
        return;
    }
    let p = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    let cases = vec![
        (
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            p(&[("CallSid", "CA1"), ("From", "+12349013030")]),
        ),
        ("tok", "https://example.com/voice/incoming", p(&[])),
        (
            "tok",
            "https://example.com:443/voice/incoming",
            p(&[("A", "1")]),
        ),
        (
            "tok",
            "http://127.0.0.1:8080/voice/status",
            p(&[("CallStatus", "completed"), ("CallDuration", "42")]),
        ),
        ("tok", "wss://stream.example.com/voice/stream", p(&[])),
        (
            "tok",
            "https://example.com/sms",
            p(&[("Body", "Grüße, 東京 ✓ & <tags>"), ("From", "+4930123456")]),
        ),
        (
            "tok",
            "https://example.com/sms",
            p(&[("MediaUrl", "b"), ("MediaUrl", "a"), ("Body", "")]),
        ),
        (
            "tok",
            "https://example.com/sms",
            p(&[("To", "x"), ("To", "x"), ("From", "y")]),
        ),
        (
            "another-token",
            "https://example.com/a?x=1&x=2",
            p(&[("Z", "z"), ("a", "A"), ("B", "b")]),
        ),
    ];
    let input = json!(
        cases
            .iter()
            .map(|(token, url, params)| json!({"token": token, "url": url, "params": params}))
            .collect::<Vec<_>>()
    );
    let script = common::package_dir().join("tests/oracle.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "oracle failed");
    let expected: Vec<String> = serde_json::from_slice(&output.stdout).unwrap();
    for ((token, url, params), want) in cases.iter().zip(expected) {
        assert_eq!(
            compute_signature(token, url, params),
            want,
            "{url} {params:?}"
        );
    }
}
