//! Lambda for the agent REST routes (Bearer API key): `POST /agent`, `DELETE /memory/{number}`,
//! and the owner's reminders (`GET /reminders`, `DELETE /reminders/{id}`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phone_config::logging::init();
    let state = phone_api::bootstrap::app_state().await?;
    let app = phone_api::routes::agent::routes(state.clone())
        .merge(phone_api::routes::reminders::routes(state));
    lambda_http::run(app).await
}
