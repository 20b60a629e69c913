//! One router per area. Each Lambda serves one of them; the local server merges them all.

pub mod calls;
pub mod health;
pub mod voice;

use axum::Router;

use crate::AppState;

/// Every HTTP route of every function, for the local all-in-one server.
pub fn all(state: AppState) -> Router {
    Router::new()
        .merge(health::routes(state.clone()))
        .merge(calls::routes(state.clone()))
        .merge(voice::routes(state))
}
