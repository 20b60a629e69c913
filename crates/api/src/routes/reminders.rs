//! `GET /reminders` and `DELETE /reminders/{id}`: the owner's reminders over REST (the same
//! ones `schedule_reminder`, `list_reminders` and `cancel_reminder` handle by voice and SMS).

use axum::extract::{Path, State};
use axum::routing::{delete, get};
use axum::{Json, Router};
use phone_core::StoreError;
use phone_core::reminders::{Reminder, ReminderId};
use phone_core::store::PageRequest;
use serde::{Deserialize, Serialize};

use crate::error::ErrorBody;
use crate::extract::QueryArgs;
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
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::require_api_key,
        ))
        .with_state(state)
}

/// The query of `GET /reminders`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Reminders per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// The `next` cursor of the previous page.
    #[param(min_length = 1, max_length = 1024)]
    after: Option<String>,
}

/// The response of `GET /reminders`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReminderPage {
    /// Reminders in id order (pending, fired, failed and cancelled ones).
    pub reminders: Vec<Reminder>,
    /// Pass as `after` for the next page; `null` on the last.
    pub next: Option<String>,
}

/// The owner's reminders in id order, a page at a time.
#[utoipa::path(get, path = "/reminders", tag = "reminders", operation_id = "list_reminders",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of reminders", body = ReminderPage),
        (status = 400, description = "Bad `limit` or `after`, or an unknown query parameter", body = ErrorBody),
    ))]
async fn list(
    State(state): State<AppState>,
    QueryArgs(q): QueryArgs<ListQuery>,
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

/// Cancels a pending reminder (and its schedule).
#[utoipa::path(delete, path = "/reminders/{id}", tag = "reminders", operation_id = "cancel_reminder",
    params(("id" = String, Path, description = "The reminder's id", pattern = "^rem_[0-9a-f]{24}$")),
    responses(
        (status = 200, description = "The cancelled reminder", body = Reminder),
        (status = 400, description = "Not a reminder id", body = ErrorBody),
        (status = 404, description = "No such reminder", body = ErrorBody),
        (status = 409, description = "The reminder is no longer pending (fired, failed or already cancelled)", body = ErrorBody),
        (status = 503, description = "Tools are not configured on this deployment, or the store is unavailable", body = ErrorBody),
    ))]
async fn cancel(
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

/// The handlers' paths, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, cancel))]
pub(crate) struct Paths;
