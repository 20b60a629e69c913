//! How DynamoDB failures become [`StoreError`]s, so callers can tell "lost a race" from "slow
//! down" from "broken".

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use phone_core::StoreError;

/// Maps an SDK error of any operation on `table`.
///
/// - `ConditionalCheckFailedException` → [`StoreError::Conflict`] (callers that can tell
///   "absent" from "guard failed" refine it);
/// - throttling codes → [`StoreError::Throttled`];
/// - a missing table → [`StoreError::Unavailable`] naming it (a deployment problem, not data);
/// - `ValidationException` (bad expression, item too large) → [`StoreError::Invalid`];
/// - timeouts, connection failures, 5xx and anything unknown → [`StoreError::Unavailable`].
pub(crate) fn map_sdk_error<E, R>(table: &str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let message = err.message().unwrap_or("no message").to_owned();
    match err.code() {
        Some("ConditionalCheckFailedException" | "TransactionConflictException") => {
            StoreError::Conflict(message)
        }
        Some(
            "ProvisionedThroughputExceededException"
            | "RequestLimitExceeded"
            | "ThrottlingException"
            | "LimitExceededException",
        ) => StoreError::Throttled(message),
        Some("ResourceNotFoundException") => {
            StoreError::Unavailable(format!("table {table} not found"))
        }
        Some("ValidationException" | "ItemCollectionSizeLimitExceededException") => {
            StoreError::Invalid(message)
        }
        _ => match err {
            // The request could not even be built: retrying the same one will not help.
            SdkError::ConstructionFailure(_) => {
                StoreError::Invalid(DisplayErrorContext(&err).to_string())
            }
            // Timeouts, connection failures, unreadable responses, 5xx, unknown service errors.
            _ => StoreError::Unavailable(format!("table {table}: {}", DisplayErrorContext(&err))),
        },
    }
}
