//! State shared by every handler. Built once per process (per Lambda cold start).

use std::sync::Arc;

use phone_config::Config;
use phone_core::ports::ChatModel;
use phone_core::tools::ToolPorts;
use phone_core::{Store, SystemClock};
use phone_http::InFlight;
use phone_wiring::BootstrapError;

/// Configuration and adapters, cheap to clone into each request.
#[derive(Clone)]
pub struct AppState {
    /// Settings; secrets inside are redacted in `Debug`.
    pub config: Arc<Config>,
    /// The typed store over DynamoDB or the embedded store.
    pub store: Store,
    /// Adapters the tools act through; REST tool routes answer 503 without them.
    pub tools: Option<ToolPorts>,
    /// The text agent's model; `POST /agent` messages answer 503 without it.
    pub chat: Option<Arc<dyn ChatModel>>,
    /// Work left running after a response (late SMS answers); a Lambda waits for it.
    pub background: InFlight,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .field("store", &self.store)
            .field("tools", &self.tools.is_some())
            .field("chat", &self.chat.as_ref().map(|c| c.describe()))
            .finish()
    }
}

impl AppState {
    /// Bundles configuration and store.
    pub fn new(config: Config, store: Store) -> Self {
        Self {
            config: Arc::new(config),
            store,
            tools: None,
            chat: None,
            background: InFlight::unbounded(),
        }
    }

    /// With the tool adapters.
    pub fn with_tools(mut self, tools: ToolPorts) -> Self {
        self.tools = Some(tools);
        self
    }

    /// With a chat model for the text agent.
    pub fn with_chat(mut self, chat: Arc<dyn ChatModel>) -> Self {
        self.chat = Some(chat);
        self
    }
}

/// The configuration (environment and secret), the store and every adapter, built by
/// `phone_wiring`: the state of a Lambda, once per cold start.
pub async fn load() -> Result<AppState, BootstrapError> {
    let config = phone_wiring::load_config().await?;
    let records = phone_wiring::open_records(&config).await?;
    let store = Store::new(records, Arc::new(SystemClock), config.retention);
    let tools = phone_wiring::tool_ports(&config, &store)?;
    let chat = phone_wiring::chat_model(&config)?;
    let mut state = AppState::new(config, store).with_tools(tools);
    if let Some(chat) = chat {
        state = state.with_chat(chat);
    }
    Ok(state)
}
