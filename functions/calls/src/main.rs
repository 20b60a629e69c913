//! Lambda `GET /calls/{callSid}`: the call row with stats, transcript, tool calls and cost.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phone_config::logging::init();
    let state = phone_api::bootstrap::app_state().await?;
    lambda_http::run(phone_api::routes::calls::routes(state)).await
}
