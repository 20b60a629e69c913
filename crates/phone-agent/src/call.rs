//! `phone-agent call`: one simulated Twilio call against a running server, or against one
//! started in this process; plus the live log and summary printing shared with `demo`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use phone_core::keypad::{Key, KeySequence};
use phone_simulator::audio::{self, mulaw, speech};
use phone_simulator::caller::callee::Callee;
use phone_simulator::caller::{
    CallEvent, CallPlan, CallSummary, CallTarget, Cue, Emitter, EndedBy, NextVerb, OutboundTarget,
    Utterance,
};
use secrecy::ExposeSecret;
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::demo;

/// Options of `call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// Base URL of a running server (e.g. `phone-agent serve`); without it, a server is started
    /// in this process on the embedded defaults (offline stand-in unless OPENAI_API_KEY is set).
    #[arg(long)]
    pub server: Option<String>,
    /// Twilio auth token the server checks signatures with (required with --server).
    #[arg(long, env = "TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
    /// REST API key of the server, to follow transcript, tool calls and cost live.
    #[arg(long, env = "API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Base URL the server believes it is reached at (its PUBLIC_BASE_URL), if not --server.
    #[arg(long)]
    pub public_url: Option<String>,
    /// WAV file the caller plays (any rate, mono or stereo); repeat for several turns.
    #[arg(long)]
    pub wav: Vec<PathBuf>,
    /// Text the caller says (espeak-ng when installed); repeat for several turns.
    #[arg(long)]
    pub say: Vec<String>,
    /// WAV file to write what the caller heard to (default: `phone-agent-call-heard.wav` in the temporary
    /// directory).
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Caller number.
    #[arg(long, default_value = "+15550100123")]
    pub from: String,
    /// Called number.
    #[arg(long, default_value = "+15550100999")]
    pub to: String,
    /// Hang up after this many seconds at most.
    #[arg(long, default_value_t = 120)]
    pub max_seconds: u64,
    /// Say the last utterance over the assistant's reply, this many milliseconds into it
    /// (barge-in), instead of waiting for the reply to end.
    #[arg(long, value_name = "MS")]
    pub barge_in: Option<u64>,
    /// Play the callee of a call the assistant placed: `human` ("Hello?", then speaks when
    /// spoken to), `machine` (voicemail greeting, a beep, then records) or `ivr` ("press 1 for
    /// sales, 2 for support"; reports the keys it hears). Without it, the simulated party is a
    /// caller who speaks first.
    #[arg(long, value_name = "human|machine|ivr")]
    pub callee: Option<Callee>,
    /// Keys the simulated party presses after the assistant's reply (Twilio `dtmf` messages),
    /// e.g. `1234#`.
    #[arg(long, value_name = "KEYS")]
    pub press: Option<String>,
    /// Answer an outbound call the server placed through its local dialer (`POST /calls`, a
    /// reminder) instead of ringing it: its request id `OB…`, or `latest` for the newest one
    /// waiting. Plays `--callee` (default human) and sends what Twilio would: the signed
    /// status callbacks, the voice webhook, the AMD verdict and the media stream. Needs
    /// --server and --api-key.
    #[arg(long, value_name = "OB…|latest")]
    pub answer_outbound: Option<String>,
    /// With --answer-outbound: how long to wait for the call to be placed.
    #[arg(long, default_value_t = 0)]
    pub wait_secs: u64,
}

/// The caller's words as 8 kHz μ-law: espeak-ng, else speech-like audio (said in the log).
pub async fn spoken(text: &str) -> (Vec<u8>, bool) {
    let (pcm, real) = speech::speak(text, "en-us", 120.0).await;
    let mut bytes = audio::to_mulaw(&pcm)
        .unwrap_or_else(|_| mulaw::encode_all(&speech::speech_like(text, 120.0).to_i16()));
    // A breath of silence after the words, as a person pauses before listening.
    bytes.extend(std::iter::repeat_n(mulaw::SILENCE, 8 * 300));
    (bytes, real)
}

/// A plan where each utterance waits for the reply to the previous one.
pub fn plan(utterances: Vec<Utterance>, max: Duration) -> CallPlan {
    CallPlan {
        utterances,
        reply_timeout: Duration::from_secs(15),
        linger: Duration::from_millis(1500),
        max_duration: max,
    }
}

/// Builds the caller's utterances from `--wav` and `--say`, or the demo script.
async fn utterances(args: &CallArgs) -> anyhow::Result<Vec<Utterance>> {
    let after_reply = Cue::AfterReply {
        pause: Duration::from_millis(700),
    };
    let mut out = Vec::new();
    if let Some(callee) = args.callee {
        out.push(callee.opening().await);
        if !callee.converses() {
            // A machine or a menu says its piece and listens; it takes no lines.
            return Ok(out);
        }
    }
    for path in &args.wav {
        let frames =
            audio::wav_to_frames(path).with_context(|| format!("reading {}", path.display()))?;
        out.push(Utterance::new(
            path.display().to_string(),
            &frames.concat(),
            after_reply,
        ));
    }
    let texts: Vec<String> = if args.say.is_empty() && args.wav.is_empty() {
        demo::caller_lines()
    } else {
        args.say.clone()
    };
    let texts = if args.callee.is_some() && args.say.is_empty() && args.wav.is_empty() {
        // A callee who answers with "Hello?" has no demo script of its own.
        Vec::new()
    } else {
        texts
    };
    for text in texts {
        let (bytes, real) = spoken(&text).await;
        if !real {
            println!(
                "(espeak-ng not installed: the caller's \"{text}\" is speech-like audio without words)"
            );
        }
        out.push(Utterance::new(text, &bytes, after_reply));
    }
    if let Some(press) = &args.press {
        let keys: Vec<Key> = KeySequence::parse(press)
            .with_context(|| format!("--press {press}"))?
            .keys()
            .collect();
        out.push(Utterance::keys(&keys, after_reply));
    }
    if let (Some(ms), Some(last)) = (args.barge_in, out.last_mut()) {
        last.cue = Cue::IntoReply {
            after: Duration::from_millis(ms),
        };
    }
    Ok(out)
}

/// Prints call events as they happen, with the time since the call began.
pub fn print_live(mut rx: tokio::sync::mpsc::UnboundedReceiver<CallEvent>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let t0 = Instant::now();
        while let Some(event) = rx.recv().await {
            let t = t0.elapsed().as_secs_f64();
            let line = match event {
                CallEvent::Answered {
                    call_sid,
                    webhook,
                    webhook_ms,
                    stream_url,
                    action,
                    parameters,
                } => format!(
                    "{}: {webhook} (signed) -> 200 TwiML in {webhook_ms} ms for {call_sid}\n          <Connect{}><Stream url=\"{stream_url}\"> with <Parameter>s {}",
                    // An inbound call rings the server; an outbound one is answered by the callee.
                    if webhook.contains("/voice/outbound") { "answer" } else { "ring" },
                    action
                        .map(|a| format!(" action=\"{a}\""))
                        .unwrap_or_default(),
                    parameters.join(", ")
                ),
                CallEvent::StreamOpen => {
                    "stream: signed WebSocket upgrade accepted; sent connected + start".into()
                }
                CallEvent::CallerSpeaks { index, label } => {
                    format!("caller   [turn {}] says: \"{label}\"", index + 1)
                }
                CallEvent::CallerDone { index } => {
                    format!("caller   [turn {}] stops speaking", index + 1)
                }
                CallEvent::ReplyAudio { latency_ms } => {
                    format!("assistant audio starts {latency_ms} ms after the caller stopped")
                }
                CallEvent::KeyHeard { key, choice } => match choice {
                    Some(choice) => format!("callee   heard key {key}: {choice}"),
                    None => format!("callee   heard key {key}"),
                },
                CallEvent::Interrupted { dropped_ms } => format!(
                    "barge-in: server sent `clear`; {dropped_ms} ms of queued assistant audio dropped, pending marks echoed"
                ),
                CallEvent::Turn {
                    role,
                    text,
                    interrupted,
                } => format!(
                    "transcript {role}: {text}{}",
                    if interrupted { "  [interrupted]" } else { "" }
                ),
                CallEvent::ToolCall {
                    name,
                    arguments,
                    result,
                    is_error,
                } => format!(
                    "tool     {name}({arguments}) -> {}{result}",
                    if is_error { "ERROR " } else { "" }
                ),
                CallEvent::Ended(by) => match by {
                    EndedBy::Caller => "hang-up: caller sent `stop` and closed".into(),
                    EndedBy::Server => {
                        "stream end: the server closed the stream (Twilio asks the <Connect action> what next)".into()
                    }
                    EndedBy::TimeLimit => "hang-up: time limit reached".into(),
                },
                CallEvent::AfterStream { action, next } => {
                    format!("after the stream: POST {action} (signed) -> {}", heard(&next))
                }
                CallEvent::Note(note) => format!("note: {note}"),
            };
            println!("[{t:6.2}s] {line}");
        }
    })
}

/// What the caller experiences from the TwiML after the stream, in one line.
pub fn heard(next: &[NextVerb]) -> String {
    let only_hangup = next.iter().all(|v| *v == NextVerb::Hangup);
    if only_hangup {
        return "nothing more is said; the call ends".into();
    }
    let steps: Vec<String> = next.iter().map(|v| format!("the caller {v}")).collect();
    steps.join(", then ")
}

/// Prints the summary of a call.
pub fn print_summary(summary: &CallSummary) {
    let report = summary.server_report.as_ref();
    println!("\nsummary of {}", summary.call_sid);
    println!("  webhook round trip:      {} ms", summary.webhook_ms);
    let latencies: Vec<String> = summary
        .reply_latencies_ms
        .iter()
        .map(|ms| format!("{ms} ms"))
        .collect();
    println!(
        "  reply latency:           {} (end of caller speech -> first reply audio, per turn)",
        if latencies.is_empty() {
            "no reply heard".to_owned()
        } else {
            latencies.join(", ")
        }
    );
    println!(
        "  frames caller -> server: {} media frames of 20 ms",
        summary.frames_sent
    );
    println!(
        "  frames server -> caller: {} media messages, {:.1} s of audio; marks {} echoed of {}",
        summary.media_received,
        summary.audio_received_ms as f64 / 1000.0,
        summary.marks_echoed,
        summary.marks_received
    );
    println!(
        "  interruptions:           {} clear(s), {:.1} s of queued audio dropped",
        summary.clears,
        summary.cleared_ms as f64 / 1000.0
    );
    if !summary.keys_heard.is_empty() {
        println!("  keypad tones heard:      {}", summary.keys_heard);
    }
    if summary.unknown_messages > 0 {
        println!("  messages Twilio refuses: {}", summary.unknown_messages);
    }
    if let Some(r) = report {
        let tools = r["tool_calls"].as_array().cloned().unwrap_or_default();
        let names: Vec<String> = tools
            .iter()
            .map(|t| {
                let ok = if t["is_error"].as_bool().unwrap_or(false) {
                    "failed"
                } else {
                    "ok"
                };
                format!(
                    "{} {ok} in {} ms",
                    t["name"].as_str().unwrap_or("?"),
                    t["latency_ms"]
                )
            })
            .collect();
        println!(
            "  tool calls:              {} {}",
            tools.len(),
            names.join("; ")
        );
        let usage = &r["usage"];
        println!(
            "  cost:                    ${:.4} ({} responses; audio tokens in {} / out {}; text in {} / out {})",
            r["cost_usd"].as_f64().unwrap_or(0.0),
            usage["responses"],
            usage["input_audio_tokens"],
            usage["output_audio_tokens"],
            usage["input_text_tokens"],
            usage["output_text_tokens"]
        );
        let stats = &r["stats"];
        println!(
            "  server's view:           status {}, {} frames in / {} out, {} interruption(s), first reply {} ms after its speech_stopped",
            r["status"],
            stats["frames_in"],
            stats["frames_out"],
            stats["interruptions"],
            stats["first_reply_ms"]
        );
    } else {
        println!("  tool calls, cost:        unknown (pass --api-key to read GET /calls/{{sid}})");
    }
    if let Some(next) = &summary.after_stream {
        println!("  after the stream:        {}", heard(next));
    }
    if let Some(path) = &summary.recording {
        println!(
            "  caller heard:            {} ({:.1} s)",
            path.display(),
            summary.duration_ms as f64 / 1000.0
        );
    }
}

/// Runs `call`.
pub async fn run(mut args: CallArgs) -> anyhow::Result<()> {
    if args.answer_outbound.is_some() {
        args.callee.get_or_insert(Callee::Human);
        return answer(args).await;
    }
    let utterances = utterances(&args).await?;
    let mut _local = None;
    let target = match &args.server {
        Some(server) => CallTarget {
            server: server.clone(),
            public_url: args.public_url.clone(),
            auth_token: args
                .auth_token
                .clone()
                .context("--auth-token (or TWILIO_AUTH_TOKEN) is needed to sign for --server")?,
            api_key: args.api_key.clone(),
            from: args.from.clone(),
            to: args.to.clone(),
        },
        None => {
            let stack = demo::LocalStack::start().await?;
            println!("{}", stack.describe());
            let target = stack.target(&args.from, &args.to);
            _local = Some(stack);
            target
        }
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = print_live(rx);
    let plan = plan(utterances, Duration::from_secs(args.max_seconds));
    let summary = phone_simulator::caller::place_call(
        &target,
        &plan,
        Emitter::new(tx),
        Some(
            args.record
                .clone()
                .unwrap_or_else(|| std::env::temp_dir().join("phone-agent-call-heard.wav")),
        ),
    )
    .await
    .context("the simulated call failed")?;
    let _ = printer.await;
    print_summary(&summary);
    Ok(())
}

/// `call --answer-outbound`: plays the callee of an outbound call placed by a running server.
async fn answer(args: CallArgs) -> anyhow::Result<()> {
    let server = args
        .server
        .clone()
        .context("--answer-outbound needs --server (the server that placed the call)")?;
    let which = args.answer_outbound.clone().unwrap_or_default();
    let target = OutboundTarget {
        server,
        public_url: args.public_url.clone(),
        auth_token: args
            .auth_token
            .clone()
            .context("--auth-token (or TWILIO_AUTH_TOKEN) is needed to sign as Twilio")?,
        api_key: args
            .api_key
            .clone()
            .context("--api-key (or API_KEY) is needed to find the outbound call")?,
        outbound_id: (which != "latest").then_some(which),
        wait: Duration::from_secs(args.wait_secs),
        callee: args.callee.unwrap_or(Callee::Human),
        assistant_number: args.to.clone(),
    };
    let utterances = utterances(&args).await?;
    let summary = answer_outbound(
        target,
        plan(utterances, Duration::from_secs(args.max_seconds)),
        args.record
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("phone-agent-callee-heard.wav")),
    )
    .await?;
    print_summary(&summary);
    Ok(())
}

/// Answers an outbound call as `target.callee`, printing the live log; what it measured.
pub async fn answer_outbound(
    target: OutboundTarget,
    plan: CallPlan,
    record: PathBuf,
) -> anyhow::Result<CallSummary> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = print_live(rx);
    let summary =
        phone_simulator::caller::answer_outbound(&target, &plan, Emitter::new(tx), Some(record))
            .await
            .context("answering the outbound call failed")?;
    let _ = printer.await;
    Ok(summary)
}

/// The server's report field as text, for checks.
pub fn field<'a>(report: &'a Option<Value>, path: &[&str]) -> Option<&'a Value> {
    let mut v = report.as_ref()?;
    for key in path {
        v = v.get(*key)?;
    }
    Some(v)
}

/// The auth token and API key of a local server's configuration.
pub fn local_secrets(config: &phone_config::Config) -> (String, Option<String>) {
    let token = config
        .twilio
        .auth_token
        .as_ref()
        .map(|t| t.expose_secret().to_owned())
        .unwrap_or_default();
    let key = config
        .api_key
        .as_ref()
        .map(|k| k.expose_secret().to_owned());
    (token, key)
}
