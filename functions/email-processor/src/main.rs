//! Scheduled Lambda that will read new mail and act on meeting requests.
//!
//! Not built yet: every invocation fails with an error that says so, so the schedule's failures
//! are visible in the error alarm instead of silently doing nothing.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

async fn handle(_event: LambdaEvent<Value>) -> Result<Value, Error> {
    Err("email processing is not built yet: no mail is read or answered".into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    phone_config::logging::init();
    lambda_runtime::run(service_fn(handle)).await
}
