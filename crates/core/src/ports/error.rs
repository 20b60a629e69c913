//! Errors shared by every port, shaped so a tool can tell the model what to do next.

/// What went wrong in an external service (or its local stand-in).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// The thing asked for does not exist (event id, message sid, call).
    #[error("{0} not found")]
    NotFound(String),
    /// The request was refused as invalid; the message says which part.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Access was revoked or never granted, e.g. Google's `invalid_grant`
    /// ("calendar access revoked"). Retrying will not help; a human must re-authorise.
    #[error("{0}")]
    AccessRevoked(String),
    /// The service answered with an error.
    #[error("{service} error{}: {message}", status.map(|s| format!(" {s}")).unwrap_or_default())]
    Upstream {
        /// Which service: `google_calendar`, `gmail`, `twilio`.
        service: &'static str,
        /// Its HTTP status, if any.
        status: Option<u16>,
        /// Its reason.
        message: String,
    },
    /// The service did not answer in time.
    #[error("{0} did not answer in time")]
    Timeout(&'static str),
    /// The port is not configured (e.g. no transfer number).
    #[error("not configured: {0}")]
    NotConfigured(String),
    /// A rule of ours refused the request before anything was sent (the call policy's quiet
    /// hours, do-not-call list or daily cap); `rule` names it.
    #[error("refused ({rule}): {message}")]
    Refused {
        /// The rule: `quiet_hours`, `do_not_call`, `daily_cap`.
        rule: &'static str,
        /// Why, for people.
        message: String,
    },
}
