//! State shared by every handler. Built once per process (per Lambda cold start).

use std::sync::Arc;

use phone_config::Config;
use phone_core::outbound::dialer::Dialer;
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
    /// Where events for the customer's webhooks go.
    pub events: phone_core::events::Events,
    /// The post-call analysis; `POST /calls/{sid}/analysis` answers 503 without it.
    pub post_call: Option<phone_analysis::PostCallAnalysis>,
    /// Places and settles outbound calls; `POST /calls` and the outbound callbacks answer 503
    /// without it.
    pub dialer: Option<Dialer>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .field("store", &self.store)
            .field("tools", &self.tools.is_some())
            .field("chat", &self.chat.as_ref().map(|c| c.describe()))
            .field("dialer", &self.dialer.as_ref().map(Dialer::describe))
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
            events: phone_core::events::Events::none(),
            post_call: None,
            dialer: None,
        }
    }

    /// With the tool adapters.
    pub fn with_tools(mut self, tools: ToolPorts) -> Self {
        self.tools = Some(tools);
        self
    }

    /// With the event sink and the post-call analysis.
    pub fn with_post_call(
        mut self,
        events: phone_core::events::Events,
        post_call: phone_analysis::PostCallAnalysis,
    ) -> Self {
        self.events = events;
        self.post_call = Some(post_call);
        self
    }

    /// With the outbound call dialer.
    pub fn with_dialer(mut self, dialer: Dialer) -> Self {
        self.dialer = Some(dialer);
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
    let mut tools = phone_wiring::tool_ports(&config, &store)?;
    let chat = phone_wiring::chat_model(&config)?;
    // No outbox task may outlive a request in Lambda (the environment is frozen after it):
    // events go to the webhook queue, each send counted as background work that the invocation
    // waits for after answering ([`crate::lambda::run`]); the `webhook-delivery` function,
    // triggered by the queue, delivers them. Without the queue, no events.
    let background = InFlight::unbounded();
    let spawner = background.clone();
    let events =
        phone_wiring::queued_events(&config, Arc::new(move |task| spawner.spawn(task))).await;
    tools.events = events.clone();
    let post_call = phone_analysis::PostCallAnalysis::new(
        phone_wiring::analysis_spec(&config)?,
        phone_wiring::analyst(&config)?,
        store.clone(),
        events.clone(),
    );
    let dialer = phone_wiring::dialer(&config, &store)?;
    let mut state = AppState::new(config, store)
        .with_tools(tools)
        .with_post_call(events, post_call);
    state.background = background;
    if let Some(chat) = chat {
        state = state.with_chat(chat);
    }
    if let Some(dialer) = dialer {
        state = state.with_dialer(dialer);
    }
    Ok(state)
}
