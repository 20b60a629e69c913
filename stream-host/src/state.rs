//! What every connection of the stream host shares.

use std::sync::Arc;

use phone_core::AccessLevel;
use phone_core::Store;
use phone_core::tools::{ToolPorts, realtime_tools_for};
use phone_twilio::signature::RequestValidator;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::config::StreamHostConfig;
use phone_http::InFlight;

use crate::drain::DrainSignal;

/// Shared state, cheap to clone.
#[derive(Clone)]
pub struct HostState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// Shared with each call's core and engine adapter (one pointer per call, no copy).
    pub(crate) config: Arc<StreamHostConfig>,
    pub(crate) store: Store,
    /// Calls in progress, capped at `max_calls`; a drain waits for them.
    pub(crate) calls: InFlight,
    pub(crate) drain: DrainSignal,
    pub(crate) validator: RequestValidator,
    pub(crate) tools: Option<ToolPorts>,
    /// The tool definitions offered to the model, per access level: built once per host and
    /// shared by every call (they are ~20 kB of JSON schemas).
    pub(crate) offered: OfferedTools,
    /// OpenTelemetry export of call traces, when the OTLP variables ask for it.
    #[cfg(feature = "otel")]
    pub(crate) trace_export: Option<crate::trace_export::TraceExport>,
    /// Events and the post-call analysis, set once by [`HostState::with_post_call`].
    pub(crate) post_call: std::sync::OnceLock<crate::post_call::PostCall>,
}

/// Tool definitions per access level (empty when the host has no tool adapters).
pub(crate) struct OfferedTools {
    owner: Arc<Vec<Value>>,
    guest: Arc<Vec<Value>>,
}

impl OfferedTools {
    fn new(tools: Option<&ToolPorts>) -> Self {
        let build = |access| {
            Arc::new(
                tools
                    .map(|_| realtime_tools_for(access))
                    .unwrap_or_default(),
            )
        };
        Self {
            owner: build(AccessLevel::Owner),
            guest: build(AccessLevel::Guest),
        }
    }

    /// What a call with `access` is offered: exactly its catalog.
    pub(crate) fn for_access(&self, access: AccessLevel) -> Arc<Vec<Value>> {
        match access {
            AccessLevel::Owner => self.owner.clone(),
            AccessLevel::Guest => self.guest.clone(),
        }
    }
}

impl HostState {
    /// Bundles configuration, store and the drain signal; calls get no tools.
    pub fn new(config: StreamHostConfig, store: Store, drain: DrainSignal) -> Self {
        Self::with_tools(config, store, drain, None)
    }

    /// Like [`HostState::new`], with the tool adapters calls may use. Each call is offered the
    /// catalog of its access level (read from its call row).
    pub fn with_tools(
        config: StreamHostConfig,
        store: Store,
        drain: DrainSignal,
        tools: Option<ToolPorts>,
    ) -> Self {
        let mut validator = RequestValidator::new(config.twilio_auth_token.expose_secret());
        if let Some(shared) = &config.twilio_webhook_shared_key {
            validator = validator.with_shared_key(shared.expose_secret());
        }
        let calls = InFlight::with_max(config.max_calls);
        Self {
            inner: Arc::new(Inner {
                config: Arc::new(config),
                store,
                calls,
                drain,
                validator,
                offered: OfferedTools::new(tools.as_ref()),
                post_call: std::sync::OnceLock::new(),
                tools,
                #[cfg(feature = "otel")]
                trace_export: crate::trace_export::TraceExport::from_env(),
            }),
        }
    }

    /// Calls in progress on this host.
    pub fn active_calls(&self) -> usize {
        self.inner.calls.len()
    }
}
