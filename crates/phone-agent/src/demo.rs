//! `phone-agent demo`: the whole system on this machine, with no account and no network, and
//! one simulated call through it that checks every step.
//!
//! The server is `serve`'s (every route and the stream host, embedded store) with a Twilio
//! auth token and REST API key generated for the run. Without `OPENAI_API_KEY`, the OpenAI
//! Realtime side is the offline stand-in of `phone_simulator::offline`: a real WebSocket
//! server speaking the GA protocol, with a real VAD, real audio and a fixed script, which it
//! says plainly. The caller asks for a dentist appointment, gives the time (the assistant
//! calls `create_event`), then speaks over the confirmation (barge-in).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine;
use clap::Args;
use phone_config::{Config, VoiceEngine, keys};
use phone_core::CallSid;
use phone_core::ports::{Calendar, CalendarEvent};
use phone_core::store::{Keys, PageRequest, ToolCallRecord};
use phone_local::LocalCalendar;
use phone_simulator::caller::{self, CallTarget, Cue, Emitter, Utterance};
use phone_simulator::offline::{OfflineConfig, OfflineRealtime, Script};
use rand::RngCore;

use crate::call::{self, field, local_secrets};
use crate::serve::{self, LocalServer, ServeArgs};

/// The number the demo calls from, the owner's in the demo's configuration.
pub const DEMO_CALLER: &str = "+15550100123";

/// Options of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// WAV file to write what the caller heard to (default: `phone-agent-demo-heard.wav` in the temporary
    /// directory).
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// The voice engine the call runs on: `realtime` (OpenAI Realtime) or `live` (GPT-Live),
    /// as `VOICE_ENGINE` chooses for a deployment.
    #[arg(long, default_value = "realtime", value_parser = parse_engine)]
    pub engine: VoiceEngine,
    /// Keep the demo's server running after the call (until ctrl-c), to look at the call in
    /// the console.
    #[arg(long)]
    pub keep_serving: bool,
    /// What to show: `booking` (a caller books a dentist appointment: tools, barge-in) or
    /// `reminder` (the owner asks to be called in a few seconds; the scheduler fires, the
    /// assistant calls out and the simulated owner answers).
    #[arg(long, value_enum, default_value_t = Scenario::Booking)]
    pub scenario: Scenario,
}

/// The demo's scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// An inbound call that books an appointment.
    Booking,
    /// A reminder call, end to end (crate::demo_reminder).
    Reminder,
}

fn parse_engine(text: &str) -> Result<VoiceEngine, String> {
    text.parse()
}

/// The scripted conversation, dated from today (UTC).
fn script() -> Script {
    Script::dentist(time::OffsetDateTime::now_utc().date())
}

/// What the demo's caller says, in order.
pub fn caller_lines() -> Vec<String> {
    script().turns.into_iter().map(|t| t.caller).collect()
}

fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// `serve` on loopback with generated secrets, plus the offline stand-in when there is no
/// OpenAI key.
pub struct LocalStack {
    /// The all-in-one server.
    pub server: LocalServer,
    /// The stand-in, when used.
    pub offline: Option<OfflineRealtime>,
}

impl LocalStack {
    /// Starts everything on the embedded defaults. The environment is read (an
    /// `OPENAI_API_KEY` selects the real model) but never its store or public URLs: the demo
    /// must not write into a real table or sign for a tunnel.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on(VoiceEngine::Realtime).await
    }

    /// Like [`LocalStack::start`], with calls on `engine`.
    pub async fn start_on(engine: VoiceEngine) -> anyhow::Result<Self> {
        Self::start_adjusted(engine, |_| {}).await
    }

    /// Like [`LocalStack::start_on`], with the settings read from the environment adjusted by
    /// `adjust` first (the demo's own store, URLs and secrets are set after it).
    pub async fn start_adjusted(
        engine: VoiceEngine,
        adjust: impl FnOnce(&mut BTreeMap<String, String>),
    ) -> anyhow::Result<Self> {
        let mut map: BTreeMap<String, String> = std::env::vars().collect();
        adjust(&mut map);
        map.insert(
            keys::VOICE_ENGINE.into(),
            match engine {
                VoiceEngine::Realtime => "realtime",
                VoiceEngine::Live => "live",
            }
            .into(),
        );
        for key in [
            keys::TABLE_NAME,
            keys::DYNAMODB_ENDPOINT,
            keys::LOCAL_STORE_PATH,
            keys::CONFIG_SECRET_ID,
            keys::PUBLIC_BASE_URL,
            keys::STREAM_PUBLIC_URL,
        ] {
            map.remove(key);
        }
        // The demo caller is the owner (an attested call from an owner number): the tools it
        // shows are the owner's. Strangers get the receptionist (docs/security.md).
        map.entry(keys::OWNER_NUMBERS.into())
            .or_insert_with(|| DEMO_CALLER.into());
        map.insert(keys::TWILIO_AUTH_TOKEN.into(), random_secret(""));
        map.insert(keys::API_KEY.into(), random_secret(""));
        let has_key = map
            .get(keys::OPENAI_API_KEY)
            .is_some_and(|k| !k.trim().is_empty());
        let offline = if has_key {
            None
        } else {
            let first = Config::from_map(&map).context("configuration")?;
            // The bridge authenticates to the stand-in as to OpenAI, with a key made for
            // this run; the stand-in checks it.
            let key = random_secret("offline-");
            let mut script = script();
            script.greeting = first.assistant.greeting.clone();
            let standin = OfflineRealtime::start(OfflineConfig {
                model: match engine {
                    VoiceEngine::Realtime => first.openai.realtime_model.clone(),
                    VoiceEngine::Live => first.openai.live_model.clone(),
                },
                script,
                api_key: Some(key.clone()),
                use_espeak: true,
            })
            .await?;
            match engine {
                VoiceEngine::Realtime => {
                    map.insert(keys::OPENAI_REALTIME_URL.into(), standin.url());
                }
                VoiceEngine::Live => {
                    map.insert(keys::OPENAI_LIVE_URL.into(), standin.live_url());
                }
            }
            map.insert(keys::OPENAI_API_KEY.into(), key);
            Some(standin)
        };
        let mut config = Config::from_map(&map).context("configuration")?;
        // Offline, the key only opens the local stand-in: calls are analysed by the
        // analysis stand-in, not sent to OpenAI.
        config.post_call.analysis_stand_in = offline.is_some();
        let args = ServeArgs {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let server = serve::start(&args, config).await?;
        Ok(Self { server, offline })
    }

    /// Lines saying what runs where.
    pub fn describe(&self) -> String {
        let c = &self.server.config;
        let model = match &self.offline {
            Some(o) => format!(
                "OFFLINE stand-in at {} (no model, no network: a real VAD and a fixed script; {})",
                o.url(),
                if o.speaks_words() {
                    "replies spoken by espeak-ng"
                } else {
                    "espeak-ng not installed, so replies are a synthesized tone pattern"
                }
            ),
            None => match c.openai.voice_engine {
                VoiceEngine::Realtime => format!(
                    "OpenAI Realtime at {} (OPENAI_API_KEY set)",
                    c.openai.realtime_url
                ),
                VoiceEngine::Live => format!(
                    "OpenAI GPT-Live at {} (OPENAI_API_KEY set)",
                    c.openai.live_url
                ),
            },
        };
        let engine = match c.openai.voice_engine {
            VoiceEngine::Realtime => "realtime",
            VoiceEngine::Live => "live",
        };
        format!(
            "server:   http://{} (every route + stream host, store: {})\nengine:   {engine}: {model}\nsecrets:  Twilio auth token and API key generated for this run",
            self.server.addr,
            self.server.store.records().describe()
        )
    }

    /// Who the simulated caller calls, with the run's secrets.
    pub fn target(&self, from: &str, to: &str) -> CallTarget {
        let (auth_token, api_key) = local_secrets(&self.server.config);
        CallTarget {
            server: format!("http://{}", self.server.addr),
            public_url: None,
            auth_token,
            api_key,
            from: from.into(),
            to: to.into(),
        }
    }
}

/// The demo caller: wait for the greeting, ask, give the time, then talk over the
/// confirmation to show barge-in.
async fn demo_plan() -> caller::CallPlan {
    let lines = caller_lines();
    let cues = [
        Cue::AfterReply {
            pause: Duration::from_millis(600),
        },
        Cue::AfterReply {
            pause: Duration::from_millis(600),
        },
        Cue::IntoReply {
            after: Duration::from_millis(1500),
        },
    ];
    let mut utterances = Vec::new();
    for (text, cue) in lines.into_iter().zip(cues) {
        let (bytes, real) = call::spoken(&text).await;
        if !real && utterances.is_empty() {
            println!(
                "caller:   espeak-ng not installed: the caller speaks speech-like audio without words"
            );
        }
        utterances.push(Utterance::new(text, &bytes, cue));
    }
    call::plan(utterances, Duration::from_secs(90))
}

/// One line of the final check list.
pub(crate) fn check(ok: bool, what: &str, detail: String) -> bool {
    println!("  [{}] {what}: {detail}", if ok { "ok" } else { "FAILED" });
    ok
}

/// Runs `demo`; fails unless every step of the path worked.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    if args.scenario == Scenario::Reminder {
        return crate::demo_reminder::run(args).await;
    }
    let t0 = Instant::now();
    println!("phone-agent demo: the whole path on this machine, no accounts, no network\n");
    let stack = LocalStack::start_on(args.engine).await?;
    println!("{}", stack.describe());
    let plan = demo_plan().await;
    let target = stack.target(DEMO_CALLER, "+15550100999");
    let stream_url = stack.server.config.stream_url.clone().unwrap_or_default();
    println!("\nforged requests first (the two warnings they cause are expected):");
    let probe = caller::probe_forgeries(&target, &stream_url).await?;
    println!("\nlive call log:");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = call::print_live(rx);
    let summary = caller::place_call(
        &target,
        &plan,
        Emitter::new(tx),
        Some(
            args.record
                .clone()
                .unwrap_or_else(|| std::env::temp_dir().join("phone-agent-demo-heard.wav")),
        ),
    )
    .await
    .context("the simulated call failed")?;
    let _ = printer.await;
    call::print_summary(&summary);

    let ok = verify(&stack, &summary, &probe).await?;
    println!("\ndemo took {:.1} s", t0.elapsed().as_secs_f64());
    if ok {
        println!("every step worked.");
    } else {
        println!("the demo found a broken step (see FAILED above)");
    }
    open_console(&stack, &summary.call_sid, args.keep_serving).await;
    if !ok {
        // A plain exit status for scripts, without an error backtrace: the list says it all.
        std::process::exit(1);
    }
    Ok(())
}

/// Says where the call just made is shown in the console, and with `--keep-serving` keeps the
/// server up for it until ctrl-c. The demo's store is in memory, so the call is there only
/// while this server runs.
pub(crate) async fn open_console(stack: &LocalStack, call_sid: &str, keep_serving: bool) {
    let url = match CallSid::parse(call_sid) {
        Ok(sid) => format!(
            "http://{}{}",
            stack.server.addr,
            phone_api::routes::console::call_path(&sid)
        ),
        Err(_) => format!(
            "http://{}{}",
            stack.server.addr,
            phone_api::routes::console::BASE
        ),
    };
    if !keep_serving {
        println!(
            "console:  this call is at {url} while the demo's server runs; it stops now (its store is in memory).\n          Run the demo again with `--keep-serving` to keep it running and open that page (log in with the API key it prints)."
        );
        return;
    }
    let (_, key) = local_secrets(&stack.server.config);
    println!("console:  open {url}");
    println!(
        "          log in with this run's API key: {}",
        key.as_deref().unwrap_or("(none)")
    );
    println!("          serving until ctrl-c");
    let _ = tokio::signal::ctrl_c().await;
    stack.server.drain.drain(Duration::from_secs(1));
}

/// Checks every step of the path from what the caller measured, the server's report and the
/// store; prints one line per step and returns whether all worked.
async fn verify(
    stack: &LocalStack,
    summary: &caller::CallSummary,
    probe: &caller::ForgeryProbe,
) -> anyhow::Result<bool> {
    let sid = CallSid::parse(&summary.call_sid).context("call SID")?;
    let store = &stack.server.store;
    let tools: Vec<ToolCallRecord> = store
        .list_tool_calls(&Keys::call(&sid), &PageRequest::first(100))
        .await?
        .items;
    let created = tools.iter().find(|t| t.name == "create_event");
    let report = &summary.server_report;
    let transcript = field(report, &["transcript"])
        .and_then(|t| t.as_array())
        .cloned()
        .unwrap_or_default();
    let greeted = transcript.first().is_some_and(|t| t["role"] == "assistant");
    println!("\nchecks:");
    let mut ok = true;
    ok &= check(
        probe.all_refused(),
        "signatures enforced",
        format!(
            "forged webhook -> HTTP {}, unsigned stream upgrade {}",
            probe.webhook_status,
            if probe.stream_refused {
                "refused"
            } else {
                "ACCEPTED"
            }
        ),
    );
    ok &= check(
        summary.frames_sent > 0 && summary.media_received > 0,
        "webhook, TwiML, signed stream, bridge",
        format!(
            "{} frames sent, {} media messages received",
            summary.frames_sent, summary.media_received
        ),
    );
    ok &= check(
        greeted,
        "greeting",
        transcript
            .first()
            .map(|t| t["text"].to_string())
            .unwrap_or_else(|| "no assistant turn first".into()),
    );
    ok &= check(
        summary.reply_latencies_ms.len() >= 3,
        "replies to every caller turn",
        format!("{:?} ms", summary.reply_latencies_ms),
    );
    ok &= match stack.server.config.openai.voice_engine {
        VoiceEngine::Realtime => check(
            summary.clears >= 1,
            "barge-in",
            format!(
                "{} clear(s), {} ms of queued audio dropped",
                summary.clears, summary.cleared_ms
            ),
        ),
        // GPT-Live stops talking on its own when the caller talks over it: no clear, no
        // truncate. The stand-in counts the replies it cut short.
        VoiceEngine::Live => {
            let stopped = stack.offline.as_ref().map(|o| o.report().barge_ins);
            check(
                stopped.is_none_or(|n| n >= 1) && summary.clears == 0,
                "barge-in (as GPT-Live does it)",
                match stopped {
                    Some(n) => format!(
                        "the model stopped {n} reply(ies) when the caller talked over it; {} clear(s) sent",
                        summary.clears
                    ),
                    None => "a real model: not counted".into(),
                },
            )
        }
    };
    let bridge_answer = stack
        .offline
        .as_ref()
        .and_then(|o| o.report().tool_outputs.last().cloned());
    let tool_detail = match (created, bridge_answer) {
        (Some(t), _) if t.is_error => format!("{} -> error {}", t.arguments, t.result),
        (Some(t), _) => format!("{} -> ok in {} ms", t.arguments, t.latency_ms),
        (None, Some(answer)) => {
            format!("not recorded by the server, which answered the model: {answer}")
        }
        (None, None) => "the assistant's create_event call was not recorded".into(),
    };
    ok &= check(
        created.is_some_and(|t| !t.is_error),
        "tool call create_event",
        tool_detail,
    );
    let cost = field(report, &["cost_usd"])
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0);
    ok &= check(cost > 0.0, "cost recorded", format!("${cost:.4}"));
    let stored = match created.filter(|t| !t.is_error) {
        Some(record) => stored_event(&stack.server.store, &record.result).await,
        None => None,
    };
    ok &= check(
        stored.is_some(),
        "event stored",
        match &stored {
            Some(e) => format!("{} in the local calendar", e.id),
            None => "no event in the local calendar".into(),
        },
    );
    if let Some(e) = &stored {
        println!("\ncalendar event created by the tool, read back from the store:");
        println!("  id:    {}", e.id);
        println!("  title: {}", e.title);
        let when = |t: time::OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|_| t.to_string())
        };
        println!("  start: {}", when(e.start));
        println!("  end:   {}", when(e.end));
    }
    if let Some(offline) = &stack.offline {
        let r = offline.report();
        println!(
            "\noffline stand-in (scripted, not a model): {} caller turns heard by its VAD, {} responses, {} tool call(s), {} barge-in(s), {} truncation(s)",
            r.caller_turns, r.responses, r.tool_calls, r.barge_ins, r.truncations
        );
    }
    Ok(ok)
}

/// The event a `create_event` result names, read back from the local calendar in the store.
async fn stored_event(
    store: &phone_core::Store,
    result: &serde_json::Value,
) -> Option<CalendarEvent> {
    let id = result["created"]["id"].as_str().or(result["id"].as_str())?;
    LocalCalendar::new(store.clone()).get_event(id).await.ok()
}

/// Logging for `call`, `demo` and `load`: warnings, plus the offline stand-in's lines (it says
/// what it does and that it is scripted). `RUST_LOG` overrides.
pub fn quiet_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,phone_simulator::offline=info")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .compact()
        .try_init();
}
