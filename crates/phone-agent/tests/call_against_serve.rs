//! `phone-agent call` against `phone-agent serve` on loopback: the real binary serves, with the
//! offline Realtime stand-in as its OpenAI, and a simulated Twilio call goes through it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use phone_simulator::caller::{
    self, CallEvent, CallPlan, CallTarget, Cue, Emitter, EndedBy, NextVerb, Utterance,
};
use phone_simulator::offline::{OfflineConfig, OfflineRealtime, Script};
use phone_simulator::{audio, audio::speech};

const TOKEN: &str = "test-auth-token";
const API_KEY: &str = "test-api-key";
const OPENAI_KEY: &str = "offline-test-key";

/// `phone-agent serve`, killed when dropped.
struct Serve {
    child: Child,
    base: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn serve(realtime_url: &str) -> Serve {
    serve_with(realtime_url, &[]).await
}

/// `phone-agent serve` with extra settings.
async fn serve_with(realtime_url: &str, extra: &[(&str, &str)]) -> Serve {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_phone-agent"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("TWILIO_AUTH_TOKEN", TOKEN)
        .env("API_KEY", API_KEY)
        .env("OPENAI_API_KEY", OPENAI_KEY)
        .env("OPENAI_REALTIME_URL", realtime_url)
        // Loopback only: the text model (post-call analysis) is a closed local port unless a
        // test gives a Chat Completions test server.
        .env("OPENAI_API_BASE_URL", "http://127.0.0.1:9/v1")
        .env("RUST_LOG", "warn")
        .envs(extra.iter().copied())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let server = Serve { child, base };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("{}/health", server.base)).await
            && r.status().is_success()
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("phone-agent serve did not become healthy");
}

async fn standin() -> OfflineRealtime {
    OfflineRealtime::start(OfflineConfig {
        model: phone_config::DEFAULT_REALTIME_MODEL.into(),
        script: Script::dentist(time::macros::date!(2026 - 11 - 25)),
        api_key: Some(OPENAI_KEY.into()),
        use_espeak: false,
    })
    .await
    .unwrap()
}

fn target(base: &str) -> CallTarget {
    CallTarget {
        server: base.into(),
        public_url: None,
        auth_token: TOKEN.into(),
        api_key: Some(API_KEY.into()),
        from: "+15550100123".into(),
        to: "+15550100999".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_call_goes_through_serve_and_is_reported() {
    let standin = standin().await;
    let analysis = serde_json::json!({"summary": "The caller asked to book a dentist.",
        "success": true, "reason": "A booking was asked for.",
        "fields": {"appointment_booked": false, "callback_number": null}});
    let chat = phone_test_support::openai_chat::ChatTestServer::start(vec![
        phone_test_support::openai_chat::ChatScript::Text(analysis.to_string()),
    ])
    .await;
    let server = serve_with(&standin.url(), &[("OPENAI_API_BASE_URL", chat.base_url())]).await;
    let words = speech::speech_like("I would like to book a dentist appointment", 120.0);
    let mut bytes = audio::to_mulaw(&words).unwrap();
    bytes.extend(vec![audio::mulaw::SILENCE; 2400]);
    let plan = CallPlan {
        utterances: vec![Utterance::new(
            "book a dentist",
            &bytes,
            Cue::AfterReply {
                pause: Duration::from_millis(400),
            },
        )],
        reply_timeout: Duration::from_secs(15),
        linger: Duration::from_millis(800),
        max_duration: Duration::from_secs(60),
    };
    let record = std::env::temp_dir().join(format!("call-test-{}.wav", std::process::id()));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let summary = caller::place_call(
        &target(&server.base),
        &plan,
        Emitter::new(tx),
        Some(record.clone()),
    )
    .await
    .unwrap();
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }

    assert!(
        matches!(events[0], CallEvent::Answered { ref parameters, .. } if parameters.contains(&"token".to_string()))
    );
    // The greeting and the reply to the one utterance were heard, and the reply's latency
    // (end of speech to first audio) includes the stand-in's 500 ms VAD hangover.
    assert_eq!(summary.reply_latencies_ms.len(), 1, "{events:?}");
    assert!((400..3000).contains(&summary.reply_latencies_ms[0]));
    assert!(summary.audio_received_ms > 2000);
    assert!(summary.marks_received > 0);
    assert_eq!(
        summary.marks_echoed, summary.marks_received,
        "every mark comes back"
    );
    assert_eq!(summary.unknown_messages, 0);
    // About one frame per 20 ms of call.
    let expected = summary.duration_ms / 20;
    assert!(summary.frames_sent.abs_diff(expected) <= 2);

    let report = summary.server_report.expect("GET /calls/{sid} answered");
    assert_eq!(report["status"], "completed");
    assert_eq!(
        report["stats"]["frames_in"].as_u64(),
        Some(summary.frames_sent)
    );
    assert!(report["cost_usd"].as_f64().unwrap() > 0.0);
    let transcript = report["transcript"].as_array().unwrap();
    assert_eq!(transcript[0]["role"], "assistant", "greeting first");
    assert!(
        transcript
            .iter()
            .any(|t| t["text"] == "Hi, I'd like to book a dentist appointment.")
    );

    let heard = audio::read_wav(&record).unwrap();
    std::fs::remove_file(&record).ok();
    assert_eq!(heard.rate, 8000);
    assert_eq!(heard.duration_ms(), summary.duration_ms);

    // After the call, serve analyses it in the background with the text model (structured
    // output); the report then carries the analysis.
    let url = format!("{}/calls/{}", server.base, summary.call_sid);
    let deadline = Instant::now() + Duration::from_secs(10);
    let stored = loop {
        let report: serde_json::Value = reqwest::Client::new()
            .get(&url)
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !report["analysis"].is_null() || Instant::now() > deadline {
            break report["analysis"].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(stored["status"], "valid", "{stored}");
    assert_eq!(stored["summary"], analysis["summary"]);
    let requests = chat.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].1["response_format"]["type"], "json_schema");
    assert!(
        requests[0]
            .1
            .to_string()
            .contains("book a dentist appointment")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_requests_are_refused_by_serve() {
    let standin = standin().await;
    let server = serve(&standin.url()).await;
    let probe = caller::probe_forgeries(
        &target(&server.base),
        &format!("{}/voice/stream", server.base.replace("http://", "ws://")),
    )
    .await
    .unwrap();
    assert_eq!(probe.webhook_status, 403);
    assert!(probe.stream_refused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_subcommand_runs_against_serve() {
    let standin = standin().await;
    let server = serve(&standin.url()).await;
    let record = std::env::temp_dir().join(format!("call-cli-{}.wav", std::process::id()));
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_phone-agent"))
        .args([
            "call",
            "--server",
            &server.base,
            "--auth-token",
            TOKEN,
            "--api-key",
            API_KEY,
        ])
        .args([
            "--say",
            "Hello there, can you hear me?",
            "--max-seconds",
            "40",
        ])
        .arg("--record")
        .arg(&record)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("ring: POST /voice/incoming (signed) -> 200"),
        "{stdout}"
    );
    assert!(stdout.contains("assistant audio starts"), "{stdout}");
    assert!(stdout.contains("summary of CA"), "{stdout}");
    assert!(record.exists());
    std::fs::remove_file(&record).ok();
}

#[tokio::test]
async fn serve_cuts_off_a_client_trickling_its_headers() {
    let server = serve_with(
        "ws://127.0.0.1:9/v1/realtime",
        &[("HEADER_READ_TIMEOUT_SECS", "1")],
    )
    .await;
    let addr = server.base.trim_start_matches("http://").parse().unwrap();
    let closed = phone_test_support::slowloris::time_until_closed(
        addr,
        Duration::from_millis(100),
        Duration::from_secs(10),
    )
    .await
    .unwrap()
    .expect("serve closes a connection whose headers never end");
    assert!(
        closed >= Duration::from_millis(900) && closed < Duration::from_secs(4),
        "closed after {closed:?}, expected about 1 s"
    );
    let health = reqwest::get(format!("{}/health", server.base))
        .await
        .unwrap();
    assert!(health.status().is_success(), "other clients are served");
}

/// OpenAI is down (nothing listens on its port): the stream host records it and closes the
/// stream, Twilio asks the `<Connect action>` what next, and the caller hears the apology
/// instead of silence while the owner is texted, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_hears_an_apology_when_openai_is_unreachable_and_the_owner_is_texted() {
    const OWNER: &str = "+15550100777";
    let server = serve_with("ws://127.0.0.1:1/v1/realtime", &[("OWNER_NUMBERS", OWNER)]).await;
    let plan = CallPlan {
        utterances: vec![],
        reply_timeout: Duration::from_secs(5),
        linger: Duration::from_secs(5),
        max_duration: Duration::from_secs(20),
    };
    let summary = caller::place_call(&target(&server.base), &plan, Emitter::default(), None)
        .await
        .unwrap();
    assert_eq!(summary.ended_by, EndedBy::Server);
    assert_eq!(
        summary.after_stream,
        Some(vec![
            NextVerb::Say(
                "Sorry, I'm having technical trouble and can't continue this call. We'll text you back shortly. Goodbye."
                    .into()
            ),
            NextVerb::Hangup,
        ])
    );
    let report = summary.server_report.expect("GET /calls/{sid} answered");
    assert_eq!(report["stream_end"], "openai_unreachable");

    // The SMS is sent after the TwiML answer: give it a moment.
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    let messages = loop {
        let list: serde_json::Value = http
            .get(format!("{}/sms/list", server.base))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let messages = list["messages"].as_array().cloned().unwrap_or_default();
        if !messages.is_empty() || Instant::now() > deadline {
            break messages;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["to"], OWNER);
    let body = messages[0]["body"].as_str().unwrap();
    assert!(body.contains("+15550100123"), "{body}");
    assert!(body.contains("OpenAI could not be reached"), "{body}");
}

/// `serve` runs the local reminder scheduler: a reminder set through `POST /agent` is accepted
/// (with no scheduler the tool refuses it), listed by `GET /reminders`, and cancelled by
/// `DELETE /reminders/{id}`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_accepts_lists_and_cancels_reminders() {
    let server = serve_with("ws://127.0.0.1:9", &[("OWNER_NUMBERS", "+14155550123")]).await;
    let http = reqwest::Client::new();
    let tomorrow = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let at = format!(
        "{:04}-{:02}-{:02}T09:00",
        tomorrow.year(),
        u8::from(tomorrow.month()),
        tomorrow.day()
    );
    let set: serde_json::Value = http
        .post(format!("{}/agent", server.base))
        .bearer_auth(API_KEY)
        .header("Idempotency-Key", "reminder-1")
        .json(&serde_json::json!({"action": "schedule_reminder",
            "params": {"channel": "sms", "message": "renew the parking permit", "at": at}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = set["scheduled"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("not scheduled: {set}"))
        .to_owned();
    let listed: serde_json::Value = http
        .get(format!("{}/reminders", server.base))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["reminders"][0]["id"], id.as_str(), "{listed}");
    assert_eq!(listed["reminders"][0]["status"], "pending");
    let cancelled = http
        .delete(format!("{}/reminders/{id}", server.base))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
}
