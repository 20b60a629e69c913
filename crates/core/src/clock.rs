//! The time port. Domain code asks a [`Clock`] for "now" so tests can fix it.

use time::OffsetDateTime;

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current instant, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that always answers the same instant; for tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// Waits for an instant of a [`Clock`]: what a scheduler sleeps on, so a test clock can wake
/// it by moving time instead of the test sleeping real minutes.
#[async_trait::async_trait]
pub trait Sleeper: Send + Sync + 'static {
    /// Returns once the clock reads `at` or later (at once if it already does).
    async fn sleep_until(&self, at: OffsetDateTime);
}
