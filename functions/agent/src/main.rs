//! Lambda for the agent REST routes (Bearer API key): `POST /agent`, `DELETE /memory/{number}`,
//! and the owner's reminders (`GET /reminders`, `DELETE /reminders/{id}`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phone_config::logging::init();
    let state = phone_api::state::load().await?;
    let app = phone_api::routes::agent::routes(state.clone())
        .merge(phone_api::routes::reminders::routes(state.clone()));
    phone_api::lambda::run(app, &state).await?;
    Ok(())
}
