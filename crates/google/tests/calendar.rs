//! The Google Calendar adapter against a loopback server speaking Calendar v3 and Google's token
//! endpoint: success paths, idempotent create, token refresh and expiry, revoked access,
//! upstream errors and timeouts.

use std::sync::Arc;
use std::time::Duration;

use phone_core::ports::{
    Calendar, EventPatch, NewEvent, PortError, Reminder, ReminderMethod, TimeRange,
};
use phone_core::tools::clock_time::LocalZone;
use phone_google::GoogleCalendar;
use phone_google::oauth::{ClientCredentials, TokenSource};
use phone_test_support::google_server::{self, Fault, GoogleTestServer};
use secrecy::SecretString;
use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;

async fn start() -> (GoogleTestServer, GoogleCalendar) {
    let server = GoogleTestServer::start().await.unwrap();
    let creds = ClientCredentials {
        client_id: google_server::CLIENT_ID.into(),
        client_secret: SecretString::from(google_server::CLIENT_SECRET),
        token_url: server.token_url(),
    };
    let tokens = Arc::new(TokenSource::new(
        reqwest::Client::new(),
        creds,
        SecretString::from(google_server::REFRESH_TOKEN),
    ));
    let zone = LocalZone::new("Europe/Paris").unwrap();
    let calendar = GoogleCalendar::new(
        &server.calendar_base_url(),
        google_server::CALENDAR_ID,
        tokens,
        zone,
    )
    .unwrap();
    (server, calendar)
}

fn meeting(title: &str, start: OffsetDateTime, minutes: i64) -> NewEvent {
    NewEvent {
        title: title.into(),
        start,
        end: start + time::Duration::minutes(minutes),
        time_zone: "Europe/Paris".into(),
        description: Some("from the phone".into()),
        location: None,
        attendees: vec!["ana@example.com".into()],
        reminders: None,
    }
}

fn day(start: OffsetDateTime) -> TimeRange {
    TimeRange {
        start,
        end: start + time::Duration::days(1),
    }
}

#[tokio::test]
async fn events_round_trip_through_google_calendar() {
    let (server, calendar) = start().await;
    let at = datetime!(2026-12-03 14:00 UTC);
    let created = calendar
        .create_event(&meeting("Dentist", at, 30), "CA1:call_1")
        .await
        .unwrap();
    assert_eq!(created.title, "Dentist");
    assert_eq!(created.start, at);
    assert_eq!(created.attendees, vec!["ana@example.com".to_string()]);
    // What Google holds: the wire shape, with the zone and default reminders.
    let stored = &server.live_events()[0];
    assert_eq!(stored["start"]["timeZone"], "Europe/Paris");
    assert_eq!(stored["reminders"], json!({"useDefault": true}));
    assert!(
        server.calendar_requests()[0].contains("sendUpdates=all"),
        "attendees are invited"
    );

    let listed = calendar
        .list_events(day(datetime!(2026-12-03 00:00 UTC)), None, 10)
        .await
        .unwrap();
    assert_eq!(listed, vec![created.clone()]);
    let list_request = server.calendar_requests()[1].clone();
    assert!(
        list_request.contains("singleEvents=true") && list_request.contains("orderBy=startTime")
    );
    assert!(
        calendar
            .list_events(day(datetime!(2026-12-04 00:00 UTC)), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        calendar
            .list_events(day(at), Some("plumber"), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // "Set a reminder for that meeting": a patch that changes only the reminders.
    let reminder = Reminder {
        method: ReminderMethod::Popup,
        minutes: 30,
    };
    let patch = EventPatch {
        reminders: Some(vec![reminder]),
        ..Default::default()
    };
    let updated = calendar.update_event(&created.id, &patch).await.unwrap();
    assert_eq!(updated.reminders, Some(vec![reminder]));
    assert_eq!(
        updated.title, "Dentist",
        "a patch leaves other fields alone"
    );

    let busy = calendar
        .busy(day(datetime!(2026-12-03 00:00 UTC)))
        .await
        .unwrap();
    assert_eq!(
        busy,
        vec![TimeRange {
            start: at,
            end: at + time::Duration::minutes(30)
        }]
    );

    calendar.delete_event(&created.id).await.unwrap();
    assert_eq!(
        calendar.get_event(&created.id).await,
        Err(PortError::NotFound("calendar event".into()))
    );
    assert_eq!(
        calendar.delete_event(&created.id).await,
        Err(PortError::NotFound("calendar event".into())),
        "Google's 410 for a deleted event"
    );
    assert_eq!(server.refreshes(), 1, "one access token served every call");
}

#[tokio::test]
async fn a_retried_create_returns_the_first_event() {
    let (server, calendar) = start().await;
    let event = meeting("Standup", datetime!(2026-12-03 09:00 UTC), 15);
    let first = calendar.create_event(&event, "CA1:call_9").await.unwrap();
    let again = calendar.create_event(&event, "CA1:call_9").await.unwrap();
    assert_eq!(first, again);
    assert_eq!(server.live_events().len(), 1, "one event, not two");
    let other = calendar.create_event(&event, "CA1:call_10").await.unwrap();
    assert_ne!(other.id, first.id);

    calendar.delete_event(&first.id).await.unwrap();
    let after_delete = calendar.create_event(&event, "CA1:call_9").await;
    assert!(
        matches!(after_delete, Err(PortError::Invalid(ref m)) if m.contains("deleted")),
        "{after_delete:?}"
    );
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once_and_the_call_retried() {
    let (server, calendar) = start().await;
    let range = day(datetime!(2026-12-03 00:00 UTC));
    calendar.list_events(range, None, 5).await.unwrap();
    server.expire_access_token();
    calendar.list_events(range, None, 5).await.unwrap();
    assert_eq!(server.refreshes(), 2);
    let grants: Vec<_> = server
        .token_requests()
        .iter()
        .map(|f| f["grant_type"].clone())
        .collect();
    assert_eq!(grants, ["refresh_token", "refresh_token"]);
}

#[tokio::test]
async fn revoked_access_says_so() {
    let (server, calendar) = start().await;
    server.revoke_refresh_token();
    let err = calendar
        .list_events(day(datetime!(2026-12-03 00:00 UTC)), None, 5)
        .await
        .unwrap_err();
    assert!(matches!(err, PortError::AccessRevoked(_)), "{err:?}");
    assert!(err.to_string().contains("calendar access revoked"));
    assert!(
        server.calendar_requests().is_empty(),
        "no call without a token"
    );
}

#[tokio::test]
async fn upstream_errors_keep_googles_reason() {
    let (server, calendar) = start().await;
    let range = day(datetime!(2026-12-03 00:00 UTC));
    server.inject(Fault::Error(
        503,
        "The service is currently unavailable.".into(),
    ));
    assert_eq!(
        calendar.list_events(range, None, 5).await,
        Err(PortError::Upstream {
            service: "google_calendar",
            status: Some(503),
            message: "The service is currently unavailable.".into()
        })
    );
    // Google refuses an empty range with 400: the model is told what was wrong.
    let mut bad = meeting("Backwards", datetime!(2026-12-03 09:00 UTC), 15);
    bad.end = bad.start;
    let err = calendar.create_event(&bad, "CA1:call_2").await.unwrap_err();
    assert_eq!(
        err,
        PortError::Invalid("Google Calendar: The specified time range is empty.".into())
    );
    assert!(server.live_events().is_empty(), "nothing half-written");
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let (server, calendar) = start().await;
    let calendar = calendar.with_timeout(Duration::from_millis(300));
    calendar
        .busy(day(datetime!(2026-12-03 00:00 UTC)))
        .await
        .unwrap();
    server.inject(Fault::Hang);
    let started = std::time::Instant::now();
    let err = calendar
        .busy(day(datetime!(2026-12-03 00:00 UTC)))
        .await
        .unwrap_err();
    assert_eq!(err, PortError::Timeout("google_calendar"));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn all_day_events_are_read_in_the_assistants_zone() {
    let (server, calendar) = start().await;
    server.seed_event(
        json!({"id": "holiday1", "status": "confirmed", "summary": "Holiday",
        "start": {"date": "2026-12-03"}, "end": {"date": "2026-12-04"}}),
    );
    let event = calendar.get_event("holiday1").await.unwrap();
    // Midnight in Paris (UTC+1 in December).
    assert_eq!(event.start, datetime!(2026-12-02 23:00 UTC));
    assert_eq!(event.end, datetime!(2026-12-03 23:00 UTC));
    assert_eq!(event.reminders, None);
}
