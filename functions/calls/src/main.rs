//! Lambda `GET /calls`, `GET /calls/{callSid}` and the call console (`/console…`): recent
//! calls, one call with stats, transcript, tool calls and cost, and the web page over them.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phone_config::logging::init();
    let state = phone_api::state::load().await?;
    let app = phone_api::routes::calls::routes(state.clone())
        .merge(phone_api::routes::console::routes(state.clone()));
    phone_api::lambda::run(app, &state).await?;
    Ok(())
}
