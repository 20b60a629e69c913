//! One router per area. Each Lambda serves one of them; the local server merges them all.

pub mod agent;
pub mod calendar;
pub mod calls;
pub mod console;
pub mod google_auth;
pub mod health;
pub mod messages;
pub mod outbound;
pub mod post_call;
pub mod recording;
pub mod reminders;
pub mod sms_incoming;
pub mod stream_ended;
pub mod tool_call;
pub mod voice;

use axum::Router;

use crate::AppState;

/// Every HTTP route of every function, for the local all-in-one server.
pub fn all(state: AppState) -> Router {
    Router::new()
        .merge(health::routes(state.clone()))
        .merge(calls::routes(state.clone()))
        .merge(console::routes(state.clone()))
        .merge(reminders::routes(state.clone()))
        .merge(voice::routes(state.clone()))
        .merge(calendar::routes(state.clone()))
        .merge(messages::sms_routes(state.clone()))
        .merge(messages::email_routes(state.clone()))
        .merge(agent::routes(state))
}
