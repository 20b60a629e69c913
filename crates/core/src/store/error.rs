//! Storage errors, typed so callers can tell "not there" from "try again later".

/// What went wrong talking to the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The item does not exist (or has expired).
    #[error("not found")]
    NotFound,
    /// A conditional write lost: the item already exists, or a guard did not hold.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The store asked us to slow down; retrying later is expected to work.
    #[error("store throttled the request: {0}")]
    Throttled(String),
    /// The store could not be reached or failed; retrying may work.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored item could not be read back into its type.
    #[error("stored item is corrupt: {0}")]
    Corrupt(String),
    /// The request itself was invalid (bad key, oversized item); retrying will not help.
    #[error("invalid store request: {0}")]
    Invalid(String),
}

impl StoreError {
    /// Whether a retry could succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled(_) | Self::Unavailable(_))
    }
}
