//! Lambda for Twilio's voice webhooks: `POST /voice/incoming`, `POST /voice/status` and
//! `POST /voice/stream-ended` (the `<Connect action>`). The owner's SMS about a failed call is
//! sent after the TwiML answer: `run_with_background` keeps the invocation alive until it is done.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phone_config::logging::init();
    let state = phone_api::state::load().await?;
    phone_api::lambda::run_with_background(phone_api::routes::voice::routes(state.clone()), &state)
        .await?;
    Ok(())
}
