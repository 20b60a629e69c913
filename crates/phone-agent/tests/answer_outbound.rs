//! `phone-agent call --answer-outbound` against `phone-agent serve` on loopback: a call placed
//! with `POST /calls` through the local dialer is answered by the simulated answering machine
//! (greeting, beep), which gets Twilio's signed webhooks and AMD verdict `machine_end_beep`;
//! the assistant leaves its message and the request ends `voicemail_left`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use phone_simulator::offline::{OfflineConfig, OfflineRealtime, Script};
use serde_json::{Value, json};

const TOKEN: &str = "answer-test-auth-token";
const API_KEY: &str = "answer-test-api-key";
const OPENAI_KEY: &str = "offline-test-key";

/// A child process, killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulated_machine_answers_an_outbound_call_and_a_voicemail_is_left() {
    let standin = OfflineRealtime::start(OfflineConfig {
        model: phone_config::DEFAULT_REALTIME_MODEL.into(),
        script: Script::dentist(time::macros::date!(2026 - 11 - 25)),
        api_key: Some(OPENAI_KEY.into()),
        use_espeak: false,
    })
    .await
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let _serve = Killed(
        Command::new(env!("CARGO_BIN_EXE_phone-agent"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("TWILIO_AUTH_TOKEN", TOKEN)
            .env("API_KEY", API_KEY)
            .env("OPENAI_API_KEY", OPENAI_KEY)
            .env("OPENAI_REALTIME_URL", standin.url())
            .env("OPENAI_API_BASE_URL", "http://127.0.0.1:9/v1")
            .env("OUTBOUND_CALL_WINDOW", "00:00-24:00")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !http
        .get(format!("{base}/health"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "serve did not become healthy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let placed: Value = http
        .post(format!("{base}/calls"))
        .bearer_auth(API_KEY)
        .json(
            &json!({"to": "+15550100777", "purpose": "your parcel delivery",
            "instructions": "Say the parcel comes tomorrow."}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ob = placed["id"].as_str().unwrap().to_owned();
    assert_eq!(placed["calls"][0]["status"], "queued", "{placed}");

    let answered = tokio::task::spawn_blocking({
        let base = base.clone();
        move || {
            Command::new(env!("CARGO_BIN_EXE_phone-agent"))
                .args(["call", "--server", &base, "--auth-token", TOKEN])
                .args(["--api-key", API_KEY, "--answer-outbound", "latest"])
                .args(["--callee", "machine", "--max-seconds", "60"])
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("RUST_LOG", "warn")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let out = String::from_utf8_lossy(&answered.stdout);
    assert!(
        answered.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&answered.stderr)
    );
    assert!(
        out.contains(&format!(
            "answer: POST /voice/outbound?outbound={ob} (signed) -> 200"
        )),
        "{out}"
    );
    assert!(
        out.contains("AnsweredBy=machine_end_beep (signed) -> 204"),
        "{out}"
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    let request = loop {
        let request: Value = http
            .get(format!("{base}/calls/{ob}"))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if request["status"] == "completed" || Instant::now() > deadline {
            break request;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(request["outcome"], "voicemail_left", "{request}");
    assert_eq!(request["calls"][0]["answered_by"], "machine_end_beep");
    assert_eq!(request["calls"][0]["status"], "completed");
}
