//! Lambda for the email REST routes (Bearer API key).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phone_config::logging::init();
    let state = phone_api::state::load().await?;
    phone_api::lambda::run(
        phone_api::routes::messages::email_routes(state.clone()),
        &state,
    )
    .await?;
    Ok(())
}
