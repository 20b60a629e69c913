//! Lambda `GET /calls/{callSid}`: the call row with stats, transcript, tool calls and cost.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phone_config::logging::init();
    let state = phone_api::state::load().await?;
    phone_api::lambda::run(phone_api::routes::calls::routes(state.clone()), &state).await?;
    Ok(())
}
