//! `tracing` set-up: JSON lines in AWS (CloudWatch indexes the fields), readable text locally.

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Pretty,
}

impl LogFormat {
    /// `LOG_FORMAT` if set, else JSON when running in Lambda or ECS, else pretty.
    pub fn detect() -> Self {
        match std::env::var(crate::keys::LOG_FORMAT).ok().as_deref() {
            Some("json") => Self::Json,
            Some("pretty") => Self::Pretty,
            _ if in_aws() => Self::Json,
            _ => Self::Pretty,
        }
    }
}

fn in_aws() -> bool {
    ["AWS_LAMBDA_FUNCTION_NAME", "ECS_CONTAINER_METADATA_URI_V4"]
        .iter()
        .any(|k| std::env::var_os(k).is_some())
}

/// Installs the global subscriber. `RUST_LOG` filters (default `info`). Safe to call twice: the
/// second call does nothing, so tests and the all-in-one server can share code with Lambdas.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match LogFormat::detect() {
        // Lambda adds its own timestamp and request id to each CloudWatch line.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}
