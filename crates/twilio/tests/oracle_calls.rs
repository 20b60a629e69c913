//! The outbound call form (`POST /Calls.json`) against the official Twilio helper library
//! (PyPI `twilio`): the library, given the same call, sends exactly the same fields and values
//! to the same path. Skipped with a loud message when the library is absent, except in CI.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use phone_core::PhoneNumber;
use phone_core::ports::OutboundCallRequest;
use phone_twilio::rest::call_form;
use serde_json::{Value, json};

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";

#[test]
fn the_call_form_matches_the_official_twilio_library() {
    if !common::python_twilio_available() {
        return;
    }
    let request = OutboundCallRequest {
        to: PhoneNumber::parse("+14155550123").unwrap(),
        voice_url: "https://h.example/voice/outbound?outbound=OB0123".into(),
        status_callback: "https://h.example/voice/outbound/status?outbound=OB0123".into(),
        amd_callback: "https://h.example/voice/outbound/amd?outbound=OB0123".into(),
        ring_timeout_secs: 30,
    };
    let ours: Vec<(String, String)> = call_form(&request, "+14155550999")
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let input = json!({
        "account": ACCOUNT, "to": request.to.as_str(), "from": "+14155550999",
        "url": request.voice_url, "status_callback": request.status_callback,
        "amd_callback": request.amd_callback, "timeout": request.ring_timeout_secs,
    });
    let script = common::package_dir().join("tests/oracle_calls.py");
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
    let sent: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(sent["method"], "POST");
    assert_eq!(
        sent["uri"],
        format!("https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Calls.json")
    );
    let mut theirs: Vec<(String, String)> = sent["form"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut ours_sorted = ours.clone();
    theirs.sort();
    ours_sorted.sort();
    assert_eq!(ours_sorted, theirs);
    // The repeated field keeps its order (Twilio reads each value).
    let events = |form: &[(String, String)]| -> Vec<String> {
        form.iter()
            .filter(|(k, _)| k == "StatusCallbackEvent")
            .map(|(_, v)| v.clone())
            .collect()
    };
    let theirs_in_order: Vec<(String, String)> = sent["form"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into()))
        .collect();
    assert_eq!(events(&ours), events(&theirs_in_order));
}
