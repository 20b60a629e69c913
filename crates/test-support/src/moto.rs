//! `moto_server` (the DynamoDB, Secrets Manager and EventBridge Scheduler emulator from PyPI `moto[server]`) on a free
//! loopback port.
//!
//! When moto is not installed the AWS tests are skipped with a loud message, except in CI (`CI`
//! set), where a missing emulator is a failure: `.ci/run` installs it. One server per test
//! binary is enough ([`shared_endpoint`]); each test builds its own client from the endpoint
//! (every `#[tokio::test]` has its own runtime, and a client must not outlive the runtime it
//! was used on) and its own table or secret name ([`unique_name`]).

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;

/// How long moto may take to answer its first request (it imports every AWS service model).
const STARTUP: Duration = Duration::from_secs(20);

/// A running `moto_server`, stopped when dropped.
#[derive(Debug)]
pub struct MotoServer {
    endpoint: String,
    server: Child,
    /// Stops the server if this process ends without dropping us (statics are never dropped).
    watchdog: Option<Child>,
    log: PathBuf,
}

impl MotoServer {
    /// Starts moto on a free port and waits until it answers HTTP.
    ///
    /// `None`, after a loud warning, when `moto_server` is not on `PATH`; panics instead when
    /// `CI` is set, or when moto is installed but does not come up (with its log).
    pub fn start() -> Option<Self> {
        let Some(program) = find_on_path("moto_server") else {
            if std::env::var_os("CI").is_some() {
                panic!("moto_server not installed; .ci/run must install moto[server]");
            }
            let rule = "!".repeat(78);
            let banner = format!(
                "\n{rule}\n\
                 !! SKIPPED: moto_server is not installed (not found on PATH), so the\n\
                 !! DynamoDB and Secrets Manager adapter tests did NOT run; they pass vacuously.\n\
                 !! Install it with:  python3 -m pip install 'moto[server]'\n\
                 !! (In CI, where CI is set, a missing moto_server fails the tests instead.)\n\
                 {rule}\n\n"
            );
            // Straight to the process's stderr: `eprintln!` inside a test is captured by the
            // harness and shown only when the test fails, and these tests pass.
            let _ = std::io::stderr().lock().write_all(banner.as_bytes());
            return None;
        };
        let port = free_port();
        let log = std::env::temp_dir().join(format!("moto-{}-{port}.log", std::process::id()));
        let log_file = File::create(&log)
            .unwrap_or_else(|e| panic!("creating the moto log {}: {e}", log.display()));
        let log_err = log_file
            .try_clone()
            .unwrap_or_else(|e| panic!("opening the moto log {}: {e}", log.display()));
        let server = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
        let mut moto = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            watchdog: spawn_watchdog(server.id(), &log),
            server,
            log,
        };
        moto.wait_until_ready(port);
        Some(moto)
    }

    /// The `http://127.0.0.1:PORT` endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn wait_until_ready(&mut self, port: u16) {
        let deadline = Instant::now() + STARTUP;
        loop {
            if answers_http(port) {
                return;
            }
            if let Ok(Some(status)) = self.server.try_wait() {
                panic!(
                    "moto_server exited ({status}) before answering on port {port}; its log {}:\n{}",
                    self.log.display(),
                    log_tail(&self.log)
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "moto_server did not answer HTTP on port {port} within {} s; its log {}:\n{}",
                    STARTUP.as_secs(),
                    self.log.display(),
                    log_tail(&self.log)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        if let Some(watchdog) = self.watchdog.as_mut() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

static SHARED: OnceLock<Option<MotoServer>> = OnceLock::new();

/// The endpoint of this test binary's moto, started on first use; `None` (after the loud
/// warning of [`MotoServer::start`]) when moto is not installed outside CI.
pub fn shared_endpoint() -> Option<String> {
    SHARED
        .get_or_init(MotoServer::start)
        .as_ref()
        .map(|moto| moto.endpoint.clone())
}

/// The first executable file called `name` in a `PATH` directory.
fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn free_port() -> u16 {
    // Bind port 0, read the port, release it: moto binds it a moment later. Another process
    // could take it in between; the readiness check would then report moto's failure.
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// Whether something on `port` answers an HTTP request (a bound socket alone is not enough:
/// moto accepts connections before it can serve them).
fn answers_http(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 8];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

/// A shell loop that kills moto (and removes its log) once this test process is gone, however
/// it ends: the shared server lives in a static, and statics are never dropped. `None` if `sh` is unavailable (the
/// server is then only stopped by `Drop`).
fn spawn_watchdog(server_pid: u32, log: &Path) -> Option<Child> {
    let script = "while kill -0 \"$1\" 2>/dev/null && kill -0 \"$2\" 2>/dev/null; do sleep 1; done; \
                  kill \"$2\" 2>/dev/null; rm -f \"$3\"";
    Command::new("sh")
        .args(["-c", script, "moto-watchdog"])
        .arg(std::process::id().to_string())
        .arg(server_pid.to_string())
        .arg(log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let start = text.len().saturating_sub(2_000);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    text[start..].to_owned()
}

/// Dummy credentials: moto accepts any.
fn credentials() -> Credentials {
    Credentials::new("test", "test", None, None, "moto")
}

/// A DynamoDB client for the moto at `endpoint`, configured explicitly (region `us-east-1`,
/// dummy credentials): nothing is read from, or written to, the process environment.
pub fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(credentials())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A Secrets Manager client for the moto at `endpoint`, configured like [`dynamodb_client`].
pub fn secrets_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(credentials())
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// An EventBridge Scheduler client for the moto at `endpoint`, configured like
/// [`dynamodb_client`].
pub fn scheduler_client(endpoint: &str) -> aws_sdk_scheduler::Client {
    let config = aws_sdk_scheduler::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(credentials())
        .build();
    aws_sdk_scheduler::Client::from_conf(config)
}

/// An SQS client for the moto at `endpoint`, configured like [`dynamodb_client`].
pub fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(credentials())
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// A name no other test in this process uses (tables, secrets, files): `prefix-<pid>-<n>`.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_server_answers_and_is_stopped_on_drop() {
        let Some(moto) = MotoServer::start() else {
            return;
        };
        let port: u16 = moto
            .endpoint()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap();
        assert!(answers_http(port));
        drop(moto);
        assert!(!answers_http(port), "moto still answers after drop");
    }

    #[test]
    fn missing_programs_are_not_found_on_path() {
        assert!(find_on_path("surely-not-a-real-program-name").is_none());
        assert!(find_on_path("sh").is_some());
    }
}
