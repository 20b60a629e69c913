//! The call console in a real browser: a simulated call (greeting, a question, a tool call,
//! a barge-in) goes through `phone-agent serve` with the offline Realtime stand-in, then
//! headless Chromium (Debian's `chromium`) logs into the console with the API key, opens the
//! list and the call, and the test checks what a person would see there. The screenshot is
//! kept under the target directory as the test's artifact.
//!
//! Chromium is driven over the DevTools Protocol by `console_cdp.py` (standard library only).
//! Without Chromium the test tries to install it with apt; only if that fails does it skip,
//! loudly.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use phone_simulator::audio::{self, speech};
use phone_simulator::caller::{self, CallPlan, CallTarget, Cue, Emitter, Utterance};
use phone_simulator::offline::{OfflineConfig, OfflineRealtime, Script};

const TOKEN: &str = "console-auth-token";
const API_KEY: &str = "console-api-key-for-the-browser";
const OPENAI_KEY: &str = "offline-console-key";
const CALLER: &str = "+15550100123";

/// `phone-agent serve`, killed when dropped.
struct Serve {
    child: std::process::Child,
    base: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn serve(realtime_url: &str) -> Serve {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_phone-agent"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("TWILIO_AUTH_TOKEN", TOKEN)
        .env("API_KEY", API_KEY)
        .env("OPENAI_API_KEY", OPENAI_KEY)
        .env("OPENAI_REALTIME_URL", realtime_url)
        // The caller is the owner, so its create_event call is allowed.
        .env("OWNER_NUMBERS", CALLER)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = Serve {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
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

/// Chromium's path, installing Debian's package when it is missing; `None` only when it
/// cannot be installed here.
fn chromium() -> Option<PathBuf> {
    let find = || {
        ["chromium", "chromium-browser"].iter().find_map(|name| {
            let out = Command::new("which").arg(name).output().ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        })
    };
    if let Some(path) = find() {
        return Some(path);
    }
    eprintln!("chromium is not installed: trying `apt-get install chromium`");
    let installed = Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "chromium"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        return None;
    }
    find()
}

/// The demo's conversation: ask, give the time (the assistant calls `create_event`), then talk
/// over the confirmation (barge-in).
fn plan(script: &Script) -> CallPlan {
    let cues = [
        Cue::AfterReply {
            pause: Duration::from_millis(500),
        },
        Cue::AfterReply {
            pause: Duration::from_millis(500),
        },
        Cue::IntoReply {
            after: Duration::from_millis(1200),
        },
    ];
    let utterances = script
        .turns
        .iter()
        .zip(cues)
        .map(|(turn, cue)| {
            let mut bytes = audio::to_mulaw(&speech::speech_like(&turn.caller, 120.0)).unwrap();
            bytes.extend(vec![audio::mulaw::SILENCE; 2400]);
            Utterance::new(turn.caller.clone(), &bytes, cue)
        })
        .collect();
    CallPlan {
        utterances,
        reply_timeout: Duration::from_secs(15),
        linger: Duration::from_millis(1000),
        max_duration: Duration::from_secs(90),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_a_simulated_call_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        eprintln!(
            "\n\n==============================================================\n\
             SKIPPED the_console_shows_a_simulated_call_in_headless_chromium:\n\
             Chromium is not installed and `apt-get install chromium` failed.\n\
             Run `bash infra/local/install-deps.sh` as root to install it.\n\
             ==============================================================\n"
        );
        return;
    };
    let script = Script::dentist(time::OffsetDateTime::now_utc().date());
    let standin = OfflineRealtime::start(OfflineConfig {
        model: phone_config::DEFAULT_REALTIME_MODEL.into(),
        script: script.clone(),
        api_key: Some(OPENAI_KEY.into()),
        use_espeak: false,
    })
    .await
    .unwrap();
    let server = serve(&standin.url()).await;
    let target = CallTarget {
        server: server.base.clone(),
        public_url: None,
        auth_token: TOKEN.into(),
        api_key: Some(API_KEY.into()),
        from: CALLER.into(),
        to: "+15550100999".into(),
    };
    let summary = caller::place_call(&target, &plan(&script), Emitter::default(), None)
        .await
        .unwrap();
    let report = summary.server_report.expect("GET /calls/{sid} answered");
    let tools = report["tool_calls"].as_array().unwrap();
    assert!(
        tools.iter().any(|t| t["name"] == "create_event"),
        "the call made its tool call: {report}"
    );

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console");
    std::fs::create_dir_all(&dir).unwrap();
    let screenshot = dir.join(format!("call-{}.png", summary.call_sid));
    let _ = std::fs::remove_file(&screenshot);
    let script_path = phone_test_support::paths::package_dir().join("tests/console_cdp.py");
    let mut browser = tokio::process::Command::new("python3")
        .arg(script_path)
        .arg(&chromium)
        .arg(&server.base)
        .arg(&summary.call_sid)
        .arg(&screenshot)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The key goes to the browser on stdin, never on a command line or in a URL.
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = browser.stdin.take().unwrap();
        stdin
            .write_all(format!("{API_KEY}\n").as_bytes())
            .await
            .unwrap();
    }
    let output = tokio::time::timeout(Duration::from_secs(120), browser.wait_with_output())
        .await
        .expect("the browser run finished")
        .unwrap();
    assert!(
        output.status.success(),
        "console_cdp.py failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    println!("console screenshot: {}", screenshot.display());
    eprintln!("console screenshot: {}", screenshot.display());

    // Logged in through the form, and the key is in no URL the browser visited.
    let visited = seen["visited"].as_array().unwrap();
    assert_eq!(visited[1], format!("{}/console", server.base));
    assert!(
        visited
            .iter()
            .all(|u| !u.as_str().unwrap().contains(API_KEY))
    );
    assert_eq!(
        seen["document_cookie"], "",
        "the session cookie is HttpOnly"
    );

    let list = seen["list_text"].as_str().unwrap();
    assert!(list.contains(CALLER), "the list shows the caller: {list}");

    let call = seen["call_text"].as_str().unwrap();
    for expected in [
        CALLER,
        &summary.call_sid,
        "Hi, I'd like to book a dentist appointment.",
        "Tomorrow at three in the afternoon, for thirty minutes.",
        "tool create_event",
        "Dentist",
        "Latency per turn",
        "Cost",
    ] {
        assert!(
            call.contains(expected),
            "the call page shows {expected:?}:\n{call}"
        );
    }
    let transcript = report["transcript"].as_array().unwrap();
    for turn in transcript {
        let text = turn["text"].as_str().unwrap();
        assert!(call.contains(text), "turn {text:?} is on the page:\n{call}");
    }
    if transcript.iter().any(|t| t["interrupted"] == true) {
        assert!(call.contains("cut off by the caller"), "{call}");
    }
    assert!(
        seen["latency_bars"].as_u64().unwrap() >= 1,
        "one bar per measured turn"
    );
    let layout = &seen["layout"];
    assert!(
        layout["scroll"].as_u64() <= layout["viewport"].as_u64(),
        "no sideways scrolling on a phone: {layout}"
    );
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
}
