//! The reminder ports: what delivers a due reminder, and what wakes something up at its time.

use std::sync::Arc;

use async_trait::async_trait;

use super::{Messaging, PortError};
use crate::phone::PhoneNumber;
use crate::reminders::Reminder;

/// Delivers a due reminder to the owner. One method per channel.
///
/// [`crate::reminders::ChannelDelivery`] texts over the messaging port and calls over the
/// outbound dialer (docs/outbound.md, "Reminder calls"); [`SmsDelivery`] only texts, and
/// answers every call with [`PortError::NotConfigured`], so such a reminder is recorded as
/// failed, never as delivered.
#[async_trait]
pub trait ReminderDelivery: Send + Sync + 'static {
    /// Texts `body` to `to`; the SMS sid.
    async fn text(&self, to: &PhoneNumber, body: &str) -> Result<String, PortError>;
    /// Calls `reminder.to` to say `words` (the reminder's message, with its event's title and
    /// start); the id of the delivery (the outbound call request's id, `OB…`). A refusal by
    /// the call policy is [`PortError::Refused`] naming the rule.
    async fn call(&self, reminder: &Reminder, words: &str) -> Result<String, PortError>;
    /// What delivers, for logs.
    fn describe(&self) -> String;
}

/// Delivery over the [`Messaging`] port alone: texts work; calls are refused as not
/// configured.
#[derive(Clone)]
pub struct SmsDelivery {
    messaging: Arc<dyn Messaging>,
}

impl SmsDelivery {
    /// Texts through `messaging`.
    pub fn new(messaging: Arc<dyn Messaging>) -> Self {
        Self { messaging }
    }
}

#[async_trait]
impl ReminderDelivery for SmsDelivery {
    async fn text(&self, to: &PhoneNumber, body: &str) -> Result<String, PortError> {
        Ok(self.messaging.send_sms(to, body).await?.sid)
    }

    async fn call(&self, _reminder: &Reminder, _words: &str) -> Result<String, PortError> {
        Err(PortError::NotConfigured(
            "reminder calls need the outbound call dialer, which this delivery does not have; \
             only text reminders are delivered"
                .into(),
        ))
    }

    fn describe(&self) -> String {
        format!("sms via {}; no calls", self.messaging.describe())
    }
}

/// Arranges for a reminder to be fired at its time: an EventBridge Scheduler one-time schedule
/// in AWS, a wake-up of the local scheduler task in `phone-agent serve`.
#[async_trait]
pub trait ReminderAlarm: Send + Sync + 'static {
    /// Sets an alarm for `reminder` at its `fire_at` (its `due`). Setting the same reminder and
    /// due again is fine. A moved reminder gets a new alarm; one left at an old time finds the
    /// reminder not due (or no longer pending) and does nothing.
    async fn set(&self, reminder: &Reminder) -> Result<(), PortError>;
    /// Removes the alarm of `reminder` at its current `due`; removing an absent alarm is fine.
    async fn clear(&self, reminder: &Reminder) -> Result<(), PortError>;
    /// `eventbridge-scheduler:<group>` or `local scheduler`, for logs.
    fn describe(&self) -> String;
}

/// An alarm for deployments with no scheduler: setting one is refused with a clear error, so
/// a reminder is never accepted that nothing would fire.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAlarm;

#[async_trait]
impl ReminderAlarm for NoAlarm {
    async fn set(&self, _reminder: &Reminder) -> Result<(), PortError> {
        Err(PortError::NotConfigured(
            "no reminder scheduler runs here: deploy with REMINDER_SCHEDULE_GROUP (EventBridge \
             Scheduler) or run `phone-agent serve`"
                .into(),
        ))
    }

    async fn clear(&self, _reminder: &Reminder) -> Result<(), PortError> {
        Ok(())
    }

    fn describe(&self) -> String {
        "none".into()
    }
}
