//! Lambda invoked by a reminder's EventBridge Scheduler schedule with `{"reminder_id": "rem_…"}`:
//! fires that reminder (at most once; its event re-read first) and answers what happened.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    phone_config::logging::init();
    let state = phone_api::state::load().await?;
    let tools = state.tools.as_ref().ok_or("tools are not configured")?;
    // Call reminders go through the outbound dialer, under its policy (PUBLIC_BASE_URL set).
    let firer = phone_wiring::reminder_firer(tools, &state.store, state.dialer.clone());
    let firer = &firer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(phone_api::reminder_event::fire_event(firer, event.payload).await?)
    }))
    .await
}
