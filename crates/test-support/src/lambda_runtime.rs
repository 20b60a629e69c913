//! A loopback emulator of the AWS Lambda Runtime API, to run a function binary exactly as Lambda
//! does: the binary is started as a child process with `AWS_LAMBDA_RUNTIME_API` pointing here,
//! long-polls `GET /2018-06-01/runtime/invocation/next` for an event and posts the result to
//! `…/invocation/{id}/response` or `…/error` (or `…/init/error` if it cannot start).
//!
//! Internal extensions are emulated too (`extensions`): registration, `INVOKE` events, and an
//! invocation lasting until every extension has asked for its next event.
//!
//! This exercises a function's real `main`: configuration from the environment, the cold-start
//! bootstrap, `lambda_http`'s decoding of API Gateway events and encoding of responses.
//!
//! ```no_run
//! # async fn demo(binary: &std::path::Path) {
//! use phone_test_support::lambda_runtime::{ApiGatewayV2Request, LambdaProcess};
//! let function = LambdaProcess::start(binary, "health", &[]).await.unwrap();
//! let reply = function.invoke_http(&ApiGatewayV2Request::get("/health")).await.unwrap();
//! assert_eq!(reply.status, 200);
//! # }
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, mpsc, oneshot};

mod events;
mod extensions;

pub use events::{API_DOMAIN, ApiGatewayV2Request, HttpReply};

/// How long one invocation may take before [`LambdaProcess::invoke`] gives up. Generous: a cold
/// debug build on a busy 2-core machine is slow, and the function's own deadline is separate.
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);

/// The function deadline advertised in `Lambda-Runtime-Deadline-Ms`.
const FUNCTION_DEADLINE: Duration = Duration::from_secs(30);

/// What a function did with one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It posted a response (the raw body it sent, JSON for every Rust runtime).
    Response(Value),
    /// It posted to `…/error`: the error document and `Lambda-Runtime-Function-Error-Type`.
    Error {
        /// The `Lambda-Runtime-Function-Error-Type` header, if sent.
        error_type: Option<String>,
        /// The error body (`errorType`, `errorMessage`).
        body: Value,
    },
}

/// Why an invocation produced no [`Outcome`].
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The function reported a start-up failure to `/init/error`.
    #[error("the function failed to initialise: {body}\n--- function stderr ---\n{stderr}")]
    Init {
        /// The init error document.
        body: Value,
        /// What the process wrote to stderr.
        stderr: String,
    },
    /// The process ended before answering.
    #[error("the function exited ({status}) before answering\n--- function stderr ---\n{stderr}")]
    Exited {
        /// The exit status.
        status: std::process::ExitStatus,
        /// What the process wrote to stderr.
        stderr: String,
    },
    /// No answer within [`INVOKE_TIMEOUT`].
    #[error("no answer within {0:?}\n--- function stderr ---\n{1}")]
    Timeout(Duration, String),
    /// The emulator dropped the invocation without an answer.
    #[error("the invocation was dropped without an answer\n--- function stderr ---\n{0}")]
    Lost(String),
    /// The answer was not an API Gateway HTTP response.
    #[error("not an API Gateway v2 response: {0}")]
    NotHttp(String),
}

/// One event waiting for the function, with the channel its outcome goes back on.
struct Pending {
    request_id: String,
    event: Value,
    reply: oneshot::Sender<Outcome>,
}

/// State shared by the Runtime API handlers.
struct Runtime {
    function_arn: String,
    /// Events not yet fetched by the function; `next` long-polls on it.
    queue: Mutex<mpsc::UnboundedReceiver<Pending>>,
    /// Fetched events waiting for their outcome, by request id.
    in_flight: StdMutex<HashMap<String, oneshot::Sender<Outcome>>>,
    /// Set once if the function posts to `/init/error`.
    init_error: StdMutex<Option<Value>>,
    /// Registered extensions.
    extensions: extensions::Extensions,
    /// When the function first asked for an event: the end of its init phase.
    first_next: OnceLock<Instant>,
    /// Woken on the first `next`.
    ready: tokio::sync::Notify,
}

/// A function binary running under the emulated Runtime API. The child is killed on drop.
pub struct LambdaProcess {
    child: Mutex<Child>,
    runtime: Arc<Runtime>,
    events: mpsc::UnboundedSender<Pending>,
    stderr: Arc<StdMutex<String>>,
    next_id: AtomicU64,
    server: tokio::task::JoinHandle<()>,
    /// Just before the child was spawned: the start of its init phase.
    spawned_at: Instant,
    /// `host:port` of the emulated Runtime API.
    pub runtime_api: SocketAddr,
}

impl LambdaProcess {
    /// Starts the Runtime API on a free loopback port and `binary` as a child process with the
    /// variables Lambda sets (`AWS_LAMBDA_RUNTIME_API`, `AWS_LAMBDA_FUNCTION_NAME`,
    /// `…_MEMORY_SIZE`, `…_VERSION`, `AWS_REGION`, `_HANDLER`) plus `env`. The child inherits
    /// no other `AWS_*`, `TABLE_NAME` or `CONFIG_SECRET_ID` variable from the test process, so
    /// it cannot reach a real account by accident.
    pub async fn start(
        binary: &Path,
        function_name: &str,
        env: &[(&str, &str)],
    ) -> std::io::Result<Self> {
        let (events, queue) = mpsc::unbounded_channel();
        let runtime = Arc::new(Runtime {
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
            queue: Mutex::new(queue),
            in_flight: StdMutex::new(HashMap::new()),
            init_error: StdMutex::new(None),
            extensions: extensions::Extensions::default(),
            first_next: OnceLock::new(),
            ready: tokio::sync::Notify::new(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let runtime_api = listener.local_addr()?;
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .route("/2020-01-01/extension/register", post(extensions::register))
            .route("/2020-01-01/extension/event/next", get(extensions::next))
            .route("/2020-01-01/extension/init/error", post(extensions::failed))
            .route("/2020-01-01/extension/exit/error", post(extensions::failed))
            .with_state(runtime.clone());
        let server = tokio::spawn(async move {
            // Ends when the task is aborted on drop.
            let _ = axum::serve(listener, app).await;
        });

        let mut command = Command::new(binary);
        for (key, _) in std::env::vars() {
            if key.starts_with("AWS_") || key == "TABLE_NAME" || key == "CONFIG_SECRET_ID" {
                command.env_remove(key);
            }
        }
        command
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", function_name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function_name}"),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "emulator")
            .env("AWS_REGION", "us-east-1")
            .env("_HANDLER", "bootstrap")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let spawned_at = Instant::now();
        let mut child = command.spawn()?;

        // Keep the function's log to explain a failure; tracing writes to stderr or stdout
        // depending on the format, and stderr is where panics go.
        let stderr = Arc::new(StdMutex::new(String::new()));
        if let Some(pipe) = child.stderr.take() {
            let sink = stderr.clone();
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(pipe).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut log = sink.lock().unwrap_or_else(|e| e.into_inner());
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        Ok(Self {
            child: Mutex::new(child),
            runtime,
            events,
            stderr,
            next_id: AtomicU64::new(1),
            server,
            spawned_at,
            runtime_api,
        })
    }

    /// Waits for the function's first `GET …/invocation/next` and returns its init time, as
    /// Lambda counts it: from the process start to that first request (the cold-start work
    /// `main` does before the runtime loop). Errors as [`Self::invoke`] does if the function
    /// fails to start.
    pub async fn init_duration(&self) -> Result<Duration, InvokeError> {
        let started = tokio::time::Instant::now();
        loop {
            let ready = self.runtime.ready.notified();
            if let Some(at) = self.runtime.first_next.get() {
                return Ok(at.saturating_duration_since(self.spawned_at));
            }
            self.check_alive().await?;
            if started.elapsed() > INVOKE_TIMEOUT {
                return Err(InvokeError::Timeout(INVOKE_TIMEOUT, self.stderr()));
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), ready).await;
        }
    }

    /// An error if the function reported an init failure or its process has ended.
    async fn check_alive(&self) -> Result<(), InvokeError> {
        let init = self
            .runtime
            .init_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(body) = init {
            return Err(InvokeError::Init {
                body,
                stderr: self.stderr(),
            });
        }
        if let Ok(Some(status)) = self.child.lock().await.try_wait() {
            // Give the stderr reader a moment to drain the pipe.
            tokio::time::sleep(Duration::from_millis(50)).await;
            return Err(InvokeError::Exited {
                status,
                stderr: self.stderr(),
            });
        }
        Ok(())
    }

    /// Hands `event` to the function and waits for what it posts back.
    pub async fn invoke(&self, event: Value) -> Result<Outcome, InvokeError> {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request_id = format!("00000000-0000-4000-8000-{n:012}");
        let (reply, mut outcome) = oneshot::channel();
        // The receiver lives as long as `self.runtime`, so this cannot fail.
        let _ = self.events.send(Pending {
            request_id,
            event,
            reply,
        });
        let started = tokio::time::Instant::now();
        let mut poll = tokio::time::interval(Duration::from_millis(50));
        loop {
            tokio::select! {
                result = &mut outcome => {
                    // The sender lives in the runtime's map until the function answers; it is
                    // dropped unanswered only if the server went away.
                    return result.map_err(|_| InvokeError::Lost(self.stderr()));
                }
                _ = poll.tick() => {}
            }
            self.check_alive().await?;
            if started.elapsed() > INVOKE_TIMEOUT {
                return Err(InvokeError::Timeout(INVOKE_TIMEOUT, self.stderr()));
            }
        }
    }

    /// Invokes the function with an API Gateway HTTP API (payload 2.0) event and decodes the
    /// response it returns.
    pub async fn invoke_http(
        &self,
        request: &ApiGatewayV2Request,
    ) -> Result<HttpReply, InvokeError> {
        match self.invoke(request.to_event()).await? {
            Outcome::Response(value) => HttpReply::from_response(&value),
            Outcome::Error { body, .. } => Err(InvokeError::NotHttp(format!(
                "the function reported an error: {body}"
            ))),
        }
    }

    /// Waits until every invocation so far is over for the registered extensions: the work
    /// a function does after its response (held open by an internal extension) has ended.
    /// `false` if that took longer than `timeout`.
    pub async fn settled(&self, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, self.runtime.extensions.settled())
            .await
            .is_ok()
    }

    /// How many extensions the function registered.
    pub fn extensions(&self) -> usize {
        self.runtime.extensions.count()
    }

    /// Everything the function wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for LambdaProcess {
    fn drop(&mut self) {
        self.server.abort();
        if let Ok(mut child) = self.child.try_lock() {
            let _ = child.start_kill();
        }
        // Otherwise `kill_on_drop` ends the child when the `Child` itself is dropped.
    }
}

/// `GET …/invocation/next`: blocks until an event is queued, then hands it over with the
/// headers Lambda sends.
async fn next(State(runtime): State<Arc<Runtime>>) -> Response {
    if runtime.first_next.set(Instant::now()).is_ok() {
        runtime.ready.notify_waiters();
    }
    // As in Lambda, the previous invocation lasts until every extension is done with it.
    runtime.extensions.before_invoke().await;
    let Some(pending) = runtime.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline = SystemTime::now() + FUNCTION_DEADLINE;
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    runtime
        .in_flight
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(pending.request_id.clone(), pending.reply);
    runtime
        .extensions
        .invoked(&pending.request_id, deadline_ms, &runtime.function_arn);
    let trace = format!(
        "Root=1-{:08x}-{:0>24};Parent={:016x};Sampled=0",
        deadline_ms / 1000,
        pending.request_id.replace('-', "")[..24].to_owned(),
        deadline_ms
    );
    (
        [
            ("lambda-runtime-aws-request-id", pending.request_id),
            ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                runtime.function_arn.clone(),
            ),
            ("lambda-runtime-trace-id", trace),
            ("content-type", "application/json".to_owned()),
        ],
        pending.event.to_string(),
    )
        .into_response()
}

/// `POST …/invocation/{id}/response`.
async fn response(
    State(runtime): State<Arc<Runtime>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    finish(&runtime, &id, Outcome::Response(value))
}

/// `POST …/invocation/{id}/error`.
async fn error(
    State(runtime): State<Arc<Runtime>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let error_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    finish(&runtime, &id, Outcome::Error { error_type, body })
}

/// `POST …/init/error`.
async fn init_error(State(runtime): State<Arc<Runtime>>, body: Bytes) -> StatusCode {
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    *runtime.init_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(body);
    StatusCode::ACCEPTED
}

/// Delivers an outcome; an unknown or already answered id is a 400, as in Lambda.
fn finish(runtime: &Runtime, id: &str, outcome: Outcome) -> StatusCode {
    let reply = runtime
        .in_flight
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(id);
    match reply {
        Some(reply) => {
            let _ = reply.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}
