//! The local reminder scheduler of `phone-agent serve`: one task that sleeps until the next
//! reminder is due (or until a reminder is set, moved or cancelled), fires what is due, and
//! sleeps again. Its clock is a [`Sleeper`], so tests move a test clock instead of waiting.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use phone_core::clock::Sleeper;
use phone_core::ports::{PortError, ReminderAlarm};
use phone_core::reminders::{Reminder, ReminderFirer};
use time::OffsetDateTime;
use tokio::sync::Notify;

/// With nothing due, the scheduler still looks again this often (a reminder written to a
/// shared store by another process is found within this time).
pub const IDLE_RESCAN: time::Duration = time::Duration::minutes(5);

/// After a store failure, the scheduler tries again this much later.
const RETRY_AFTER: time::Duration = time::Duration::seconds(30);

/// The alarm of the local scheduler: setting, moving or clearing a reminder wakes it to look
/// again. Refuses to set a reminder while no scheduler runs, so a reminder is never accepted
/// that nothing would fire.
#[derive(Debug, Clone, Default)]
pub struct LocalAlarm {
    wake: Arc<Notify>,
    running: Arc<AtomicBool>,
}

impl LocalAlarm {
    /// An alarm with no scheduler yet ([`run_scheduler`] attaches one).
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a scheduler is attached.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl ReminderAlarm for LocalAlarm {
    async fn set(&self, _reminder: &Reminder) -> Result<(), PortError> {
        if !self.is_running() {
            return Err(PortError::NotConfigured(
                "the local reminder scheduler is not running (it runs in `phone-agent serve`)"
                    .into(),
            ));
        }
        // A stored permit: a wake-up while the scheduler is busy firing is not lost.
        self.wake.notify_one();
        Ok(())
    }

    async fn clear(&self, _reminder: &Reminder) -> Result<(), PortError> {
        self.wake.notify_one();
        Ok(())
    }

    fn describe(&self) -> String {
        "local scheduler".into()
    }
}

/// The wall clock as a [`Sleeper`]: sleeps in slices of at most a minute, so a wall clock
/// that jumps (suspend, NTP) is noticed within a minute.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemSleeper;

#[async_trait]
impl Sleeper for SystemSleeper {
    async fn sleep_until(&self, at: OffsetDateTime) {
        loop {
            let left = at - OffsetDateTime::now_utc();
            if left <= time::Duration::ZERO {
                return;
            }
            let slice = left.min(time::Duration::minutes(1));
            tokio::time::sleep(Duration::from_secs_f64(slice.as_seconds_f64())).await;
        }
    }
}

/// The scheduler, to spawn: until `stop` completes, fire what is due, sleep until the next
/// due reminder (at most [`IDLE_RESCAN`]) or a wake-up from `alarm`, repeat. `alarm` accepts
/// reminders from this call on (not from the task's first poll, so none is refused in between).
pub fn run_scheduler(
    firer: ReminderFirer,
    alarm: LocalAlarm,
    sleeper: Arc<dyn Sleeper>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> impl Future<Output = ()> + Send + 'static {
    alarm.running.store(true, Ordering::SeqCst);
    async move {
        tracing::info!(delivery = %firer.delivery.describe(), "reminder scheduler running");
        let work = async {
            loop {
                let now = firer.store.clock().now();
                let wake_at = match firer.fire_due().await {
                    Ok(next) => next.map_or(now + IDLE_RESCAN, |n| n.min(now + IDLE_RESCAN)),
                    Err(e) => {
                        tracing::error!(error = %e, "reminder scheduler could not read reminders");
                        now + RETRY_AFTER
                    }
                };
                tokio::select! {
                    () = sleeper.sleep_until(wake_at) => {}
                    () = alarm.wake.notified() => {}
                }
            }
        };
        tokio::select! {
            () = work => {}
            () = stop => {}
        }
        alarm.running.store(false, Ordering::SeqCst);
        tracing::info!("reminder scheduler stopped");
    }
}
