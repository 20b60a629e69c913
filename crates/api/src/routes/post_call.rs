//! After the call: `POST /calls/{callSid}/analysis` runs the post-call analysis again (and
//! stores the new one), `GET /webhooks/deliveries` lists webhook deliveries newest first, a
//! page at a time. Both take the REST API key.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use phone_core::analysis::CallAnalysis;
use phone_core::store::{Keys, PageRequest, WebhookDelivery};
use phone_core::{CallSid, StoreError};
use serde::{Deserialize, Serialize};

use crate::error::ErrorBody;
use crate::extract::QueryArgs;
use crate::{ApiError, AppState};

/// Default and largest page of `GET /webhooks/deliveries`.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;
/// Longest cursor accepted (a sort key: `DLV#` + 20 digits + `#` + id + `#` + index).
const MAX_CURSOR: usize = 200;

/// The router of this module, behind the API key (merged into the calls router).
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/calls/{call_sid}/analysis", post(rerun_analysis))
        .route("/webhooks/deliveries", get(list_deliveries))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::require_api_key,
        ))
        .with_state(state)
}

/// Runs the post-call analysis of a finished call again and stores the new one.
#[utoipa::path(post, path = "/calls/{call_sid}/analysis", tag = "calls",
    params(("call_sid" = String, Path, description = "Twilio's CallSid", pattern = "^CA[0-9a-fA-F]{32}$")),
    responses(
        (status = 200, description = "The new analysis (a model that failed gives `status: failed`, not an error)", body = CallAnalysis),
        (status = 400, description = "Not a CallSid", body = ErrorBody),
        (status = 404, description = "No such call", body = ErrorBody),
        (status = 409, description = "The caller asked to be forgotten: the call is not analysed", body = ErrorBody),
        (status = 503, description = "Post-call analysis is not configured on this deployment (no OPENAI_API_KEY), or the store is unavailable", body = ErrorBody),
    ))]
async fn rerun_analysis(
    State(state): State<AppState>,
    Path(call_sid): Path<String>,
) -> Result<Json<CallAnalysis>, ApiError> {
    let sid =
        CallSid::parse(&call_sid).map_err(|e| ApiError::BadRequest(format!("callSid: {e}")))?;
    let post_call = state
        .post_call
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("post-call analysis is not configured".into()))?;
    match post_call.run(&sid).await {
        Ok(analysis) => Ok(Json(analysis)),
        Err(StoreError::NotFound) => Err(ApiError::NotFound(format!("call {sid}"))),
        Err(e) => Err(e.into()),
    }
}

/// Query of `GET /webhooks/deliveries`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// The `next` cursor of the previous page.
    #[param(max_length = 200)]
    after: Option<String>,
}

/// A page of deliveries.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryPage {
    /// Newest first.
    pub deliveries: Vec<WebhookDelivery>,
    /// Pass as `after` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Webhook deliveries of every call, newest first, a page at a time.
#[utoipa::path(get, path = "/webhooks/deliveries", tag = "webhooks",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = DeliveryPage),
        (status = 400, description = "Bad `limit` or `after`, or an unknown query parameter", body = ErrorBody),
    ))]
async fn list_deliveries(
    State(state): State<AppState>,
    QueryArgs(q): QueryArgs<PageQuery>,
) -> Result<Json<DeliveryPage>, ApiError> {
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "`limit` must be 1 to {MAX_PAGE}"
        )));
    }
    if let Some(after) = &q.after {
        let ok = after.len() <= MAX_CURSOR
            && after.starts_with(Keys::DELIVERY_PREFIX)
            && after.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return Err(ApiError::BadRequest(
                "`after` must be the `next` cursor of a previous page".into(),
            ));
        }
    }
    let page = PageRequest {
        limit,
        after: q.after,
        newest_first: true,
    };
    let found = state.store.list_webhook_deliveries(&page).await?;
    Ok(Json(DeliveryPage {
        deliveries: found.items,
        next: found.next,
    }))
}

/// The handlers' paths, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(rerun_analysis, list_deliveries))]
pub(crate) struct Paths;
