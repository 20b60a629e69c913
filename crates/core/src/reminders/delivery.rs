//! Delivering a due reminder: a text over the messaging port, or a call placed through the
//! outbound [`Dialer`], under its policy like any other outbound call.

use std::sync::Arc;

use async_trait::async_trait;

use super::Reminder;
use crate::outbound::dialer::{DialError, Dialer};
use crate::outbound::{MAX_PURPOSE_CHARS, NewOutboundCall, OutboundId};
use crate::phone::PhoneNumber;
use crate::ports::{Messaging, PortError, ReminderDelivery};

/// Texts over [`Messaging`]; calls through the [`Dialer`] when the deployment has one
/// (`PUBLIC_BASE_URL` set), else refuses them as not configured.
#[derive(Clone)]
pub struct ChannelDelivery {
    messaging: Arc<dyn Messaging>,
    dialer: Option<Dialer>,
}

impl ChannelDelivery {
    /// Texts through `messaging`, calls through `dialer`.
    pub fn new(messaging: Arc<dyn Messaging>, dialer: Option<Dialer>) -> Self {
        Self { messaging, dialer }
    }
}

/// The outbound request of a reminder call: the purpose said in the greeting ("Hi, this is
/// Ava calling for Sam about a reminder: …") and instructions to say the reminder once.
pub fn reminder_call(reminder: &Reminder, words: &str) -> NewOutboundCall {
    let mut purpose = format!("a reminder: {words}");
    if purpose.chars().count() > MAX_PURPOSE_CHARS {
        purpose = purpose.chars().take(MAX_PURPOSE_CHARS - 1).collect();
        purpose.push('…');
    }
    NewOutboundCall {
        to: reminder.to.clone(),
        purpose,
        instructions: format!(
            "This call delivers a reminder the owner set for themselves, to their own number. \
             After the greeting, say the reminder once, plainly: \"Reminder: {words}\". \
             Repeat it if asked. Offer nothing else; then say goodbye and end the call."
        ),
        context: None,
        time_zone: None,
    }
}

/// The outbound id of a reminder's call: one per reminder and time, so a firing repeated
/// after a crash finds the call already placed instead of dialling again.
pub fn reminder_call_id(reminder: &Reminder) -> OutboundId {
    OutboundId::for_idempotency_key(&format!("reminder:{}:{}", reminder.id, reminder.due))
}

#[async_trait]
impl ReminderDelivery for ChannelDelivery {
    async fn text(&self, to: &PhoneNumber, body: &str) -> Result<String, PortError> {
        Ok(self.messaging.send_sms(to, body).await?.sid)
    }

    async fn call(&self, reminder: &Reminder, words: &str) -> Result<String, PortError> {
        let Some(dialer) = &self.dialer else {
            return Err(PortError::NotConfigured(
                "reminder calls need the outbound call dialer, which needs PUBLIC_BASE_URL \
                 (the address Twilio calls back); only text reminders are delivered here"
                    .into(),
            ));
        };
        let request = reminder_call(reminder, words);
        match dialer.start(request, reminder_call_id(reminder)).await {
            Ok(started) => Ok(started.call.id.to_string()),
            Err(DialError::Refused(refusal)) => Err(PortError::Refused {
                rule: refusal.rule(),
                message: refusal.to_string(),
            }),
            Err(DialError::Invalid(e)) => Err(PortError::Invalid(e.0)),
            Err(DialError::Placement(e)) => Err(e),
            Err(DialError::Store(e)) => Err(PortError::Upstream {
                service: "store",
                status: None,
                message: e.to_string(),
            }),
        }
    }

    fn describe(&self) -> String {
        match &self.dialer {
            Some(dialer) => format!(
                "sms via {}; calls via {}",
                self.messaging.describe(),
                dialer.describe()
            ),
            None => format!(
                "sms via {}; no calls (PUBLIC_BASE_URL unset)",
                self.messaging.describe()
            ),
        }
    }
}
