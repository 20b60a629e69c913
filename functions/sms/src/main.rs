//! Lambda for the sms REST routes (Bearer API key) and Twilio's `POST /sms/incoming`. An SMS
//! answer that misses the webhook deadline is texted after the response: `run_http` keeps the
//! invocation alive until that work is done.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phone_config::logging::init();
    let state = phone_api::bootstrap::app_state().await?;
    let background = state.background.clone();
    phone_api::lambda::run_http(phone_api::routes::messages::sms_routes(state), background).await?;
    Ok(())
}
