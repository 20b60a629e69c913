//! `moto_server` on loopback, one per test binary.
//!
//! When moto is not installed the AWS tests are skipped with a loud message, except in CI
//! (`CI` set), where a missing emulator is a failure: `.ci/run` installs it.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};

/// A running `moto_server`, started by [`MotoServer::start`].
pub struct MotoServer {
    endpoint: String,
    // Held so the watchdog is owned; it exits by itself with the test process.
    _watchdog: Child,
}

impl MotoServer {
    /// The `http://127.0.0.1:PORT` endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

static SHARED: OnceLock<Option<MotoServer>> = OnceLock::new();

/// The endpoint of this test binary's moto, starting it on first use; `None` (after a loud
/// warning) when moto is not installed outside CI.
pub fn endpoint() -> Option<String> {
    SHARED
        .get_or_init(MotoServer::start)
        .as_ref()
        .map(|m| m.endpoint.clone())
}

fn moto_installed() -> bool {
    Command::new("moto_server")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

impl MotoServer {
    /// Starts moto on a free port and waits until it answers.
    pub fn start() -> Option<Self> {
        if !moto_installed() {
            if std::env::var_os("CI").is_some() {
                panic!("moto_server is not installed; .ci/run must install moto[server] (pip)");
            }
            eprintln!("\n{}", "=".repeat(78));
            eprintln!("SKIPPED: moto_server is not installed, so the DynamoDB and Secrets Manager");
            eprintln!(
                "adapter tests did NOT run. Install it: python3 -m pip install 'moto[server]'"
            );
            eprintln!("{}\n", "=".repeat(78));
            return None;
        }
        let port = free_port();
        // Statics are never dropped, so a small shell watchdog stops moto once the test binary
        // (its parent) has exited, however it exits.
        let script = "moto_server -H 127.0.0.1 -p \"$1\" >/dev/null 2>&1 & m=$!; \
                        trap 'kill $m 2>/dev/null' EXIT; \
                        while kill -0 $PPID 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 1; done";
        let watchdog = Command::new("sh")
            .args(["-c", script, "moto-watchdog", &port.to_string()])
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting moto_server: {e}"));
        let server = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            _watchdog: watchdog,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(server)
    }
}

/// SDK configuration pointing at `endpoint` with dummy credentials; no process environment is
/// read or changed.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "moto",
        ))
        .load()
        .await
}

/// A DynamoDB client for moto.
pub async fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config(endpoint).await)
}

/// A Secrets Manager client for moto.
pub async fn secrets_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&sdk_config(endpoint).await)
}

/// A table name no other test uses.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
