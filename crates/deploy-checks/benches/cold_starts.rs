//! Cold starts of every Lambda function, measured as Lambda counts them, under the emulated
//! Runtime API (`phone_test_support::lambda_runtime`) with release binaries:
//!
//! - init: from the process start to its first `GET …/invocation/next` (what `main` does before
//!   the runtime loop), and the part of it spent waiting for the configuration secret;
//! - first invocation: the first event after init, end to end through the emulator;
//! - warm invocations: p50 and p99 of the next ones, on the same process.
//!
//! Every function is configured as deployed: Twilio, OpenAI, Google Calendar and Gmail, each a
//! loopback double of the real API (so building their clients counts, and the probes that call
//! them, calendar and email, get real answers). Two configurations per function: `env`
//! (configuration from the environment, embedded in-memory store) and `aws` (configuration
//! from a Secrets Manager secret, the DynamoDB store; both served by moto on loopback, so their
//! times are moto's, not AWS's).
//!
//! ```text
//! cargo bench -p phone-deploy-checks --bench cold_starts [-- --runs 5 --warm 200 --only voice]
//! ```
//!
//! Prints a Markdown table (docs/benchmarks.md keeps the last one).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use phone_deploy_checks::fixtures::{
    CALL_SID, Profile, build_functions, function_env, scheduled_event, signed_call_webhook,
    with_key,
};
use phone_test_support::gmail_server::GmailTestServer;
use phone_test_support::google_server::{self, GoogleTestServer};
use phone_test_support::lambda_runtime::{ApiGatewayV2Request, LambdaProcess, Outcome};
use phone_test_support::moto::{MotoServer, dynamodb_client, secrets_client, unique_name};
use phone_test_support::openai_chat::ChatTestServer;
use phone_test_support::twilio_rest_server::TwilioRestServer;
use phone_test_support::webhook_receiver::{Behaviour, WebhookReceiver};
use serde_json::{Value, json};

/// The event one probe sends.
enum Event {
    /// An API Gateway HTTP API request, and the status it must get.
    Http(ApiGatewayV2Request, u16),
    /// A raw event (scheduled and queue functions), and what the answer must hold at a JSON
    /// pointer.
    Raw(Value, &'static str, Value),
}

/// One function and the request that stands for its work. `n` numbers the invocations, so
/// webhooks can use a new call id each time, as Twilio does.
struct Probe {
    function: &'static str,
    what: &'static str,
    event: fn(n: u64) -> Event,
}

/// Every function, with a request that needs no service outside the stack (the integrations
/// are loopback doubles): authenticated REST reads, signed webhooks, the scheduled runs on an empty inbox and no due retry, a schedule
/// naming an unknown reminder, and one webhook event delivered to a loopback receiver.
#[rustfmt::skip]
const PROBES: &[Probe] = &[
    Probe { function: "health", what: "GET /health", event: |_| Event::Http(ApiGatewayV2Request::get("/health"), 200) },
    Probe { function: "voice", what: "signed POST /voice/incoming", event: |n| Event::Http(signed_call_webhook("/voice/incoming", &call_sid(n)), 200) },
    Probe { function: "calls", what: "GET /calls/{sid} (unknown call)", event: |_| Event::Http(with_key(ApiGatewayV2Request::get("/calls/CAffffffffffffffffffffffffffffffff")), 404) },
    Probe { function: "agent", what: "DELETE /memory/{number}", event: |_| Event::Http(with_key(ApiGatewayV2Request::json("DELETE", "/memory/+15551239999", &serde_json::json!({}))), 200) },
    Probe { function: "calendar", what: "GET /calendar/events", event: |_| Event::Http(with_key(ApiGatewayV2Request::get("/calendar/events")), 200) },
    Probe { function: "sms", what: "GET /sms/list", event: |_| Event::Http(with_key(ApiGatewayV2Request::get("/sms/list")), 200) },
    Probe { function: "email", what: "GET /email/inbox", event: |_| Event::Http(with_key(ApiGatewayV2Request::get("/email/inbox")), 200) },
    Probe { function: "auth", what: "GET /auth/google", event: |_| Event::Http(with_key(ApiGatewayV2Request::get("/auth/google")), 302) },
    Probe { function: "email-processor", what: "scheduled run, empty inbox", event: |_| Event::Raw(scheduled_event(), "/listed", json!(0)) },
    Probe { function: "reminders", what: "schedule input, unknown reminder", event: |_| Event::Raw(json!({"reminder_id": "rem_000000000000000000000000"}), "/outcome", json!("not_found")) },
    Probe { function: "outbound-retries", what: "scheduled run, no retry due", event: |_| Event::Raw(scheduled_event(), "/placed", json!(0)) },
    Probe { function: "webhook-delivery", what: "SQS batch of 1 event, delivered to loopback", event: |n| Event::Raw(sqs_event(n), "/batchItemFailures", json!([])) },
];

/// The SQS event source mapping's batch of one message: a `call.ended` event, new each time.
fn sqs_event(n: u64) -> Value {
    let event = phone_core::events::Event::new(
        phone_core::events::EventType::CallEnded,
        time::OffsetDateTime::now_utc(),
        Some(phone_core::CallSid::parse(&call_sid(n)).expect("a well-formed call id")),
        json!({"outcome": "completed"}),
    );
    json!({ "Records": [{
        "messageId": format!("msg-{n}"),
        "receiptHandle": format!("handle-{n}"),
        "body": serde_json::to_string(&event).expect("event JSON"),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:webhooks",
        "awsRegion": "us-east-1",
    }]})
}

fn call_sid(n: u64) -> String {
    if n == 0 {
        return CALL_SID.to_owned();
    }
    format!("CA{n:032x}")
}

/// Where a function's configuration and store come from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Setup {
    /// Environment variables, embedded in-memory store.
    Env,
    /// A Secrets Manager secret and DynamoDB, on moto.
    Aws,
}

struct Options {
    runs: usize,
    warm: usize,
    only: Option<String>,
}

fn options() -> Options {
    let mut options = Options {
        runs: 5,
        warm: 200,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => options.runs = args.next().and_then(|v| v.parse().ok()).unwrap_or(5),
            "--warm" => options.warm = args.next().and_then(|v| v.parse().ok()).unwrap_or(200),
            "--only" => options.only = args.next(),
            // `cargo bench` passes `--bench`; anything else is ignored the same way.
            _ => {}
        }
    }
    options.runs = options.runs.max(1);
    options
}

/// The loopback doubles every function is configured with, as a deployment configures the
/// real services.
struct Services {
    twilio: TwilioRestServer,
    google: GoogleTestServer,
    gmail: GmailTestServer,
    openai: ChatTestServer,
    /// Where webhook-delivery delivers (2xx to every attempt).
    receiver: WebhookReceiver,
}

impl Services {
    async fn start() -> Self {
        Self {
            twilio: TwilioRestServer::start().await,
            google: GoogleTestServer::start().await.expect("the Google double"),
            gmail: GmailTestServer::start(Vec::new()).await,
            openai: ChatTestServer::start(Vec::new()).await,
            receiver: WebhookReceiver::start(Behaviour::FailFirst(0)).await,
        }
    }

    /// The fixtures' configuration with every integration pointed at its double.
    fn config(&self) -> Vec<(&'static str, String)> {
        let integrations = [
            ("TWILIO_API_BASE_URL", self.twilio.base_url().to_owned()),
            ("OPENAI_API_KEY", "sk-cold-starts".to_owned()),
            ("OPENAI_API_BASE_URL", self.openai.base_url().to_owned()),
            ("GOOGLE_CLIENT_ID", google_server::CLIENT_ID.to_owned()),
            (
                "GOOGLE_CLIENT_SECRET",
                google_server::CLIENT_SECRET.to_owned(),
            ),
            (
                "GOOGLE_REFRESH_TOKEN",
                google_server::REFRESH_TOKEN.to_owned(),
            ),
            ("GOOGLE_TOKEN_URL", self.google.token_url()),
            ("GOOGLE_CALENDAR_BASE_URL", self.google.calendar_base_url()),
            ("GOOGLE_CALENDAR_ID", google_server::CALENDAR_ID.to_owned()),
            ("GMAIL_BASE_URL", self.gmail.gmail_base_url()),
        ];
        let mut config = function_env();
        config.retain(|(key, _)| !integrations.iter().any(|(k, _)| k == key));
        config.extend(integrations);
        config
    }

    /// What only webhook-delivery needs: the receiver and its queue (named, never called: a
    /// delivered message is not put back).
    fn delivery_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("WEBHOOK_URLS", self.receiver.url().to_owned()),
            (
                "WEBHOOK_SECRET",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
            ),
            (
                "WEBHOOK_QUEUE_URL",
                "https://sqs.us-east-1.amazonaws.com/123456789012/webhooks".to_owned(),
            ),
        ]
    }
}

/// moto with the configuration secret and the table, and the variables that point at them.
struct AwsSetup {
    _moto: MotoServer,
    env: Vec<(&'static str, String)>,
}

async fn aws_setup(config: &[(&'static str, String)]) -> AwsSetup {
    let moto =
        MotoServer::start().expect("moto_server is needed (bash infra/local/install-deps.sh)");
    let endpoint = moto.endpoint().to_owned();
    let table = unique_name("cold-starts");
    phone_aws::create_table(&dynamodb_client(&endpoint), &table)
        .await
        .expect("creating the table on moto");
    let secret_id = unique_name("cold-starts-config");
    let config: BTreeMap<&str, &str> = config
        .iter()
        .filter(|(k, _)| !matches!(*k, "LOG_FORMAT" | "RUST_LOG"))
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    secrets_client(&endpoint)
        .create_secret()
        .name(&secret_id)
        .secret_string(serde_json::to_string(&config).expect("secret JSON"))
        .send()
        .await
        .expect("creating the secret on moto");
    let env = vec![
        ("CONFIG_SECRET_ID", secret_id),
        ("TABLE_NAME", table),
        ("DYNAMODB_ENDPOINT", endpoint.clone()),
        // What Lambda gives a function: credentials and region in the environment.
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_SESSION_TOKEN", "testing".into()),
        ("LOG_FORMAT", "json".into()),
        ("RUST_LOG", "info".into()),
    ];
    AwsSetup { _moto: moto, env }
}

fn env_setup(config: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut env = config.to_vec();
    for (key, value) in &mut env {
        if *key == "RUST_LOG" {
            // As deployed (template.yaml): info.
            *value = "info".into();
        }
    }
    env
}

/// One cold start and the invocations after it.
struct Run {
    init: Duration,
    secret: Duration,
    first: Duration,
    warm: Vec<Duration>,
}

async fn invoke(process: &LambdaProcess, probe: &Probe, n: u64) -> Duration {
    let event = (probe.event)(n);
    let started = Instant::now();
    match event {
        Event::Http(request, status) => {
            let reply = process.invoke_http(&request).await.unwrap_or_else(|e| {
                panic!("{} {}: {e}", probe.function, probe.what);
            });
            let elapsed = started.elapsed();
            assert_eq!(
                reply.status,
                status,
                "{} {} answered {}: {}\n{}",
                probe.function,
                probe.what,
                reply.status,
                reply.text(),
                process.stderr()
            );
            elapsed
        }
        Event::Raw(event, pointer, expected) => {
            let outcome = process.invoke(event).await;
            let elapsed = started.elapsed();
            assert!(
                matches!(&outcome, Ok(Outcome::Response(answer)) if answer.pointer(pointer) == Some(&expected)),
                "{}: {outcome:?}, expected {pointer} = {expected}\n{}",
                probe.function,
                process.stderr()
            );
            elapsed
        }
    }
}

/// The secret's network wait, as the function logged it.
fn secret_wait(stderr: &str) -> Duration {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["message"] == "configuration secret loaded")
        .and_then(|line| line["elapsed_ms"].as_f64())
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .unwrap_or_default()
}

async fn cold_start(
    binary: &Path,
    probe: &Probe,
    env: &[(&str, &str)],
    warm: usize,
    first_n: u64,
) -> Run {
    let process = LambdaProcess::start(binary, probe.function, env)
        .await
        .unwrap_or_else(|e| panic!("starting {}: {e}", probe.function));
    let init = process
        .init_duration()
        .await
        .unwrap_or_else(|e| panic!("{} did not start: {e}", probe.function));
    let first = invoke(&process, probe, first_n).await;
    let mut warm_times = Vec::with_capacity(warm);
    for i in 1..=warm as u64 {
        warm_times.push(invoke(&process, probe, first_n + i).await);
    }
    Run {
        init,
        secret: secret_wait(&process.stderr()),
        first,
        warm: warm_times,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    percentile(&values, 50.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = options();
    let probes: Vec<&Probe> = PROBES
        .iter()
        .filter(|p| {
            options
                .only
                .as_deref()
                .is_none_or(|only| only == p.function)
        })
        .collect();
    let names: Vec<&str> = probes.iter().map(|p| p.function).collect();
    eprintln!("building release binaries of {names:?}…");
    let bin_dir = build_functions(&names, Profile::Release);
    let services = Services::start().await;
    let config = services.config();
    let delivery_env = services.delivery_env();
    eprintln!("starting moto (secret + table)…");
    let aws = aws_setup(&config).await;
    let env_only = env_setup(&config);

    println!(
        "| function | config | init p50 (min–max) ms | secret wait p50 ms | init − wait p50 ms | first invocation p50 ms | warm p50 ms | warm p99 ms | binary MB | probe |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut n = 1_000u64;
    for probe in probes {
        let binary = bin_dir.join(probe.function);
        let size_mb = std::fs::metadata(&binary)
            .map(|m| m.len() as f64 / 1_048_576.0)
            .unwrap_or_default();
        for setup in [Setup::Env, Setup::Aws] {
            let env = match setup {
                Setup::Env => &env_only,
                Setup::Aws => &aws.env,
            };
            let extra: &[(&str, String)] = match probe.function {
                "webhook-delivery" => &delivery_env,
                _ => &[],
            };
            let env: Vec<(&str, &str)> = env
                .iter()
                .chain(extra)
                .map(|(k, v)| (*k, v.as_str()))
                .collect();
            let mut runs = Vec::with_capacity(options.runs);
            for run in 0..options.runs {
                eprintln!(
                    "{} ({setup:?}) cold start {}/{}",
                    probe.function,
                    run + 1,
                    options.runs
                );
                // Warm invocations on the first process only: later ones measure init again.
                let warm = if run == 0 { options.warm } else { 0 };
                runs.push(cold_start(&binary, probe, &env, warm, n).await);
                n += options.warm as u64 + 1;
            }
            let inits: Vec<Duration> = runs.iter().map(|r| r.init).collect();
            let mut warm: Vec<Duration> = runs.iter().flat_map(|r| r.warm.clone()).collect();
            warm.sort_unstable();
            let min = inits.iter().min().copied().unwrap_or_default();
            let max = inits.iter().max().copied().unwrap_or_default();
            let net: Vec<Duration> = runs
                .iter()
                .map(|r| r.init.saturating_sub(r.secret))
                .collect();
            println!(
                "| {} | {} | {} ({}–{}) | {} | {} | {} | {} | {} | {:.1} | {} |",
                probe.function,
                match setup {
                    Setup::Env => "env",
                    Setup::Aws => "aws",
                },
                ms(median(inits)),
                ms(min),
                ms(max),
                ms(median(runs.iter().map(|r| r.secret).collect())),
                ms(median(net)),
                ms(median(runs.iter().map(|r| r.first).collect())),
                ms(percentile(&warm, 50.0)),
                ms(percentile(&warm, 99.0)),
                size_mb,
                probe.what,
            );
        }
    }
}
