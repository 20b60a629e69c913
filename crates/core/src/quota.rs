//! Daily limits for guests: how many calls, call minutes, texts and write tools one number (or
//! one mail sender) may use per UTC day. Owners are never counted.
//!
//! A phone number is public, so a stranger (or a script) can call or text it all day, and every
//! call and text costs model time and Twilio minutes; every write tool can text the owner. The
//! counters live in the store ([`crate::Store::take_quota`]): one item per identity, day and
//! kind, raised with a compare-and-set that refuses to pass the limit, so concurrent calls and
//! texts cannot overshoot it.

use crate::phone::PhoneNumber;

/// What a counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaKind {
    /// Calls answered (refused calls are not counted).
    Calls,
    /// Seconds of calls, counted when the call ends (Twilio's `CallDuration`).
    CallSeconds,
    /// Texts the assistant answered.
    Sms,
    /// The one "limit reached" reply a texter gets per day.
    SmsLimitNotice,
    /// Write tools run (anything with an effect: `send_sms`, `request_booking`,
    /// `leave_message`, an emailed `create_event`); reads and call control are not counted.
    ToolWrites,
    /// Outbound call attempts placed (retries included), for the deployment's daily cap.
    OutboundCalls,
}

impl QuotaKind {
    /// The counter's name in its sort key and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Calls => "calls",
            Self::CallSeconds => "call_secs",
            Self::Sms => "sms",
            Self::SmsLimitNotice => "sms_notice",
            Self::ToolWrites => "tool_writes",
            Self::OutboundCalls => "outbound_calls",
        }
    }
}

/// Each guest's daily limits; `None` is no limit (the key set to `off`).
///
/// The defaults fit the receptionist use case (a stranger checks availability, asks for a
/// booking, leaves a message) with room to spare, and bound what one number can cost per
/// day: 20 minutes of calls is about $1.25 (model about $0.05 a minute, Twilio inbound and
/// Media Streams about $0.0125), and 10 write tools are at most 10 texts to the owner or to
/// the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestQuotas {
    /// Calls per day (`GUEST_CALLS_PER_DAY`, default 5).
    pub calls: Option<u32>,
    /// Call minutes per day (`GUEST_CALL_MINUTES_PER_DAY`, default 20).
    pub call_minutes: Option<u32>,
    /// Texts answered per day (`GUEST_SMS_PER_DAY`, default 20).
    pub sms: Option<u32>,
    /// Write tools per day (`GUEST_TOOL_WRITES_PER_DAY`, default 10).
    pub tool_writes: Option<u32>,
}

impl Default for GuestQuotas {
    fn default() -> Self {
        Self {
            calls: Some(5),
            call_minutes: Some(20),
            sms: Some(20),
            tool_writes: Some(10),
        }
    }
}

impl GuestQuotas {
    /// No limits at all (every key `off`).
    pub const UNLIMITED: Self = Self {
        calls: None,
        call_minutes: None,
        sms: None,
        tool_writes: None,
    };

    /// The call seconds limit, from the minutes.
    pub fn call_seconds(&self) -> Option<u64> {
        self.call_minutes.map(|m| u64::from(m) * 60)
    }
}

/// Whose counter: the E.164 number, a mail sender's address (`mailto:<address>`), or
/// `anonymous` for withheld numbers, which share one counter: whoever hides their number
/// shares the limit with everyone else who does.
pub fn quota_identity(number: Option<&PhoneNumber>, email: Option<&str>) -> String {
    match (number, email) {
        (Some(number), _) => number.as_str().to_owned(),
        (None, Some(address)) => format!("mailto:{}", address.to_ascii_lowercase()),
        (None, None) => "anonymous".to_owned(),
    }
}

/// What [`crate::Store::take_quota`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaTake {
    /// Counted; `used` is today's total with it.
    Taken {
        /// Today's total, this one included.
        used: u64,
    },
    /// Past the limit: nothing was counted.
    Refused {
        /// Today's total so far.
        used: u64,
    },
}

impl QuotaTake {
    /// Whether it was counted.
    pub fn is_taken(self) -> bool {
        matches!(self, Self::Taken { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_the_number_the_address_or_anonymous() {
        let n = PhoneNumber::parse("+14155550100").unwrap();
        assert_eq!(quota_identity(Some(&n), Some("x@y")), "+14155550100");
        assert_eq!(
            quota_identity(None, Some("A@Example.COM")),
            "mailto:a@example.com"
        );
        assert_eq!(quota_identity(None, None), "anonymous");
    }

    #[test]
    fn minutes_become_seconds() {
        assert_eq!(GuestQuotas::default().call_seconds(), Some(1200));
        assert_eq!(GuestQuotas::UNLIMITED.call_seconds(), None);
    }
}
