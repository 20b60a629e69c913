//! An OTLP/HTTP trace receiver on loopback (opentelemetry.io/docs/specs/otlp, "OTLP/HTTP"):
//! `POST /v1/traces` with `application/json` (decoded and kept) or `application/x-protobuf`
//! (kept as bytes), answered `200` with an empty `ExportTraceServiceResponse` in the same
//! encoding. Anything else is refused as a collector would: another path 404, another method
//! 405 (axum), another content type 415, JSON that is not an export request 400.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

use crate::loopback::LoopbackServer;

/// One export request received.
#[derive(Debug, Clone, PartialEq)]
pub enum Export {
    /// `application/json`: the decoded `ExportTraceServiceRequest`.
    Json(Value),
    /// `application/x-protobuf`: the body.
    Protobuf(Vec<u8>),
}

type Received = Arc<Mutex<Vec<Export>>>;

/// The running receiver; stops when dropped.
pub struct OtlpReceiver {
    server: LoopbackServer,
    received: Received,
}

async fn traces(State(received): State<Received>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let export = match content_type.as_str() {
        "application/json" => match serde_json::from_slice::<Value>(&body) {
            Ok(v) if v["resourceSpans"].is_array() => Export::Json(v),
            _ => {
                return (StatusCode::BAD_REQUEST, "not an ExportTraceServiceRequest")
                    .into_response();
            }
        },
        "application/x-protobuf" => Export::Protobuf(body.to_vec()),
        _ => return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response(),
    };
    let json = matches!(export, Export::Json(_));
    received
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(export);
    if json {
        ([(header::CONTENT_TYPE, "application/json")], "{}").into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            Vec::<u8>::new(),
        )
            .into_response()
    }
}

impl OtlpReceiver {
    /// Starts the receiver.
    pub async fn start() -> Self {
        let received = Received::default();
        let app = axum::Router::new()
            .route("/v1/traces", post(traces))
            .with_state(received.clone());
        Self {
            server: LoopbackServer::serve(app).await.expect("bind loopback"),
            received,
        }
    }

    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (the exporter appends `/v1/traces`).
    pub fn endpoint(&self) -> &str {
        self.server.base_url()
    }

    /// Every export request received, in order.
    pub fn received(&self) -> Vec<Export> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Every span of the JSON exports received, flattened, each with its resource's
    /// attributes under `"resource"`.
    pub fn json_spans(&self) -> Vec<Value> {
        let mut spans = Vec::new();
        for export in self.received() {
            let Export::Json(request) = export else {
                continue;
            };
            for resource_spans in request["resourceSpans"].as_array().into_iter().flatten() {
                let resource = resource_spans["resource"].clone();
                for scope in resource_spans["scopeSpans"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    for span in scope["spans"].as_array().into_iter().flatten() {
                        let mut span = span.clone();
                        span["resource"] = resource.clone();
                        spans.push(span);
                    }
                }
            }
        }
        spans
    }
}
