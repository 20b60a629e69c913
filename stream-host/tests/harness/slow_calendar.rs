//! A calendar that answers slowly, as a slow upstream would.

use std::sync::Arc;
use std::time::Duration;

/// A calendar that takes `delay` before every answer, as a slow upstream would.
pub struct SlowCalendar {
    inner: phone_local::LocalCalendar,
    delay: Duration,
}

impl SlowCalendar {
    /// An embedded calendar behind `delay`.
    pub fn new(delay: Duration) -> Arc<Self> {
        let store = phone_core::Store::new(
            Arc::new(phone_local::LocalRecords::in_memory()),
            Arc::new(phone_core::SystemClock),
            Default::default(),
        );
        Arc::new(Self {
            inner: phone_local::LocalCalendar::new(store),
            delay,
        })
    }
}

#[async_trait::async_trait]
impl phone_core::ports::Calendar for SlowCalendar {
    async fn list_events(
        &self,
        range: phone_core::ports::TimeRange,
        query: Option<&str>,
        max: u32,
    ) -> Result<Vec<phone_core::ports::CalendarEvent>, phone_core::ports::PortError> {
        tokio::time::sleep(self.delay).await;
        self.inner.list_events(range, query, max).await
    }
    async fn get_event(
        &self,
        id: &str,
    ) -> Result<phone_core::ports::CalendarEvent, phone_core::ports::PortError> {
        self.inner.get_event(id).await
    }
    async fn create_event(
        &self,
        event: &phone_core::ports::NewEvent,
        request_id: &str,
    ) -> Result<phone_core::ports::CalendarEvent, phone_core::ports::PortError> {
        tokio::time::sleep(self.delay).await;
        self.inner.create_event(event, request_id).await
    }
    async fn update_event(
        &self,
        id: &str,
        patch: &phone_core::ports::EventPatch,
    ) -> Result<phone_core::ports::CalendarEvent, phone_core::ports::PortError> {
        self.inner.update_event(id, patch).await
    }
    async fn delete_event(&self, id: &str) -> Result<(), phone_core::ports::PortError> {
        self.inner.delete_event(id).await
    }
    async fn busy(
        &self,
        range: phone_core::ports::TimeRange,
    ) -> Result<Vec<phone_core::ports::TimeRange>, phone_core::ports::PortError> {
        self.inner.busy(range).await
    }
    fn describe(&self) -> String {
        "slow local calendar".into()
    }
}
