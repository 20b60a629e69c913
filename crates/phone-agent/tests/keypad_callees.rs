//! The simulated party's keypad against `phone-agent serve` on loopback, with the strict
//! Realtime double as its OpenAI: as a phone menu (`--callee ivr`) it decodes the tones the
//! bridge sends for `press_digits`; as a caller it presses keys (`--press`) that reach the
//! engine as one caller input.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use phone_core::keypad::Key;
use phone_simulator::caller::callee::Callee;
use phone_simulator::caller::{self, CallEvent, CallPlan, CallTarget, Cue, Emitter, Utterance};
use phone_test_support::realtime_server::{Mode, RealtimeTestServer, Response, Status};

const TOKEN: &str = "keypad-test-auth-token";
const WAIT: Duration = Duration::from_secs(10);

/// `phone-agent serve` with the double as its OpenAI, killed when dropped.
struct Serve(Child, String);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
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
        .env("OPENAI_API_KEY", "sk-test-key")
        .env("OPENAI_REALTIME_URL", realtime_url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = Serve(child, format!("http://127.0.0.1:{port}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("{}/health", server.1)).await
            && r.status().is_success()
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("phone-agent serve did not become healthy");
}

fn target(base: &str) -> CallTarget {
    CallTarget {
        server: base.into(),
        public_url: None,
        auth_token: TOKEN.into(),
        api_key: None,
        from: "+15550100123".into(),
        to: "+15550100999".into(),
    }
}

fn plan(utterances: Vec<Utterance>) -> CallPlan {
    CallPlan {
        utterances,
        reply_timeout: Duration::from_secs(4),
        linger: Duration::from_millis(800),
        max_duration: Duration::from_secs(20),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ivr_callee_decodes_the_keys_the_assistant_presses() {
    let openai = RealtimeTestServer::start(Mode::Strict).await;
    let server = serve(&openai.url_for(phone_config::DEFAULT_REALTIME_MODEL)).await;
    let plan = plan(vec![Callee::Ivr.opening().await]);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let call = tokio::spawn({
        let target = target(&server.1);
        async move { caller::place_call(&target, &plan, Emitter::new(tx), None).await }
    });

    // The greeting, then the model hears the menu and presses 1 (the callee is a guest, whose
    // catalog has press_digits).
    let update = &openai.wait_for("session.update", 1, WAIT).await[0];
    let tools = update["session"]["tools"].as_array().unwrap();
    assert!(tools.iter().any(|t| t["name"] == "press_digits"));
    openai
        .respond(Response::new().status(Status::Completed))
        .await;
    let turn = openai.vad_turn().await.unwrap();
    openai
        .play(
            &turn,
            Response::new()
                .function_call("call_1", "press_digits", r#"{"digits":"1"}"#)
                .status(Status::Completed),
        )
        .await;
    openai
        .respond(Response::new().status(Status::Completed))
        .await;

    let summary = tokio::time::timeout(Duration::from_secs(30), call)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(summary.keys_heard, "1");
    let mut heard = Vec::new();
    while let Ok(e) = rx.try_recv() {
        if let CallEvent::KeyHeard { key, choice } = e {
            heard.push((key, choice));
        }
    }
    assert_eq!(heard, [('1', Some("sales"))]);
    assert!(openai.sent_of("error").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_the_simulated_caller_presses_reach_the_engine_as_one_input() {
    let openai = RealtimeTestServer::start(Mode::Strict).await;
    let server = serve(&openai.url_for(phone_config::DEFAULT_REALTIME_MODEL)).await;
    let keys = [Key::Digit(4), Key::Digit(2), Key::Pound];
    let plan = plan(vec![Utterance::keys(
        &keys,
        Cue::AfterReply {
            pause: Duration::from_millis(300),
        },
    )]);
    let call = tokio::spawn({
        let target = target(&server.1);
        async move { caller::place_call(&target, &plan, Emitter::default(), None).await }
    });
    // A greeting the caller hears, after which they type.
    openai
        .respond(
            Response::new()
                .audio("item_g", &[0x2a; 4000])
                .status(Status::Completed),
        )
        .await;
    let items = openai.wait_for("conversation.item.create", 1, WAIT).await;
    assert_eq!(
        items[0]["item"]["content"][0]["text"],
        "The caller pressed 4 2 # on their phone's keypad."
    );
    let reply = openai.next_response().await;
    openai
        .play(
            &reply,
            Response::new()
                .audio("item_r", &[0x2a; 2000])
                .status(Status::Completed),
        )
        .await;
    let summary = tokio::time::timeout(Duration::from_secs(30), call)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(summary.unknown_messages, 0);
    assert_eq!(
        openai.events_of("conversation.item.create").await.len(),
        1,
        "one input for the entry"
    );
    assert!(openai.sent_of("error").await.is_empty());
}
