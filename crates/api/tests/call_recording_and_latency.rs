//! Recording (`RECORDING=dual`) and the call report's latency, over real HTTP on loopback: the
//! voice webhook starts a dual-channel recording before the stream only when asked, the signed
//! recording callback stores the link on the call row (unsigned or malformed ones are refused),
//! and `GET /calls/{sid}` reports the recording and the per-turn latency with percentiles.

use std::collections::BTreeMap;
use std::sync::Arc;

use phone_api::AppState;
use phone_config::Config;
use phone_core::{CallSid, LatencyPercentiles, Store, SystemClock, TurnLatency};
use phone_local::LocalRecords;
use phone_test_support::twilio_webhook::{form, signed_post};

const AUTH_TOKEN: &str = "test-auth-token-0123456789abcdef";
const API_KEY: &str = "test-api-key";
const SID: &str = "CA0123456789abcdef0123456789abcd01";
const REC: &str = "RE0123456789abcdef0123456789abcd01";

struct Server {
    base: String,
    store: Store,
    http: reqwest::Client,
}

async fn start(extra: &[(&str, &str)]) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let env: BTreeMap<String, String> = [
        ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
        ("API_KEY", API_KEY),
        ("PUBLIC_BASE_URL", base.as_str()),
        ("STREAM_PUBLIC_URL", "wss://stream.example.com/voice/stream"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let config = Config::from_map(&env).unwrap();
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        Arc::new(SystemClock),
        config.retention,
    );
    let app = phone_api::routes::all(AppState::new(config, store.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        base,
        store,
        http: reqwest::Client::new(),
    }
}

fn voice_form() -> Vec<(String, String)> {
    form(&[
        ("CallSid", SID),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("From", "+14155550123"),
        ("To", "+14155550999"),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
    ])
}

fn recording_form(status: &str) -> Vec<(String, String)> {
    form(&[
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("CallSid", SID),
        ("RecordingSid", REC),
        (
            "RecordingUrl",
            "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Recordings/RE0123456789abcdef0123456789abcd01",
        ),
        ("RecordingStatus", status),
        ("RecordingDuration", "37"),
        ("RecordingChannels", "2"),
        ("RecordingSource", "StartCallRecordingTwiML"),
    ])
}

impl Server {
    async fn post_signed(&self, path: &str, form: &[(String, String)]) -> reqwest::Response {
        let url = format!("{}{}", self.base, path);
        signed_post(&self.http, AUTH_TOKEN, &url, form)
            .send()
            .await
            .unwrap()
    }

    async fn report(&self) -> serde_json::Value {
        let res = self
            .http
            .get(format!("{}/calls/{SID}", self.base))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }
}

#[tokio::test]
async fn no_recording_by_default() {
    let server = start(&[]).await;
    let twiml = server
        .post_signed("/voice/incoming", &voice_form())
        .await
        .text()
        .await
        .unwrap();
    assert!(twiml.contains("<Connect"));
    assert!(!twiml.contains("<Recording"), "{twiml}");
    let report = server.report().await;
    assert!(report.get("recording").is_none());
}

#[tokio::test]
async fn a_dual_recording_starts_before_the_stream_and_its_link_reaches_the_report() {
    let server = start(&[("RECORDING", "dual")]).await;
    let twiml = server
        .post_signed("/voice/incoming", &voice_form())
        .await
        .text()
        .await
        .unwrap();
    let recording = twiml.find("<Start><Recording").expect("recording started");
    assert!(recording < twiml.find("<Connect").unwrap(), "{twiml}");
    assert!(twiml.contains(r#"channels="dual""#));
    assert!(twiml.contains(&format!(
        r#"recordingStatusCallback="{}/voice/recording""#,
        server.base
    )));

    // Unsigned, or signed but malformed: refused, nothing stored.
    let unsigned = server
        .http
        .post(format!("{}/voice/recording", server.base))
        .form(&recording_form("completed"))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403);
    let mut bad = recording_form("completed");
    bad[3].1 = "http://elsewhere.example/r".into();
    assert_eq!(
        server.post_signed("/voice/recording", &bad).await.status(),
        400
    );
    let sid = CallSid::parse(SID).unwrap();
    assert_eq!(server.store.get_call(&sid).await.unwrap().recording, None);

    for status in ["in-progress", "completed"] {
        let res = server
            .post_signed("/voice/recording", &recording_form(status))
            .await;
        assert_eq!(res.status(), 204);
    }
    let report = server.report().await;
    assert_eq!(report["recording"]["sid"], REC);
    assert_eq!(report["recording"]["status"], "completed");
    assert_eq!(report["recording"]["channels"], 2);
    assert_eq!(report["recording"]["duration_secs"], 37);
    assert!(report["recording"]["url"].as_str().unwrap().ends_with(REC));

    // A callback for a call never seen is acknowledged, not stored.
    let mut other = recording_form("completed");
    other[1].1 = "CA0123456789abcdef0123456789abcd02".into();
    assert_eq!(
        server
            .post_signed("/voice/recording", &other)
            .await
            .status(),
        204
    );
}

#[tokio::test]
async fn the_report_carries_each_turns_latency_and_the_percentiles() {
    let server = start(&[]).await;
    server.post_signed("/voice/incoming", &voice_form()).await;
    let sid = CallSid::parse(SID).unwrap();
    let report = server.report().await;
    assert_eq!(
        report["latency"],
        serde_json::json!({"turns": [], "p50_ms": null, "p95_ms": null, "p99_ms": null})
    );

    let at = time::OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
    let turns: Vec<TurnLatency> = [(640, 0), (910, 300), (720, 0)]
        .into_iter()
        .enumerate()
        .map(|(i, (total, tool))| TurnLatency {
            index: i as u32,
            speech_ended_at: at + time::Duration::seconds(10 * i as i64),
            first_audio_at: at
                + time::Duration::seconds(10 * i as i64)
                + time::Duration::milliseconds(total as i64),
            total_ms: total,
            model_ms: total - tool - 5,
            tool_ms: tool,
            transport_ms: 5,
        })
        .collect();
    for turn in &turns {
        server.store.append_turn_latency(&sid, turn).await.unwrap();
    }
    // A call in progress: percentiles of the turns so far.
    let live = server.report().await;
    assert_eq!(live["latency"]["p50_ms"], 720);
    assert_eq!(live["latency"]["turns"][1]["tool_ms"], 300);
    let first = &live["latency"]["turns"][0];
    for field in [
        "index",
        "speech_ended_at",
        "first_audio_at",
        "total_ms",
        "model_ms",
        "tool_ms",
        "transport_ms",
    ] {
        assert!(first.get(field).is_some(), "turn field {field}");
    }

    // A finished call: the row's percentiles, reported inside `latency` only.
    let stored = LatencyPercentiles::of(&[640, 910, 720]);
    server.store.save_call_latency(&sid, &stored).await.unwrap();
    let done = server.report().await;
    assert_eq!(done["latency"]["p50_ms"], 720);
    assert_eq!(done["latency"]["p95_ms"], 910);
    assert_eq!(done["latency"]["p99_ms"], 910);
    assert_eq!(done["latency"]["turns"].as_array().unwrap().len(), 3);
}
