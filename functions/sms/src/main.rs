//! Lambda for the sms REST routes (Bearer API key) and Twilio's `POST /sms/incoming`. An SMS
//! answer that misses the webhook deadline is texted after the response: `run_with_background` keeps the
//! invocation alive until that work is done.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phone_config::logging::init();
    let state = phone_api::state::load().await?;
    phone_api::lambda::run_with_background(
        phone_api::routes::messages::sms_routes(state.clone()),
        &state,
    )
    .await?;
    Ok(())
}
