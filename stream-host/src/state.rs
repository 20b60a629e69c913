//! What every connection of the stream host shares.

use std::sync::Arc;

use phone_core::Store;
use phone_core::tools::ToolPorts;
use phone_twilio::signature::RequestValidator;
use secrecy::ExposeSecret;

use crate::config::StreamHostConfig;
use crate::drain::DrainSignal;
use crate::limits::CallSlots;

/// Shared state, cheap to clone.
#[derive(Clone)]
pub struct HostState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// Shared with each call's core and engine adapter (one pointer per call, no copy).
    pub(crate) config: Arc<StreamHostConfig>,
    pub(crate) store: Store,
    pub(crate) slots: CallSlots,
    pub(crate) drain: DrainSignal,
    pub(crate) validator: RequestValidator,
    pub(crate) tools: Option<ToolPorts>,
}

impl HostState {
    /// Bundles configuration, store and the drain signal; calls get no tools.
    pub fn new(config: StreamHostConfig, store: Store, drain: DrainSignal) -> Self {
        Self::with_tools(config, store, drain, None)
    }

    /// Like [`HostState::new`], with the tool adapters calls may use. The tools are offered to
    /// the model unless the configuration already lists some.
    pub fn with_tools(
        mut config: StreamHostConfig,
        store: Store,
        drain: DrainSignal,
        tools: Option<ToolPorts>,
    ) -> Self {
        if tools.is_some() && config.tools.is_empty() {
            config.tools = phone_core::tools::realtime_tools();
        }
        let mut validator = RequestValidator::new(config.twilio_auth_token.expose_secret());
        if let Some(shared) = &config.twilio_webhook_shared_key {
            validator = validator.with_shared_key(shared.expose_secret());
        }
        let slots = CallSlots::new(config.max_calls);
        Self {
            inner: Arc::new(Inner {
                config: Arc::new(config),
                store,
                slots,
                drain,
                validator,
                tools,
            }),
        }
    }

    /// Calls in progress on this host.
    pub fn active_calls(&self) -> usize {
        self.inner.slots.active()
    }
}
