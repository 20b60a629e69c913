//! Optional OpenTelemetry export of each call as one trace (docs/observability.md, "Tracing"):
//! a `call` span, and under it a `turn` span per assistant turn (end of the caller's speech to
//! the first audio sent) and a `tool` span per tool run.
//!
//! Off unless an OTLP endpoint is configured, with the standard variables:
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`),
//! `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, the default, or `http/json`),
//! `OTEL_SERVICE_NAME` (default `phone-agent-stream-host`), `OTEL_SDK_DISABLED=true` to turn it
//! off whatever else is set. The official `opentelemetry` SDK and OTLP exporter encode and
//! send; the spans are built when the call has ended, from the times the call recorded, so
//! nothing is added to the call's path. Exports run on the SDK's batch thread, through our
//! reqwest client on the host's runtime (no gRPC, no second HTTP stack), and each call's trace
//! is flushed as the call ends.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use opentelemetry::trace::{Span, SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, KeyValue};
use opentelemetry_http::{HttpClient, HttpError};
use opentelemetry_otlp::{SpanExporter, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use time::OffsetDateTime;

use crate::machine::Outcome;

/// The service name when `OTEL_SERVICE_NAME` is not set.
pub const DEFAULT_SERVICE_NAME: &str = "phone-agent-stream-host";
/// Longest one export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The trace exporter of one host.
#[derive(Clone)]
pub struct TraceExport {
    provider: SdkTracerProvider,
}

impl std::fmt::Debug for TraceExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TraceExport")
    }
}

/// What one call's trace is made of.
#[derive(Debug, Clone, Copy)]
pub struct CallTrace<'a> {
    /// The call.
    pub call_sid: &'a str,
    /// `realtime` or `live`.
    pub engine: &'a str,
    /// When the call started (its row's `started_at`).
    pub started_at: OffsetDateTime,
    /// When it ended.
    pub ended_at: OffsetDateTime,
    /// What the call measured.
    pub outcome: &'a Outcome,
}

impl TraceExport {
    /// The exporter the process environment asks for, or `None` (the default): no endpoint
    /// set, `OTEL_SDK_DISABLED=true`, no runtime to send on, or a setting the exporter refuses
    /// (logged).
    pub fn from_env() -> Option<Self> {
        let var = |key: &str| std::env::var(key).ok().filter(|v| !v.trim().is_empty());
        if var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return None;
        }
        if var("OTEL_EXPORTER_OTLP_ENDPOINT").is_none()
            && var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_none()
        {
            return None;
        }
        if let Some(protocol) = var("OTEL_EXPORTER_OTLP_PROTOCOL")
            && !matches!(protocol.trim(), "http/protobuf" | "http/json")
        {
            tracing::error!(%protocol, "OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json; trace export off");
            return None;
        }
        let runtime = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => runtime,
            Err(_) => {
                tracing::error!("no async runtime to export traces on; trace export off");
                return None;
            }
        };
        let client = match reqwest::Client::builder().timeout(EXPORT_TIMEOUT).build() {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "no HTTP client for trace export; trace export off");
                return None;
            }
        };
        // Endpoint, protocol, headers and timeout come from the standard variables.
        let exporter = match SpanExporter::builder()
            .with_http()
            .with_http_client(RuntimeClient { client, runtime })
            .build()
        {
            Ok(exporter) => exporter,
            Err(e) => {
                tracing::error!(error = %e, "OTLP exporter refused its settings; trace export off");
                return None;
            }
        };
        let resource = match var("OTEL_SERVICE_NAME") {
            Some(_) => Resource::builder().build(),
            None => Resource::builder()
                .with_service_name(DEFAULT_SERVICE_NAME)
                .build(),
        };
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        tracing::info!("OpenTelemetry trace export on");
        Some(Self { provider })
    }

    /// Exports one call's trace, then flushes it off the runtime's threads.
    pub fn export_call(&self, call: CallTrace<'_>) {
        let tracer = self.provider.tracer("stream-host");
        let outcome = call.outcome;
        let mut root = tracer
            .span_builder("call")
            .with_kind(SpanKind::Server)
            .with_start_time(SystemTime::from(call.started_at))
            .with_attributes([
                KeyValue::new("call.sid", call.call_sid.to_owned()),
                KeyValue::new("voice.engine", call.engine.to_owned()),
                KeyValue::new("call.end_reason", format!("{:?}", outcome.reason)),
                KeyValue::new("call.turns", outcome.turn_latencies.len() as i64),
            ])
            .start(&tracer);
        root.set_status(Status::Ok);
        let cx = Context::current_with_span(root);
        for turn in &outcome.turn_latencies {
            let mut span = tracer
                .span_builder("turn")
                .with_start_time(SystemTime::from(turn.speech_ended_at))
                .with_attributes([
                    KeyValue::new("turn.index", i64::from(turn.index)),
                    KeyValue::new("latency.total_ms", turn.total_ms as i64),
                    KeyValue::new("latency.model_ms", turn.model_ms as i64),
                    KeyValue::new("latency.tool_ms", turn.tool_ms as i64),
                    KeyValue::new("latency.transport_ms", turn.transport_ms as i64),
                ])
                .start_with_context(&tracer, &cx);
            span.end_with_timestamp(SystemTime::from(turn.first_audio_at));
        }
        for tool in &outcome.tool_timings {
            let mut attributes = vec![
                KeyValue::new("tool.name", tool.name.clone()),
                KeyValue::new("tool.call_id", tool.call_id.clone()),
            ];
            if let Some(index) = tool.turn {
                attributes.push(KeyValue::new("turn.index", i64::from(index)));
            }
            let mut span = tracer
                .span_builder("tool")
                .with_start_time(SystemTime::from(tool.started_at))
                .with_attributes(attributes)
                .start_with_context(&tracer, &cx);
            match tool.ended_at {
                Some(ended) => {
                    if tool.is_error {
                        span.set_status(Status::error("the tool failed"));
                    }
                    span.end_with_timestamp(SystemTime::from(ended));
                }
                None => {
                    span.set_status(Status::error("did not finish before the call ended"));
                    span.end_with_timestamp(SystemTime::from(call.ended_at));
                }
            }
        }
        cx.span()
            .end_with_timestamp(SystemTime::from(call.ended_at));
        let provider = self.provider.clone();
        // The flush waits for the SDK's thread, which waits for the runtime: never on it.
        tokio::task::spawn_blocking(move || {
            if let Err(e) = provider.force_flush() {
                tracing::warn!(error = %e, "call trace not exported");
            }
        });
    }
}

/// Our reqwest client, run on the host's runtime: the SDK's batch thread has none.
#[derive(Debug)]
struct RuntimeClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for RuntimeClient {
    async fn send_bytes(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, HttpError> {
        let (parts, body) = request.into_parts();
        let client = self.client.clone();
        // Built and sent on the runtime: reqwest arms its timeout when the request is sent.
        let response = self
            .runtime
            .spawn(async move {
                let response = client
                    .request(parts.method, parts.uri.to_string())
                    .headers(parts.headers)
                    .body(body)
                    .send()
                    .await?;
                let status = response.status();
                let headers = response.headers().clone();
                let body = response.bytes().await?;
                Ok::<_, reqwest::Error>((status, headers, body))
            })
            .await??;
        let (status, headers, body) = response;
        let mut out = http::Response::builder().status(status);
        if let Some(h) = out.headers_mut() {
            *h = headers;
        }
        Ok(out.body(body)?)
    }
}
