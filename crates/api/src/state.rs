//! State shared by every handler. Built once per process (per Lambda cold start).

use std::sync::Arc;

use phone_config::Config;
use phone_core::Store;

/// Configuration and adapters, cheap to clone into each request.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Settings; secrets inside are redacted in `Debug`.
    pub config: Arc<Config>,
    /// The typed store over DynamoDB or the embedded store.
    pub store: Store,
}

impl AppState {
    /// Bundles configuration and store.
    pub fn new(config: Config, store: Store) -> Self {
        Self {
            config: Arc::new(config),
            store,
        }
    }
}
