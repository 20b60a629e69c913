//! `GET /reminders` and `DELETE /reminders/{id}`: the owner's reminders over REST (the same
//! ones `schedule_reminder`, `list_reminders` and `cancel_reminder` handle by voice and SMS).

use axum::extract::{Path, Query, State};
use axum::routing::{delete, get};
use axum::{Json, Router};
use phone_core::StoreError;
use phone_core::reminders::{Reminder, ReminderId};
use phone_core::store::PageRequest;
use serde::{Deserialize, Serialize};

use crate::auth::ApiKeyAuth;
use crate::{ApiError, AppState};

/// Largest page of `GET /reminders`.
const MAX_PAGE: u32 = 100;
/// Longest cursor accepted back in `after`.
const MAX_CURSOR: usize = 1024;

/// The reminders router (served by the `calls` function in AWS, and by `serve`).
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/reminders", get(list))
        .route("/reminders/{id}", delete(cancel))
        .with_state(state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<u32>,
    after: Option<String>,
}

/// The response of `GET /reminders`.
#[derive(Debug, Serialize)]
pub struct ReminderPage {
    /// Reminders in id order (pending, fired, failed and cancelled ones).
    pub reminders: Vec<Reminder>,
    /// Pass as `after` for the next page; `null` on the last.
    pub next: Option<String>,
}

async fn list(
    _auth: ApiKeyAuth,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<ReminderPage>, ApiError> {
    let limit = q.limit.unwrap_or(20);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "`limit` must be between 1 and {MAX_PAGE}"
        )));
    }
    if q.after
        .as_ref()
        .is_some_and(|a| a.is_empty() || a.len() > MAX_CURSOR)
    {
        return Err(ApiError::BadRequest(
            "`after` is not a cursor from `next`".into(),
        ));
    }
    let page = PageRequest {
        limit,
        after: q.after,
        newest_first: false,
    };
    let found = state
        .store
        .list_reminders(&page)
        .await
        .map_err(|e| match e {
            StoreError::Invalid(_) => {
                ApiError::BadRequest("`after` is not a cursor from `next`".into())
            }
            other => other.into(),
        })?;
    Ok(Json(ReminderPage {
        reminders: found.items,
        next: found.next,
    }))
}

async fn cancel(
    _auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Reminder>, ApiError> {
    let id = ReminderId::parse(&id).map_err(|e| ApiError::BadRequest(format!("`id`: {e}")))?;
    let tools = state.tools.as_ref().ok_or_else(|| {
        ApiError::Unavailable("tools are not configured on this deployment".into())
    })?;
    match phone_core::reminders::cancel_by_owner(&state.store, &*tools.reminder_alarm, &id).await {
        Ok(cancelled) => Ok(Json(cancelled)),
        Err(StoreError::NotFound) => Err(ApiError::NotFound(format!("reminder {id}"))),
        Err(StoreError::Conflict(_)) => {
            let status = state.store.get_reminder(&id).await?.status;
            Err(ApiError::Conflict(format!(
                "reminder {id} is {} and cannot be cancelled",
                status.as_str()
            )))
        }
        Err(e) => Err(e.into()),
    }
}
