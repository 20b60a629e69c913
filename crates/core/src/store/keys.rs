//! Key layout of the single table (DESIGN.md "Data"). Every key is built here and nowhere else.

use time::OffsetDateTime;

use crate::call::CallSid;
use crate::phone::PhoneNumber;

/// Builders for partition and sort keys.
pub struct Keys;

impl Keys {
    /// Sort key of a row that is the only one of its kind in its partition.
    pub const META: &'static str = "META";
    /// Sort key of a caller's memory profile.
    pub const MEMORY: &'static str = "MEMORY";
    /// Sort key of a text conversation's history.
    pub const HISTORY: &'static str = "HISTORY";
    /// Sort key of an idempotency marker.
    pub const IDEMPOTENCY: &'static str = "-";
    /// Prefix of transcript turn sort keys.
    pub const TURN_PREFIX: &'static str = "TURN#";
    /// Prefix of per-turn latency sort keys.
    pub const LATENCY_PREFIX: &'static str = "LATENCY#";
    /// Prefix of tool call sort keys.
    pub const TOOL_PREFIX: &'static str = "TOOL#";
    /// Prefix of memory note sort keys.
    pub const NOTE_PREFIX: &'static str = "NOTE#";
    /// Prefix of SMS history sort keys.
    pub const MSG_PREFIX: &'static str = "MSG#";
    /// Sort key of a call's post-call analysis (under `CALL#<sid>`).
    pub const ANALYSIS: &'static str = "ANALYSIS";
    /// Partition of every webhook delivery record (sort keys [`Keys::DELIVERY_PREFIX`]).
    pub const WEBHOOKS: &'static str = "WEBHOOKS";
    /// Prefix of delivery sort keys in [`Keys::WEBHOOKS`]: `DLV#<created ns>#<event id>#<url>`.
    pub const DELIVERY_PREFIX: &'static str = "DLV#";
    /// Prefix of a call's own copies of its delivery records (under `CALL#<sid>`).
    pub const WEBHOOK_PREFIX: &'static str = "WEBHOOK#";

    /// `CALL#<CallSid>`.
    pub fn call(sid: &CallSid) -> String {
        format!("CALL#{sid}")
    }

    /// `TURN#<seq>`, zero-padded so that sort order is turn order.
    pub fn turn(seq: u32) -> String {
        format!("{}{seq:010}", Self::TURN_PREFIX)
    }

    /// `LATENCY#<index>`, zero-padded so that sort order is turn order.
    pub fn latency(index: u32) -> String {
        format!("{}{index:010}", Self::LATENCY_PREFIX)
    }

    /// `TOOL#<tool call id>`.
    pub fn tool(call_id: &str) -> String {
        format!("{}{call_id}", Self::TOOL_PREFIX)
    }

    /// Prefix of the sort keys under `CALLER#<E.164>` that point to the caller's calls.
    pub const CALL_POINTER_PREFIX: &'static str = "CALL#";
    /// Prefix of write-tool effect markers (sort keys under a conversation's partition).
    pub const EFFECT_PREFIX: &'static str = "EFFECT#";

    /// `CALL#<CallSid>` as a sort key under `CALLER#<E.164>`: this number made that call, so
    /// "forget me" can find the call's partition.
    pub fn call_pointer(sid: &CallSid) -> String {
        format!("{}{sid}", Self::CALL_POINTER_PREFIX)
    }

    /// `EFFECT#<hash>`: a write tool's effect (its name and canonical arguments, hashed),
    /// claimed once per conversation for a bounded window.
    pub fn tool_effect(hash: &str) -> String {
        format!("{}{hash}", Self::EFFECT_PREFIX)
    }

    /// `CALLER#<E.164>`.
    pub fn caller(number: &PhoneNumber) -> String {
        format!("CALLER#{}", number.as_str())
    }

    /// `NOTE#<UTC timestamp, nanoseconds>`: sorts by time.
    pub fn note(at: OffsetDateTime) -> String {
        format!("{}{:020}", Self::NOTE_PREFIX, at.unix_timestamp_nanos())
    }

    /// `SMS#<E.164>`.
    pub fn sms(number: &PhoneNumber) -> String {
        format!("SMS#{}", number.as_str())
    }

    /// `MSG#<UTC timestamp, nanoseconds>#<id>`: sorts by time, unique by id.
    pub fn message(at: OffsetDateTime, id: &str) -> String {
        format!("{}{:020}#{id}", Self::MSG_PREFIX, at.unix_timestamp_nanos())
    }

    /// `OPTOUT#<E.164>`: an SMS opt-out. Kept apart from the caller's data so that "forget me"
    /// does not erase the record that they must not be texted.
    pub fn opt_out(number: &PhoneNumber) -> String {
        format!("OPTOUT#{}", number.as_str())
    }

    /// `EMAIL#<mail message id>`: the email processor's claim and record of one message
    /// (sort key [`Keys::META`]), and the tool calls made for it.
    pub fn email(message_id: &str) -> String {
        format!("EMAIL#{message_id}")
    }

    /// Partition of the messages guests left for the owner (sort keys [`Keys::message`]).
    pub const OWNER_INBOX: &'static str = "INBOX";

    /// `BOOKING#<code>`: a guest's booking request awaiting the owner's YES/NO (sort key
    /// [`Keys::META`]).
    pub fn booking(code: &str) -> String {
        format!("BOOKING#{code}")
    }

    /// `QUOTA#<identity>`: a guest's daily counters (sort keys [`Keys::quota_day`]); the
    /// identity is an E.164 number, `mailto:<address>` or `anonymous`
    /// ([`crate::quota::quota_identity`]).
    pub fn quota(identity: &str) -> String {
        format!("QUOTA#{identity}")
    }

    /// `DAY#<yyyy-mm-dd>#<kind>`: one counter for one UTC day.
    pub fn quota_day(day: time::Date, kind: crate::quota::QuotaKind) -> String {
        format!(
            "DAY#{:04}-{:02}-{:02}#{}",
            day.year(),
            u8::from(day.month()),
            day.day(),
            kind.as_str()
        )
    }

    /// Partition of the recent-calls index: one row per call (sort key [`Keys::call_index`]),
    /// so the console can list calls newest first without a scan.
    pub const CALL_INDEX: &'static str = "CALLS";

    /// `<started_at, UTC nanoseconds, 20 digits>.<CallSid>`: sorts by start time, unique by
    /// sid. A dot rather than `#`, as it is also `GET /calls`' paging cursor and must survive a
    /// query string unescaped.
    pub fn call_index(started_at: OffsetDateTime, sid: &CallSid) -> String {
        format!("{:020}.{sid}", started_at.unix_timestamp_nanos())
    }

    /// Whether `cursor` has the shape of a [`Keys::call_index`] sort key, so a client's paging
    /// cursor can be checked before it reaches the store.
    pub fn is_call_index(cursor: &str) -> bool {
        cursor.split_once('.').is_some_and(|(nanos, sid)| {
            nanos.len() == 20
                && nanos.bytes().all(|b| b.is_ascii_digit())
                && CallSid::parse(sid).is_ok()
        })
    }

    /// `OUTBOUND#<id>`: an outbound call request (sort key [`Keys::META`]).
    pub fn outbound(id: &crate::outbound::OutboundId) -> String {
        format!("OUTBOUND#{id}")
    }

    /// Partition of the outbound retries waiting for their time (sort keys
    /// [`Keys::retry_due`]).
    pub const RETRIES: &'static str = "RETRIES";
    /// Prefix of [`Keys::retry_due`].
    pub const RETRY_PREFIX: &'static str = "DUE#";

    /// `DUE#<epoch seconds, 20 digits>#<id>`: sorts by due time, unique by request.
    pub fn retry_due(at: OffsetDateTime, id: &crate::outbound::OutboundId) -> String {
        format!(
            "{}{:020}#{id}",
            Self::RETRY_PREFIX,
            at.unix_timestamp().max(0)
        )
    }

    /// Partition of every reminder (sort keys [`Keys::reminder`]): one owner's reminders are
    /// few, and a scheduler scans them all.
    pub const REMINDERS: &'static str = "REMINDERS";
    /// Prefix of reminder sort keys.
    pub const REMINDER_PREFIX: &'static str = "REM#";

    /// `REM#<reminder id>`.
    pub fn reminder(id: &crate::reminders::ReminderId) -> String {
        format!("{}{id}", Self::REMINDER_PREFIX)
    }

    /// `IDEM#<key>`.
    pub fn idempotency(key: &str) -> String {
        format!("IDEM#{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_keys_sort_in_turn_order() {
        assert!(Keys::turn(9) < Keys::turn(10));
        assert!(Keys::turn(99) < Keys::turn(100));
    }

    #[test]
    fn call_index_keys_sort_in_time_order_and_are_recognised() {
        let sid = CallSid::parse(&format!("CA{:032x}", 7)).unwrap();
        let a = Keys::call_index(OffsetDateTime::from_unix_timestamp(1_000).unwrap(), &sid);
        let b = Keys::call_index(OffsetDateTime::from_unix_timestamp(10_000).unwrap(), &sid);
        assert!(a < b);
        assert!(Keys::is_call_index(&a));
        assert!(!Keys::is_call_index("CALL#x"));
        assert!(!Keys::is_call_index(&format!("{:020}.CA12", 5)));
    }

    #[test]
    fn note_keys_sort_in_time_order() {
        let a = OffsetDateTime::from_unix_timestamp(1_000).unwrap();
        let b = OffsetDateTime::from_unix_timestamp(10_000).unwrap();
        assert!(Keys::note(a) < Keys::note(b));
    }
}
