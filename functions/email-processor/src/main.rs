//! Scheduled Lambda (EventBridge Scheduler): one run of the email processor per event. Reads
//! new mail, lets the agent act on meeting requests with the calendar tools, drafts (or sends,
//! per `EMAIL_REPLY_POLICY`) the replies, and answers with a JSON summary of the run.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    phone_config::logging::init();
    let state = phone_api::state::load().await?;
    let state = &state;
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| async move {
        let summary = phone_api::email_processor::run_once(state).await;
        // The run's webhook events are sent in the background: before the environment freezes.
        phone_api::lambda::settle(state).await;
        let summary = summary?;
        Ok::<_, Error>(serde_json::to_value(summary)?)
    }))
    .await
}
