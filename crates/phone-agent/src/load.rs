//! `phone-agent load`: the stream host's load benchmark, run through the real `phone-agent serve`
//! binary as a separate process (so the load generator's own CPU is not counted):
//! N simulated Twilio calls, each rung through the signed voice webhook, stream 20 ms frames in
//! real time to a Realtime peer that echoes the audio back through the bridge.
//!
//! Prints the round trip through the bridge (caller frame sent → same audio back: two passes
//! through the bridge plus the echo), frames lost, and the server process's CPU time per
//! call-second and resident memory per call (read from /proc, so Linux only).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use phone_simulator::caller::{CallTarget, EchoCallResult, echo_call};
use phone_simulator::echo::EchoRealtime;

const AUTH_TOKEN: &str = "load-test-auth-token";
const API_KEY: &str = "load-test-api-key";

/// Options of `load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Simultaneous calls.
    #[arg(long, default_value_t = 200)]
    pub calls: usize,
    /// Seconds every call streams in the measured window.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Extra environment for the server process, `KEY=VALUE`, repeatable (e.g.
    /// `--server-env TOKIO_WORKER_THREADS=1` to compare runtime sizes).
    #[arg(long = "server-env", value_parser = parse_key_value)]
    pub server_env: Vec<(String, String)>,
    /// The voice engine the server bridges to: `realtime` or `live` (the echo peer speaks
    /// either protocol).
    #[arg(long, default_value = "realtime")]
    pub engine: String,
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got '{text}'"))?;
    Ok((key.to_owned(), value.to_owned()))
}

/// The server child process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// utime and stime of a process in milliseconds (USER_HZ is 100 on mainstream Linux).
fn cpu_ms(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // stat fields 14 and 15 (utime, stime) are the 12th and 13th after the command name.
    (field(11) * 10.0, field(12) * 10.0)
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Runs `load`.
pub async fn run(args: LoadArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.calls > 0 && args.seconds > 0,
        "--calls and --seconds must be positive"
    );
    let echo = EchoRealtime::start()
        .await
        .context("starting the echo Realtime peer")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("finding a free port")?
        .port();
    let exe = std::env::current_exe().context("locating the phone-agent binary")?;
    let child = Command::new(exe)
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
        .env("API_KEY", API_KEY)
        .env("OPENAI_REALTIME_URL", echo.url())
        .env("OPENAI_LIVE_URL", echo.live_url())
        .env("VOICE_ENGINE", &args.engine)
        .env("OPENAI_API_KEY", "sk-load")
        .env("STREAM_MAX_CALLS", (args.calls + 10).to_string())
        .env("IDLE_TIMEOUT_SECS", "3600")
        // Every simulated call comes from one number, a guest: the bridge is measured, not the
        // guests' daily limits.
        .env("GUEST_CALLS_PER_DAY", "off")
        .env("GUEST_CALL_MINUTES_PER_DAY", "off")
        .env("RUST_LOG", "warn")
        .envs(args.server_env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting phone-agent serve")?;
    let pid = child.id();
    let _server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let ready = Instant::now() + Duration::from_secs(20);
    loop {
        let healthy = reqwest::get(format!("{base}/health"))
            .await
            .is_ok_and(|r| r.status().is_success());
        if healthy {
            break;
        }
        anyhow::ensure!(
            Instant::now() < ready,
            "phone-agent serve did not become healthy"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let idle_rss = rss_kb(pid);

    // Calls ring and connect in batches of 20 every 100 ms, then all stream together.
    let ramp = Duration::from_millis(100 * (args.calls as u64 / 20 + 1));
    let start_at = Instant::now() + ramp + Duration::from_secs(2);
    let stop_at = start_at + Duration::from_secs(args.seconds);
    let target = CallTarget {
        server: base.clone(),
        public_url: None,
        auth_token: AUTH_TOKEN.into(),
        api_key: None,
        from: "+15550100123".into(),
        to: "+15550100999".into(),
    };
    let mut tasks = Vec::new();
    for i in 0..args.calls {
        let target = target.clone();
        // Independent calls are not in step: each gets its own phase within the 20 ms frame
        // period, as real callers do. (All in step, the host would see every call's frame in
        // one burst each period and the last of 200 would wait for the other 199.)
        let phase = Duration::from_micros(20_000 * i as u64 / args.calls as u64);
        tasks.push(tokio::spawn(async move {
            echo_call(&target, start_at + phase, stop_at + phase).await
        }));
        if i % 20 == 19 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Measure one second in to one second before the end: every call is streaming then.
    tokio::time::sleep_until((start_at + Duration::from_secs(1)).into()).await;
    let cpu_start = cpu_ms(pid);
    let window_start = Instant::now();
    tokio::time::sleep_until((stop_at - Duration::from_secs(1).min(stop_at - start_at)).into())
        .await;
    let cpu_end = cpu_ms(pid);
    let (user_used, kernel_used) = (cpu_end.0 - cpu_start.0, cpu_end.1 - cpu_start.1);
    let cpu_used = user_used + kernel_used;
    let window = window_start.elapsed().as_secs_f64().max(0.001);
    let busy_rss = rss_kb(pid);

    let mut totals = EchoCallResult::default();
    let mut setups_us = Vec::new();
    let mut failed = 0;
    for task in tasks {
        match task.await {
            Ok(Ok(r)) => {
                totals.sent += r.sent;
                totals.received += r.received;
                totals.latencies_us.extend(r.latencies_us);
                setups_us.extend(r.setup_us);
            }
            Ok(Err(e)) => {
                failed += 1;
                eprintln!("a call failed: {e}");
            }
            Err(e) => {
                failed += 1;
                eprintln!("a call task failed: {e}");
            }
        }
    }
    totals.latencies_us.sort_by(|a, b| a.total_cmp(b));
    setups_us.sort_by(|a, b| a.total_cmp(b));
    let call_seconds = args.calls as f64 * window;
    println!(
        "phone-agent load: {} calls x {} s of 20 ms frames through `phone-agent serve` (signed webhook, TwiML, signed stream), echo {} peer",
        args.calls, args.seconds, args.engine
    );
    println!(
        "  round trip through the bridge: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&totals.latencies_us, 0.50) / 1000.0,
        percentile(&totals.latencies_us, 0.99) / 1000.0,
        totals.latencies_us.last().copied().unwrap_or(f64::NAN) / 1000.0
    );
    println!(
        "  time to first audio (start -> token checked, session opened and confirmed -> probe echoed): p50 {:.2} ms, p99 {:.2} ms ({} of {} calls)",
        percentile(&setups_us, 0.50) / 1000.0,
        percentile(&setups_us, 0.99) / 1000.0,
        setups_us.len(),
        args.calls
    );
    println!(
        "  frames: sent {}, echoed back {}, lost {}; calls failed {failed}",
        totals.sent,
        totals.received,
        totals.sent.saturating_sub(totals.received)
    );
    println!(
        "  server CPU: {cpu_used:.1} ms over {window:.1} s = {:.3} CPU-ms per call-second (user {:.3}, kernel {:.3})",
        cpu_used / call_seconds,
        user_used / call_seconds,
        kernel_used / call_seconds
    );
    println!(
        "  server RSS: idle {idle_rss} kB, with {} calls {busy_rss} kB = {:.1} kB per call",
        args.calls,
        busy_rss.saturating_sub(idle_rss) as f64 / args.calls as f64
    );
    anyhow::ensure!(failed == 0, "{failed} call(s) failed");
    Ok(())
}
