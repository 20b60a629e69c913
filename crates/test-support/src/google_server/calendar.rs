//! Calendar v3 routes of the test server, with Google's semantics where the adapter relies on
//! them: `timeMin` bounds an event's end and `timeMax` its start, `orderBy=startTime` needs
//! `singleEvents=true`, client-chosen ids are base32hex and a reused one is 409, a deleted event
//! keeps its id (status `cancelled`) and deleting it again is 410.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{CALENDAR_ID, Fault, Inner, Shared, google_error, lock};

/// Logs the request, applies an injected fault, checks the bearer token and the calendar id.
/// On success the handler runs with the state locked; otherwise the error is the answer.
async fn admit<'a>(
    shared: &'a Shared,
    headers: &HeaderMap,
    method: &Method,
    uri: &Uri,
    calendar: Option<&str>,
) -> Result<std::sync::MutexGuard<'a, Inner>, Response> {
    let fault = {
        let mut inner = lock(shared);
        inner.log.push(format!("{method} {uri}"));
        inner.fault.take()
    };
    match fault {
        Some(Fault::Hang) => std::future::pending::<()>().await,
        Some(Fault::Error(status, message)) => return Err(google_error(status, &message)),
        None => {}
    }
    let inner = lock(shared);
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer.is_none() || bearer != inner.access_token.as_deref() {
        return Err(google_error(
            401,
            "Request had invalid authentication credentials.",
        ));
    }
    if calendar.is_some_and(|c| c != CALENDAR_ID) {
        return Err(google_error(404, "Not Found"));
    }
    Ok(inner)
}

fn parse_time(text: Option<&str>) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text?, &Rfc3339).ok()
}

/// An event's start or end instant; all-day dates count from UTC midnight here.
fn instant(event: &Value, which: &str) -> Option<OffsetDateTime> {
    parse_time(event[which]["dateTime"].as_str()).or_else(|| {
        let date = event[which]["date"].as_str()?;
        parse_time(Some(&format!("{date}T00:00:00Z")))
    })
}

fn valid_client_id(id: &str) -> bool {
    (5..=1024).contains(&id.len()) && id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='v'))
}

/// `GET /calendars/{calendar}/events`.
pub(super) async fn list(
    State(shared): State<Shared>,
    Path(calendar): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let inner = admit(&shared, &headers, &method, &uri, Some(&calendar)).await?;
    if query.get("orderBy").map(String::as_str) == Some("startTime")
        && query.get("singleEvents").map(String::as_str) != Some("true")
    {
        return Err(google_error(
            400,
            "The requested ordering is not available for the particular query.",
        ));
    }
    let min = parse_time(query.get("timeMin").map(String::as_str));
    let max = parse_time(query.get("timeMax").map(String::as_str));
    let text = query.get("q").map(|q| q.to_lowercase());
    let limit: usize = query
        .get("maxResults")
        .and_then(|m| m.parse().ok())
        .unwrap_or(250);
    let mut items: Vec<Value> = inner
        .events
        .values()
        .filter(|e| e["status"] != "cancelled")
        .filter(|e| min.is_none_or(|min| instant(e, "end").is_some_and(|end| end > min)))
        .filter(|e| max.is_none_or(|max| instant(e, "start").is_some_and(|start| start < max)))
        .filter(|e| {
            text.as_ref().is_none_or(|q| {
                let hay = format!("{} {}", e["summary"], e["description"]).to_lowercase();
                hay.contains(q.as_str())
            })
        })
        .cloned()
        .collect();
    items.sort_by_key(|e| instant(e, "start"));
    items.truncate(limit);
    Ok(Json(
        json!({"kind": "calendar#events", "summary": "test@example.com",
        "timeZone": "UTC", "items": items}),
    )
    .into_response())
}

/// `GET /calendars/{calendar}/events/{id}` (cancelled events too, as Google does).
pub(super) async fn get_one(
    State(shared): State<Shared>,
    Path((calendar, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let inner = admit(&shared, &headers, &method, &uri, Some(&calendar)).await?;
    match inner.events.get(&id) {
        Some(event) => Ok(Json(event.clone()).into_response()),
        None => Err(google_error(404, "Not Found")),
    }
}

/// `POST /calendars/{calendar}/events`.
pub(super) async fn insert(
    State(shared): State<Shared>,
    Path(calendar): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Json(mut event): Json<Value>,
) -> Result<Response, Response> {
    let mut inner = admit(&shared, &headers, &method, &uri, Some(&calendar)).await?;
    let (Some(start), Some(end)) = (instant(&event, "start"), instant(&event, "end")) else {
        return Err(google_error(
            400,
            "Missing time zone definition for start time.",
        ));
    };
    if end <= start {
        return Err(google_error(400, "The specified time range is empty."));
    }
    let id = match event["id"].as_str() {
        Some(id) if !valid_client_id(id) => {
            return Err(google_error(400, "Invalid resource id value."));
        }
        Some(id) if inner.events.contains_key(id) => {
            return Err(google_error(
                409,
                "The requested identifier already exists.",
            ));
        }
        Some(id) => id.to_owned(),
        None => {
            inner.next_id += 1;
            format!("evt{:05}", inner.next_id)
        }
    };
    event["id"] = json!(id);
    event["kind"] = json!("calendar#event");
    event["status"] = json!("confirmed");
    event["etag"] = json!(format!("\"{}\"", inner.next_id));
    event["htmlLink"] = json!(format!("https://www.google.com/calendar/event?eid={id}"));
    inner.events.insert(id, event.clone());
    Ok(Json(event).into_response())
}

/// `PATCH /calendars/{calendar}/events/{id}`: top-level fields replace the stored ones.
pub(super) async fn patch(
    State(shared): State<Shared>,
    Path((calendar, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Json(changes): Json<Value>,
) -> Result<Response, Response> {
    let mut inner = admit(&shared, &headers, &method, &uri, Some(&calendar)).await?;
    let Some(event) = inner.events.get_mut(&id) else {
        return Err(google_error(404, "Not Found"));
    };
    let mut updated = event.clone();
    if let (Some(target), Some(changes)) = (updated.as_object_mut(), changes.as_object()) {
        for (key, value) in changes {
            target.insert(key.clone(), value.clone());
        }
    }
    match (instant(&updated, "start"), instant(&updated, "end")) {
        (Some(start), Some(end)) if end > start => {}
        _ => return Err(google_error(400, "The specified time range is empty.")),
    }
    *event = updated.clone();
    Ok(Json(updated).into_response())
}

/// `DELETE /calendars/{calendar}/events/{id}`: 204, or 410 if already deleted.
pub(super) async fn delete(
    State(shared): State<Shared>,
    Path((calendar, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let mut inner = admit(&shared, &headers, &method, &uri, Some(&calendar)).await?;
    match inner.events.get_mut(&id) {
        None => Err(google_error(404, "Not Found")),
        Some(event) if event["status"] == "cancelled" => {
            Err(google_error(410, "Resource has been deleted"))
        }
        Some(event) => {
            event["status"] = json!("cancelled");
            Ok(axum::http::StatusCode::NO_CONTENT.into_response())
        }
    }
}

/// `POST /freeBusy`: busy periods of the live events overlapping the range, per calendar asked.
pub(super) async fn free_busy(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Json(request): Json<Value>,
) -> Result<Response, Response> {
    let inner = admit(&shared, &headers, &method, &uri, None).await?;
    let (Some(min), Some(max)) = (
        parse_time(request["timeMin"].as_str()),
        parse_time(request["timeMax"].as_str()),
    ) else {
        return Err(google_error(400, "Bad Request"));
    };
    let mut calendars = serde_json::Map::new();
    for item in request["items"].as_array().into_iter().flatten() {
        let id = item["id"].as_str().unwrap_or_default();
        if id != CALENDAR_ID {
            calendars.insert(
                id.into(),
                json!({"busy": [], "errors": [{"domain": "global", "reason": "notFound"}]}),
            );
            continue;
        }
        let mut busy: Vec<(OffsetDateTime, OffsetDateTime)> = inner
            .events
            .values()
            .filter(|e| e["status"] != "cancelled" && e["transparency"] != "transparent")
            .filter_map(|e| Some((instant(e, "start")?, instant(e, "end")?)))
            .filter(|(start, end)| *start < max && *end > min)
            .map(|(start, end)| (start.max(min), end.min(max)))
            .collect();
        busy.sort();
        let busy: Vec<Value> = busy
            .into_iter()
            .map(|(s, e)| json!({"start": s.format(&Rfc3339).unwrap_or_default(), "end": e.format(&Rfc3339).unwrap_or_default()}))
            .collect();
        calendars.insert(id.into(), json!({"busy": busy}));
    }
    Ok(Json(
        json!({"kind": "calendar#freeBusy", "timeMin": request["timeMin"],
        "timeMax": request["timeMax"], "calendars": calendars}),
    )
    .into_response())
}
