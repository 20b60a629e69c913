//! `phone-agent serve`: every route of every function and the stream host in one process.
//!
//! With no configuration it runs entirely locally: the embedded store, a Twilio auth token and
//! REST API key generated for this run (printed, so a simulated call or curl can use them), and
//! webhook and stream URLs on the listening address. Set `PUBLIC_BASE_URL`, `STREAM_PUBLIC_URL`
//! and the real credentials (e.g. in `.env`) to take real calls through a tunnel.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use base64::Engine;
use clap::Args;
use phone_api::AppState;
use phone_config::Config;
use phone_core::{Store, SystemClock};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use stream_host::{HostState, StreamHostConfig, drain};

/// Options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

/// A running all-in-one server.
pub struct LocalServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The effective configuration (generated secrets included).
    pub config: Config,
    /// The store, for inspection by `demo`.
    pub store: Store,
    /// Starts a drain (as SIGTERM would).
    pub drain: drain::DrainController,
    /// The server task; ends after a drain.
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Work left running after a response (late SMS answers, post-call analyses), awaited
    /// before exit.
    pub background: phone_http::InFlight,
    /// The webhook outbox when `WEBHOOK_URLS` is set, flushed before exit.
    pub outbox: Option<phone_webhooks::WebhookOutbox>,
}

/// How long `serve` waits at exit for late SMS answers and analyses still being written, and
/// then for webhooks still being delivered.
const BACKGROUND_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

fn random_secret() -> SecretString {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Fills what a purely local run needs and the environment did not give.
fn local_defaults(config: &mut Config, addr: SocketAddr) {
    if config.twilio.auth_token.is_none() {
        config.twilio.auth_token = Some(random_secret());
    }
    if config.api_key.is_none() {
        config.api_key = Some(random_secret());
    }
    if config.public_base_url.is_none() {
        config.public_base_url = Some(format!("http://{addr}"));
    }
    if config.stream_url.is_none() {
        config.stream_url = Some(format!("ws://{addr}/voice/stream"));
    }
}

/// Binds, builds every adapter and starts serving in the background.
pub async fn start(args: &ServeArgs, mut config: Config) -> anyhow::Result<LocalServer> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    local_defaults(&mut config, addr);
    let records = phone_wiring::open_records(&config).await?;
    let store = Store::new(records, Arc::new(SystemClock), config.retention);
    let (controller, signal) = drain::channel();
    let mut tools = phone_wiring::tool_ports(&config, &store)?;
    let dialer = phone_wiring::dialer(&config, &store)?;
    if config.reminder_scheduler.is_none() {
        // No EventBridge Scheduler: this process fires reminders itself; call reminders go
        // out through the same dialer as `POST /calls`.
        let alarm = phone_local::reminders::LocalAlarm::new();
        tools.reminder_alarm = Arc::new(alarm.clone());
        let firer = phone_wiring::reminder_firer(&tools, &store, dialer.clone());
        let mut stop = signal.clone();
        tokio::spawn(phone_local::reminders::run_scheduler(
            firer,
            alarm,
            Arc::new(phone_local::reminders::SystemSleeper),
            async move { stop.deadline_passed().await },
        ));
    }
    // Webhooks are delivered from this process; calls are analysed here when they end.
    let (events, outbox, post_call) = phone_wiring::post_call(&config, &store)?;
    tools.events = events.clone();
    let mut state = AppState::new(config.clone(), store.clone())
        .with_tools(tools.clone())
        .with_post_call(events.clone(), post_call.clone());
    let host = HostState::with_tools(
        StreamHostConfig::from_config(&config)?,
        store.clone(),
        signal.clone(),
        Some(tools),
    )
    .with_post_call(stream_host::PostCall {
        events,
        analysis: Some(post_call),
        background: state.background.clone(),
    });
    if let Some(chat) = phone_wiring::chat_model(&config)? {
        state = state.with_chat(chat);
    }
    if let Some(dialer) = dialer {
        tokio::spawn(run_retries(dialer.clone(), signal.clone()));
        state = state.with_dialer(dialer);
    }
    let google_auth = phone_wiring::google_auth(&config).await;
    let background = state.background.clone();
    let app = phone_api::routes::all(state.clone())
        .merge(phone_api::routes::google_auth::routes(state, google_auth))
        .merge(stream_host::stream_routes(host.clone()));
    // A client has `HEADER_READ_TIMEOUT_SECS` to send its request headers (slowloris), and
    // a request `REQUEST_TIMEOUT_SECS` to be answered.
    let timeouts = phone_http::ServerTimeouts {
        header_read: config.header_read_timeout,
        request: config.request_timeout,
    };
    let task = tokio::spawn(phone_http::serve(
        listener,
        app,
        timeouts,
        stream_host::drained(host),
    ));
    Ok(LocalServer {
        addr,
        config,
        store,
        drain: controller,
        task,
        background,
        outbox,
    })
}

/// How often `serve` looks for outbound retries that are due.
const RETRY_TICK: std::time::Duration = std::time::Duration::from_secs(5);

/// Dials the outbound retries whose time has come, every [`RETRY_TICK`], until a drain starts
/// (a draining host places no new calls). In AWS a scheduled Lambda does the same
/// (docs/outbound.md, "Retries").
async fn run_retries(dialer: phone_core::outbound::dialer::Dialer, drain: drain::DrainSignal) {
    let mut tick = tokio::time::interval(RETRY_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if drain.is_draining() {
            return;
        }
        match dialer.run_due_retries().await {
            Ok(0) => {}
            Ok(placed) => tracing::info!(placed, "outbound retries placed"),
            Err(e) => tracing::warn!(error = %e, "outbound retries not run; trying again"),
        }
    }
}

/// Starts the server, prints what to give Twilio, and runs until ctrl-c (then drains).
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = phone_wiring::load_config()
        .await
        .context("reading configuration")?;
    let server = start(&args, config).await?;
    print_banner(&server);
    let _ = tokio::signal::ctrl_c().await;
    println!(
        "draining: live calls get {} s",
        server.config.stream.drain.as_secs()
    );
    server.drain.drain(server.config.stream.drain);
    let served = server.task.await.context("server task")?.context("serving");
    let late = server.background.len();
    if late > 0 {
        println!(
            "waiting up to {} s for {late} late SMS answer(s) or call analyses",
            BACKGROUND_GRACE.as_secs()
        );
        if let Err(unsent) = server.background.idle_within(BACKGROUND_GRACE).await {
            eprintln!("{unsent} late SMS answer(s) or analyses unfinished at exit");
        }
    }
    if let Some(outbox) = &server.outbox
        && outbox.pending() > 0
    {
        println!(
            "waiting up to {} s for {} webhook event(s) being delivered",
            BACKGROUND_GRACE.as_secs(),
            outbox.pending()
        );
        if !outbox.flush(BACKGROUND_GRACE).await {
            eprintln!(
                "{} webhook event(s) undelivered at exit (see GET /webhooks/deliveries)",
                outbox.pending()
            );
        }
    }
    served
}

fn print_banner(server: &LocalServer) {
    let c = &server.config;
    let base = c
        .public_base_url
        .as_deref()
        .unwrap_or_default()
        .trim_end_matches('/');
    println!("phone-agent listening on http://{}", server.addr);
    println!("  Twilio voice URL:       POST {base}/voice/incoming");
    println!("  Twilio status callback: POST {base}/voice/status");
    println!(
        "  after the stream:       POST {base}{} (the TwiML's <Connect action>)",
        phone_api::routes::stream_ended::PATH
    );
    println!(
        "  media stream:           {}",
        c.stream_url.as_deref().unwrap_or_default()
    );
    println!("  health:                 GET  {base}/health");
    println!(
        "  call console:           {base}{} (log in with the REST API key)",
        phone_api::routes::console::BASE
    );
    println!("adapters:");
    println!("  store:    {}", server.store.records().describe());
    let openai = if c.openai.api_key.is_some() {
        "real (OPENAI_API_KEY set)"
    } else {
        "no key: set OPENAI_API_KEY or use `phone-agent demo`"
    };
    println!("  openai:   {} at {openai}", c.openai.realtime_url);
    if std::env::var(phone_config::keys::TWILIO_AUTH_TOKEN).is_err()
        && let Some(token) = &c.twilio.auth_token
    {
        println!(
            "  twilio:   generated auth token for this run: {}",
            token.expose_secret()
        );
    }
    if std::env::var(phone_config::keys::API_KEY).is_err()
        && let Some(key) = &c.api_key
    {
        println!(
            "  REST API: generated key for this run: Authorization: Bearer {}",
            key.expose_secret()
        );
    }
}
