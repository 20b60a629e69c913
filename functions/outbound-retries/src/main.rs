//! Scheduled Lambda (EventBridge Scheduler, every minute): dials the outbound call retries
//! whose time has come, as `phone-agent serve`'s retry task does locally. Each retry is claimed
//! on its request row first, so an overlapping run never dials one twice.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    phone_config::logging::init();
    let state = phone_api::state::load().await?;
    let dialer = state
        .dialer
        .clone()
        .ok_or("PUBLIC_BASE_URL is not set: outbound calls are off")?;
    let dialer = &dialer;
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| async move {
        let placed = dialer.run_due_retries().await?;
        Ok::<_, Error>(json!({ "placed": placed }))
    }))
    .await
}
