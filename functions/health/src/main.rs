//! Lambda `GET /health`: version and store reachability.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phone_config::logging::init();
    let state = phone_api::state::load().await?;
    phone_api::lambda::run(phone_api::routes::health::routes(state.clone()), &state).await?;
    Ok(())
}
