//! Lambda for Twilio's voice webhooks: `POST /voice/incoming`, `POST /voice/status`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phone_config::logging::init();
    let state = phone_api::bootstrap::app_state().await?;
    lambda_http::run(phone_api::routes::voice::routes(state)).await
}
