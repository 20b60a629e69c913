//! Lambda for `GET /auth/google` (API key; redirects to Google's consent screen) and
//! `GET /auth/google/callback` (checks the signed state, exchanges the code, stores the refresh
//! token in the configuration secret).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phone_config::logging::init();
    let state = phone_api::state::load().await?;
    let google = phone_wiring::google_auth(&state.config).await;
    phone_api::lambda::run(
        phone_api::routes::google_auth::routes(state.clone(), google),
        &state,
    )
    .await?;
    Ok(())
}
