//! The error every handler returns, rendered as `{"error": {"code", "message"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use phone_core::StoreError;
use serde::Serialize;

/// A failed request: the status says whose fault it is, the message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed; the message names the field.
    #[error("{0}")]
    BadRequest(String),
    /// 401: missing or wrong credentials.
    #[error("missing or invalid credentials")]
    Unauthorized,
    /// 403: a Twilio request whose signature does not verify.
    #[error("request signature is invalid")]
    Forbidden,
    /// 404: no such resource.
    #[error("{0} not found")]
    NotFound(String),
    /// 409: a conflicting write.
    #[error("{0}")]
    Conflict(String),
    /// 422: well-formed, but refused as a whole (an `Idempotency-Key` reused for another
    /// request).
    #[error("{0}")]
    Unprocessable(String),
    /// 415: a body that is not `application/json` where JSON is expected.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: refused by a rule of the call policy; the code is the rule's name
    /// (`do_not_call`, `quiet_hours`, `daily_cap`).
    #[error("{message}")]
    PolicyRefused {
        /// The rule, as the error code.
        rule: &'static str,
        /// What the rule found.
        message: String,
    },
    /// 413: the request body is larger than this many bytes.
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 502: an upstream service failed; the message carries its reason.
    #[error("upstream failure: {0}")]
    Upstream(String),
    /// 504: the request did not finish within its deadline; the message says what that means.
    #[error("{0}")]
    Timeout(String),
    /// 503: a dependency (the store) is unavailable; retry later.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 500: a bug or misconfiguration; details go to the log, not the client.
    #[error("internal error")]
    Internal(String),
}

/// The body of every error response: `{"error": {"code", "message"}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"error": {"code": "bad_request", "message": "`start` must be a local time like 2026-11-26T15:00; got 'soon'"}}))]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The error itself.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code (one per status).
    #[schema(value_type = String, pattern = "^[a-z_]+$", example = "bad_request")]
    pub code: &'static str,
    /// What to do about it, for people.
    pub message: String,
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable(_) | Self::PolicyRefused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Unprocessable(_) => "idempotency_key_reused",
            Self::PolicyRefused { rule, .. } => rule,
            Self::Upstream(_) => "upstream_error",
            Self::Unavailable(_) => "unavailable",
            Self::Timeout(_) => "timeout",
            Self::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::NotFound("item".into()),
            StoreError::Conflict(m) => Self::Conflict(m),
            StoreError::Throttled(m) | StoreError::Unavailable(m) => Self::Unavailable(m),
            StoreError::Corrupt(m) | StoreError::Invalid(m) => Self::Internal(m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        // The same shape as the HTTP layers' own errors (413, 504, panics): [`ErrorBody`].
        phone_http::layers::error_response(self.status(), self.code(), &self.to_string())
    }
}
