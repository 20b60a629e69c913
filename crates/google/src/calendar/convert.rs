//! Between the ports' calendar types and Google's, and from the generated client's errors to
//! [`PortError`]s.

use google_calendar3::api::{Event, EventAttendee, EventDateTime, EventReminder, EventReminders};
use google_calendar3::common;
use phone_core::ports::{CalendarEvent, EventPatch, NewEvent, PortError, Reminder, ReminderMethod};
use phone_core::tools::clock_time::LocalZone;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::oauth::OAuthError;

const SERVICE: &str = "google_calendar";

fn malformed(what: &str) -> PortError {
    PortError::Upstream {
        service: SERVICE,
        status: None,
        message: format!("unexpected answer: {what}"),
    }
}

/// A `time` instant as chrono's, which the generated client speaks.
pub(crate) fn to_chrono(at: OffsetDateTime) -> Result<chrono::DateTime<chrono::Utc>, PortError> {
    chrono::DateTime::from_timestamp(at.unix_timestamp(), at.nanosecond())
        .ok_or_else(|| PortError::Invalid(format!("time {at} is out of range")))
}

/// chrono's instant as `time`'s.
pub(crate) fn to_time(at: chrono::DateTime<chrono::Utc>) -> Result<OffsetDateTime, PortError> {
    let nanos = at
        .timestamp_nanos_opt()
        .ok_or_else(|| malformed("time out of range"))?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .map_err(|_| malformed("time out of range"))
}

/// Google event ids are 5–1024 characters of base32hex (`0-9a-v`); lowercase hex of a SHA-256
/// is a subset, so the same request id always names the same event.
pub(crate) fn event_id_for(request_id: &str) -> String {
    hex::encode(Sha256::digest(request_id.as_bytes()))
}

fn when(at: OffsetDateTime, time_zone: Option<&str>) -> Result<EventDateTime, PortError> {
    Ok(EventDateTime {
        date_time: Some(to_chrono(at)?),
        time_zone: time_zone.map(str::to_owned),
        date: None,
    })
}

/// An instant from Google's `{dateTime}` or, for all-day events, `{date}` (midnight in `zone`).
fn instant(dt: Option<EventDateTime>, zone: &LocalZone) -> Result<OffsetDateTime, PortError> {
    let dt = dt.ok_or_else(|| malformed("event without start or end"))?;
    match (dt.date_time, dt.date) {
        (Some(at), _) => to_time(at),
        (None, Some(day)) => zone
            .resolve("date", &day.to_string())
            .map_err(|e| malformed(&e.0)),
        (None, None) => Err(malformed("event time without dateTime or date")),
    }
}

fn reminders_to_google(reminders: Option<&[Reminder]>) -> EventReminders {
    match reminders {
        None => EventReminders {
            use_default: Some(true),
            overrides: None,
        },
        Some(list) => EventReminders {
            use_default: Some(false),
            overrides: Some(
                list.iter()
                    .map(|r| EventReminder {
                        method: Some(
                            match r.method {
                                ReminderMethod::Popup => "popup",
                                ReminderMethod::Email => "email",
                            }
                            .to_owned(),
                        ),
                        minutes: Some(r.minutes as i32),
                    })
                    .collect(),
            ),
        },
    }
}

fn reminders_from_google(reminders: Option<EventReminders>) -> Option<Vec<Reminder>> {
    let r = reminders?;
    if r.use_default.unwrap_or(false) {
        return None;
    }
    Some(
        r.overrides
            .unwrap_or_default()
            .into_iter()
            .filter_map(|o| {
                let method = match o.method.as_deref()? {
                    "popup" => ReminderMethod::Popup,
                    "email" => ReminderMethod::Email,
                    _ => return None,
                };
                Some(Reminder {
                    method,
                    minutes: u32::try_from(o.minutes?).ok()?,
                })
            })
            .collect(),
    )
}

fn attendees(emails: &[String]) -> Vec<EventAttendee> {
    emails
        .iter()
        .map(|email| EventAttendee {
            email: Some(email.clone()),
            ..Default::default()
        })
        .collect()
}

/// Google's event for a [`NewEvent`], with the id chosen by the caller.
pub(crate) fn new_event(event: &NewEvent, id: &str) -> Result<Event, PortError> {
    Ok(Event {
        id: Some(id.to_owned()),
        summary: Some(event.title.clone()),
        description: event.description.clone(),
        location: event.location.clone(),
        start: Some(when(event.start, Some(&event.time_zone))?),
        end: Some(when(event.end, Some(&event.time_zone))?),
        attendees: (!event.attendees.is_empty()).then(|| attendees(&event.attendees)),
        reminders: Some(reminders_to_google(event.reminders.as_deref())),
        ..Default::default()
    })
}

/// A PATCH body carrying only the fields the patch sets (the client drops JSON nulls).
pub(crate) fn patch_event(patch: &EventPatch) -> Result<Event, PortError> {
    let tz = patch.time_zone.as_deref();
    Ok(Event {
        summary: patch.title.clone(),
        description: patch.description.clone(),
        location: patch.location.clone(),
        start: patch.start.map(|at| when(at, tz)).transpose()?,
        end: patch.end.map(|at| when(at, tz)).transpose()?,
        attendees: patch.attendees.as_deref().map(attendees),
        reminders: patch
            .reminders
            .as_deref()
            .map(|r| reminders_to_google(Some(r))),
        ..Default::default()
    })
}

/// The ports' event for Google's.
pub(crate) fn from_google(event: Event, zone: &LocalZone) -> Result<CalendarEvent, PortError> {
    Ok(CalendarEvent {
        id: event.id.ok_or_else(|| malformed("event without id"))?,
        title: event.summary.unwrap_or_else(|| "(no title)".into()),
        start: instant(event.start, zone)?,
        end: instant(event.end, zone)?,
        description: event.description,
        location: event.location,
        attendees: event
            .attendees
            .unwrap_or_default()
            .into_iter()
            .filter_map(|a| a.email)
            .collect(),
        reminders: reminders_from_google(event.reminders),
    })
}

/// Google's HTTP status and message from its error envelope
/// `{"error":{"code":404,"message":"Not Found","errors":[…]}}`.
fn envelope(value: &serde_json::Value) -> (Option<u16>, String) {
    let status = value["error"]["code"]
        .as_u64()
        .and_then(|c| u16::try_from(c).ok());
    let message = value["error"]["message"]
        .as_str()
        .unwrap_or("no message")
        .chars()
        .take(300)
        .collect();
    (status, message)
}

/// Whether Google refused the access token (401), so a fresh one may help.
pub(crate) fn is_unauthorized(err: &google_calendar3::Error) -> bool {
    match err {
        common::Error::BadRequest(v) => envelope(v).0 == Some(401),
        common::Error::Failure(resp) => resp.status().as_u16() == 401,
        _ => false,
    }
}

/// The generated client's error as a [`PortError`]: `invalid_grant` becomes "calendar access
/// revoked", 404/410 not found, 400 invalid (with Google's reason), the rest upstream errors.
/// Response bodies are never copied whole into the message.
pub(crate) fn map_error(err: google_calendar3::Error) -> PortError {
    match err {
        common::Error::MissingToken(source) => match source.downcast::<OAuthError>() {
            Ok(oauth) => PortError::from(*oauth),
            Err(other) => PortError::Upstream {
                service: "google_oauth",
                status: None,
                message: other.to_string(),
            },
        },
        common::Error::BadRequest(value) => match envelope(&value) {
            (Some(404 | 410), _) => PortError::NotFound("calendar event".into()),
            (Some(400), message) => PortError::Invalid(format!("Google Calendar: {message}")),
            (status, message) => PortError::Upstream {
                service: SERVICE,
                status,
                message,
            },
        },
        common::Error::Failure(resp) => match resp.status().as_u16() {
            404 | 410 => PortError::NotFound("calendar event".into()),
            status => PortError::Upstream {
                service: SERVICE,
                status: Some(status),
                message: "error without a JSON body".into(),
            },
        },
        common::Error::HttpError(e) => PortError::Upstream {
            service: SERVICE,
            status: None,
            message: format!("connection failed: {e}"),
        },
        common::Error::JsonDecodeError(_body, e) => malformed(&e.to_string()),
        other => PortError::Upstream {
            service: SERVICE,
            status: None,
            message: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_base32hex_and_stable() {
        let id = event_id_for("CA123:call_7");
        assert_eq!(id, event_id_for("CA123:call_7"));
        assert_ne!(id, event_id_for("CA123:call_8"));
        assert!((5..=1024).contains(&id.len()));
        assert!(id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='v')));
    }

    #[test]
    fn patch_carries_only_what_changes() {
        let patch = EventPatch {
            reminders: Some(vec![Reminder {
                method: ReminderMethod::Popup,
                minutes: 15,
            }]),
            ..Default::default()
        };
        let mut json = serde_json::to_value(patch_event(&patch).unwrap()).unwrap();
        common::remove_json_null_values(&mut json);
        assert_eq!(
            json,
            serde_json::json!({"reminders": {"useDefault": false,
                "overrides": [{"method": "popup", "minutes": 15}]}})
        );
    }

    #[test]
    fn all_day_events_start_at_local_midnight() {
        let zone = LocalZone::new("America/New_York").unwrap();
        let day = EventDateTime {
            date: chrono::NaiveDate::from_ymd_opt(2026, 12, 3),
            ..Default::default()
        };
        let at = instant(Some(day), &zone).unwrap();
        assert_eq!(at.unix_timestamp(), 1_796_274_000); // 2026-12-03T05:00:00Z
    }

    #[test]
    fn google_errors_become_port_errors() {
        let not_found = serde_json::json!({"error": {"code": 404, "message": "Not Found"}});
        assert_eq!(
            map_error(common::Error::BadRequest(not_found)),
            PortError::NotFound("calendar event".into())
        );
        let bad = serde_json::json!({"error": {"code": 400, "message": "Invalid start time."}});
        assert_eq!(
            map_error(common::Error::BadRequest(bad)),
            PortError::Invalid("Google Calendar: Invalid start time.".into())
        );
        let revoked = common::Error::MissingToken(Box::new(OAuthError::Revoked));
        assert!(matches!(map_error(revoked), PortError::AccessRevoked(_)));
    }
}
