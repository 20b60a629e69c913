//! [`GoogleCalendar`]: the Calendar port over Google Calendar v3, through the generated
//! `google-calendar3` client.
//!
//! The hub is handed our own [`TokenSource`] (refresh-token flow, cached access token) instead of
//! yup-oauth2, and a hyper client with a connect timeout; every call also runs under an overall
//! timeout. A 401 (an access token Google no longer accepts) drops the cached token and retries
//! once; `invalid_grant` on the refresh surfaces as "calendar access revoked".

mod convert;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use google_calendar3::CalendarHub;
use google_calendar3::api::{FreeBusyRequest, FreeBusyRequestItem};
use google_calendar3::common::{self, GetToken};
use google_calendar3::hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use google_calendar3::hyper_util::client::legacy::Client;
use google_calendar3::hyper_util::client::legacy::connect::HttpConnector;
use google_calendar3::hyper_util::rt::TokioExecutor;
use phone_core::ports::{Calendar, CalendarEvent, EventPatch, NewEvent, PortError, TimeRange};
use phone_core::tools::clock_time::LocalZone;
use secrecy::ExposeSecret;

use crate::oauth::TokenSource;
use convert::{event_id_for, from_google, map_error, new_event, patch_event, to_chrono, to_time};

/// Google Calendar's API root.
pub const DEFAULT_BASE_URL: &str = "https://www.googleapis.com/calendar/v3";
const SERVICE: &str = "google_calendar";
/// Whole-request limit: a tool call must answer while the caller is still on the line.
const TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Google's page limit for events.list; the tools never ask for more.
const MAX_RESULTS: u32 = 250;

type Hub = CalendarHub<HttpsConnector<HttpConnector>>;

/// The Calendar port over Google Calendar.
#[derive(Clone)]
pub struct GoogleCalendar {
    hub: Hub,
    calendar_id: String,
    tokens: Arc<TokenSource>,
    zone: LocalZone,
    timeout: Duration,
}

impl std::fmt::Debug for GoogleCalendar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleCalendar")
            .field("calendar_id", &self.calendar_id)
            .finish_non_exhaustive()
    }
}

/// Hands the hub an access token from our [`TokenSource`]; its errors ([`crate::OAuthError`])
/// come back inside `Error::MissingToken`, where [`convert::map_error`] finds them.
#[derive(Clone)]
struct HubToken(Arc<TokenSource>);

impl GetToken for HubToken {
    fn get_token<'a>(
        &'a self,
        _scopes: &'a [&str],
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<Option<String>, Box<dyn std::error::Error + Send + Sync>>,
                > + Send
                + 'a,
        >,
    > {
        Box::pin(async move {
            let token = self.0.access_token().await?;
            Ok(Some(token.expose_secret().to_owned()))
        })
    }
}

impl GoogleCalendar {
    /// A client for calendar `calendar_id` (`GOOGLE_CALENDAR_ID`, usually `primary`) at
    /// `base_url` (`GOOGLE_CALENDAR_BASE_URL`, default [`DEFAULT_BASE_URL`]). All-day events are
    /// placed in `zone`. TLS uses the bundled web PKI roots, so no system certificates are needed.
    pub fn new(
        base_url: &str,
        calendar_id: &str,
        tokens: Arc<TokenSource>,
        zone: LocalZone,
    ) -> Result<Self, PortError> {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.enforce_http(false);
        let connector = HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| PortError::NotConfigured(format!("TLS for Google Calendar: {e}")))?
            // Plain http only matters for loopback test servers; Google itself is https.
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client: common::Client<_> = Client::builder(TokioExecutor::new()).build(connector);
        let mut hub = CalendarHub::new(client, HubToken(tokens.clone()));
        let base = format!("{}/", base_url.trim_end_matches('/'));
        hub.base_url(base.clone());
        hub.root_url(base);
        Ok(Self {
            hub,
            calendar_id: calendar_id.to_owned(),
            tokens,
            zone,
            timeout: TIMEOUT,
        })
    }

    /// Replaces the per-request limit (10 s), e.g. to test a server that never answers.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs one API call with the overall timeout; after a 401 drops the cached access token and
    /// tries once more.
    async fn run<T, F, Fut>(&self, attempt: F) -> Result<T, PortError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = google_calendar3::Result<(common::Response, T)>>,
    {
        let answer = match self.timed(attempt()).await? {
            Err(err) if convert::is_unauthorized(&err) => {
                tracing::info!("google calendar refused the access token; refreshing once");
                self.tokens.invalidate().await;
                self.timed(attempt()).await?
            }
            answer => answer,
        };
        answer.map(|(_, value)| value).map_err(map_error)
    }

    /// `call`'s output, or a timeout after the per-request limit.
    async fn timed<Fut: std::future::Future>(&self, call: Fut) -> Result<Fut::Output, PortError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| PortError::Timeout(SERVICE))
    }

    fn range_bounds(
        range: TimeRange,
    ) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), PortError> {
        Ok((to_chrono(range.start)?, to_chrono(range.end)?))
    }
}

#[async_trait]
impl Calendar for GoogleCalendar {
    async fn list_events(
        &self,
        range: TimeRange,
        query: Option<&str>,
        max: u32,
    ) -> Result<Vec<CalendarEvent>, PortError> {
        let (min, max_time) = Self::range_bounds(range)?;
        let max = max.clamp(1, MAX_RESULTS) as i32;
        let answer = self
            .run(|| {
                let mut call = self
                    .hub
                    .events()
                    .list(&self.calendar_id)
                    .time_min(min)
                    .time_max(max_time)
                    .single_events(true)
                    .order_by("startTime")
                    .max_results(max);
                if let Some(q) = query.filter(|q| !q.trim().is_empty()) {
                    call = call.q(q);
                }
                call.doit()
            })
            .await?;
        answer
            .items
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e.status.as_deref() != Some("cancelled"))
            .map(|e| from_google(e, &self.zone))
            .collect()
    }

    async fn get_event(&self, id: &str) -> Result<CalendarEvent, PortError> {
        let event = self
            .run(|| self.hub.events().get(&self.calendar_id, id).doit())
            .await?;
        if event.status.as_deref() == Some("cancelled") {
            return Err(PortError::NotFound("calendar event".into()));
        }
        from_google(event, &self.zone)
    }

    async fn create_event(
        &self,
        event: &NewEvent,
        request_id: &str,
    ) -> Result<CalendarEvent, PortError> {
        // The event id is derived from the request id, so a retried create hits Google's
        // "identifier already exists" (409) instead of making a second event.
        let id = event_id_for(request_id);
        let body = new_event(event, &id)?;
        let updates = if event.attendees.is_empty() {
            "none"
        } else {
            "all"
        };
        let created = self
            .run(|| {
                self.hub
                    .events()
                    .insert(body.clone(), &self.calendar_id)
                    .send_updates(updates)
                    .doit()
            })
            .await;
        match created {
            Ok(created) => from_google(created, &self.zone),
            Err(PortError::Upstream {
                status: Some(409), ..
            }) => {
                tracing::info!("event already created by an earlier attempt; returning it");
                self.get_event(&id).await.map_err(|e| match e {
                    PortError::NotFound(_) => PortError::Invalid(
                        "this event was already created once and has since been deleted".into(),
                    ),
                    other => other,
                })
            }
            Err(other) => Err(other),
        }
    }

    async fn update_event(&self, id: &str, patch: &EventPatch) -> Result<CalendarEvent, PortError> {
        let body = patch_event(patch)?;
        let updated = self
            .run(|| {
                self.hub
                    .events()
                    .patch(body.clone(), &self.calendar_id, id)
                    .send_updates("all")
                    .doit()
            })
            .await?;
        from_google(updated, &self.zone)
    }

    async fn delete_event(&self, id: &str) -> Result<(), PortError> {
        self.run(|| async {
            // An empty 204 body: the generated client hands back only the response.
            let call = self.hub.events().delete(&self.calendar_id, id);
            call.send_updates("all").doit().await.map(|r| (r, ()))
        })
        .await
        .map_err(|e| match e {
            // Google answers 410 Gone for an event that was already deleted.
            PortError::Upstream {
                status: Some(410), ..
            } => PortError::NotFound("calendar event".into()),
            other => other,
        })
    }

    async fn busy(&self, range: TimeRange) -> Result<Vec<TimeRange>, PortError> {
        let (min, max) = Self::range_bounds(range)?;
        let request = FreeBusyRequest {
            time_min: Some(min),
            time_max: Some(max),
            items: Some(vec![FreeBusyRequestItem {
                id: Some(self.calendar_id.clone()),
            }]),
            ..Default::default()
        };
        let answer = self
            .run(|| self.hub.freebusy().query(request.clone()).doit())
            .await?;
        let calendar = answer
            .calendars
            .and_then(|mut c| c.remove(&self.calendar_id))
            .ok_or_else(|| PortError::Upstream {
                service: SERVICE,
                status: None,
                message: "freeBusy answer lacks the calendar asked for".into(),
            })?;
        if let Some(reason) = calendar
            .errors
            .as_ref()
            .and_then(|e| e.first())
            .and_then(|e| e.reason.clone())
        {
            return Err(PortError::Upstream {
                service: SERVICE,
                status: None,
                message: format!("freeBusy: {reason}"),
            });
        }
        calendar
            .busy
            .unwrap_or_default()
            .into_iter()
            .map(|p| match (p.start, p.end) {
                (Some(start), Some(end)) => Ok(TimeRange {
                    start: to_time(start)?,
                    end: to_time(end)?,
                }),
                _ => Err(PortError::Upstream {
                    service: SERVICE,
                    status: None,
                    message: "freeBusy period without start or end".into(),
                }),
            })
            .collect()
    }

    fn describe(&self) -> String {
        format!("google:{}", self.calendar_id)
    }
}
