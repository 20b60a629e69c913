//! `phone-agent demo --scenario reminder` end to end: the real binary sets a call reminder
//! through `POST /agent`, its local scheduler fires it, the local dialer places the call and
//! the simulated owner answers it as Twilio would. The test then reads the result through the
//! demo server's REST API (kept up with `--keep-serving`): the reminder was delivered by an
//! outbound call whose transcript starts with the greeting naming the reminder.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// The demo's process, killed when dropped.
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The text after `marker` on the first line holding it.
fn after<'a>(lines: &'a [String], marker: &str) -> Option<&'a str> {
    lines
        .iter()
        .find_map(|l| l.split_once(marker).map(|(_, rest)| rest.trim()))
}

async fn get(http: &reqwest::Client, url: &str, key: &str) -> Value {
    let res = http.get(url).bearer_auth(key).send().await.unwrap();
    assert_eq!(res.status(), 200, "GET {url}");
    res.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reminder_demo_calls_the_owner_who_hears_the_greeting_with_the_purpose() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_phone-agent"))
        .args(["demo", "--scenario", "reminder", "--keep-serving"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _demo = Demo(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    // Until the demo says it keeps serving (it has checked every step by then).
    let mut lines = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(90))
            .unwrap_or_else(|_| panic!("the demo did not finish:\n{}", lines.join("\n")));
        let done = line.contains("serving until ctrl-c");
        lines.push(line);
        if done {
            break;
        }
    }
    let log = lines.join("\n");
    assert!(log.contains("every step worked."), "{log}");
    assert!(!log.contains("FAILED"), "{log}");
    let key = after(&lines, "log in with this run's API key:").expect("the API key");
    let console = after(&lines, "console:  open ").expect("the console URL");
    let base = console.split("/console").next().unwrap().to_owned();
    let http = reqwest::Client::new();

    // The reminder: a call, fired, delivered by an outbound request.
    let list = get(&http, &format!("{base}/reminders"), key).await;
    let reminders = list["reminders"].as_array().unwrap();
    assert_eq!(reminders.len(), 1, "{list}");
    let reminder = &reminders[0];
    assert_eq!(reminder["channel"], "call");
    assert_eq!(reminder["status"], "fired", "{reminder}");
    assert_eq!(reminder["to"], "+15550100123", "the owner's number");
    let ob = reminder["delivery_id"].as_str().unwrap();
    assert!(ob.starts_with("OB"), "{reminder}");

    // The outbound request: answered by a person, one attempt.
    let request = get(&http, &format!("{base}/calls/{ob}"), key).await;
    assert_eq!(request["outcome"], "human", "{request}");
    assert_eq!(request["status"], "completed");
    let purpose = "a reminder: the dentist appointment tomorrow at 15:00";
    assert_eq!(request["purpose"], purpose);
    let calls = request["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["direction"], "outbound");
    assert_eq!(calls[0]["answered_by"], "human");
    let sid = calls[0]["call_sid"].as_str().unwrap();
    assert!(
        console.ends_with(sid),
        "the console URL is the call's: {console}"
    );

    // Its transcript starts with the greeting naming the reminder.
    let call = get(&http, &format!("{base}/calls/{sid}"), key).await;
    let transcript = call["transcript"].as_array().unwrap();
    assert_eq!(transcript[0]["role"], "assistant", "{call}");
    assert_eq!(
        transcript[0]["text"],
        format!("Hi, this is Ava calling for Sam about {purpose}.")
    );
    assert_eq!(call["status"], "completed");
}
