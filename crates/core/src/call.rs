//! One phone call: its identity, status, timestamps and live statistics.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::access::AccessLevel;
use crate::latency::LatencyPercentiles;
use crate::outbound::{AnsweredBy, Direction, OutboundId, OutboundOutcome};
use crate::phone::PhoneNumber;
use crate::usage::{Cost, Usage};

/// Twilio's call identifier: `CA` followed by 32 hex digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, pattern = "^CA[0-9a-fA-F]{32}$", example = "CA0123456789abcdef0123456789abcdef")]
pub struct CallSid(String);

/// Why a string is not a Twilio CallSid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Twilio CallSid (expected 'CA' followed by 32 hex digits)")]
pub struct InvalidCallSid;

impl CallSid {
    /// Parses `CA` + 32 hex digits, the only shape Twilio issues.
    pub fn parse(input: &str) -> Result<Self, InvalidCallSid> {
        let ok = input.len() == 34
            && input.starts_with("CA")
            && input[2..].bytes().all(|b| b.is_ascii_hexdigit());
        if ok {
            Ok(Self(input.to_owned()))
        } else {
            Err(InvalidCallSid)
        }
    }

    /// The sid as Twilio writes it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CallSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CallSid({})", self.0)
    }
}

impl TryFrom<String> for CallSid {
    type Error = InvalidCallSid;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CallSid> for String {
    fn from(value: CallSid) -> Self {
        value.0
    }
}

/// Twilio's `CallStatus` values (PROTOCOLS.md §1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CallStatus {
    /// Waiting to be dialled.
    Queued,
    /// Dialling has started.
    Initiated,
    /// The phone is ringing.
    Ringing,
    /// Answered and connected.
    InProgress,
    /// Ended normally.
    Completed,
    /// The other side was busy.
    Busy,
    /// Nobody answered.
    NoAnswer,
    /// Cancelled before it was answered.
    Canceled,
    /// Could not be placed.
    Failed,
}

impl CallStatus {
    /// Parses Twilio's spelling (`in-progress`, `no-answer`, …).
    pub fn parse(input: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(input.to_owned())).ok()
    }

    /// Whether the call is over; a finished call never becomes live again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Busy | Self::NoAnswer | Self::Canceled | Self::Failed
        )
    }
}

/// How a call's media stream ended, as the stream host saw it. Recorded on the call row before
/// the host closes Twilio's socket, because Twilio requests the `<Connect action>` URL as soon
/// as the socket closes and the action decides from this whether the caller hears anything
/// more (docs/voice.md, "When the stream ends").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StreamEnd {
    /// Twilio sent `stop` or closed: the caller hung up.
    CallerHungUp,
    /// The call reached its maximum duration; the assistant said goodbye.
    MaxDuration,
    /// The call's model cost reached its cap; the assistant said goodbye.
    CostLimit,
    /// The caller was silent too long; the assistant said goodbye.
    Idle,
    /// The host was shutting down; the assistant said goodbye.
    Drain,
    /// The assistant ended the call (`end_call`) after its goodbye.
    AssistantHungUp,
    /// The assistant transferred the caller (`transfer_call`).
    Transferred,
    /// An outbound call reached an answering machine; the assistant left its message after
    /// the beep and hung up.
    VoicemailLeft,
    /// An outbound call was answered by a fax machine; nothing was said.
    FaxAnswered,
    /// OpenAI was lost mid-call and could not be reached again.
    #[serde(rename = "openai_lost")]
    OpenAiLost,
    /// The OpenAI session was never configured (refused or too slow).
    SessionNotConfigured,
    /// OpenAI could not be reached when the call started.
    #[serde(rename = "openai_unreachable")]
    OpenAiUnreachable,
}

impl StreamEnd {
    /// Whether the call ended as intended. Anything else leaves the caller mid-conversation,
    /// so they are owed an apology and the fallback.
    pub fn is_normal(self) -> bool {
        match self {
            Self::CallerHungUp
            | Self::MaxDuration
            | Self::CostLimit
            | Self::Idle
            | Self::Drain
            | Self::AssistantHungUp
            | Self::Transferred
            | Self::VoicemailLeft
            | Self::FaxAnswered => true,
            Self::OpenAiLost | Self::SessionNotConfigured | Self::OpenAiUnreachable => false,
        }
    }
}

/// Counters the stream host keeps while it bridges a call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallStats {
    /// Media frames received from Twilio (caller audio).
    pub frames_in: u64,
    /// Media frames sent to Twilio (assistant audio).
    pub frames_out: u64,
    /// μ-law bytes received from the caller.
    pub bytes_in: u64,
    /// μ-law bytes sent to the caller.
    pub bytes_out: u64,
    /// WebSocket messages received from Twilio and OpenAI together.
    pub messages: u64,
    /// Frames that were malformed, oversized or unexpected and were dropped.
    pub dropped_frames: u64,
    /// Times the caller spoke over the assistant and the assistant stopped.
    pub interruptions: u64,
    /// Reconnections to OpenAI during the call.
    pub reconnects: u64,
    /// Milliseconds from the caller's end of speech to the first reply audio, first turn.
    pub first_reply_ms: Option<u64>,
    /// The same measure for every turn, for percentiles (bounded to the first 256 turns).
    pub reply_latencies_ms: Vec<u64>,
}

impl CallStats {
    /// Most reply latencies kept per call; the list is for percentiles, not an audit log.
    pub const MAX_LATENCIES: usize = 256;

    /// Records one end-of-speech → first-audio latency.
    pub fn record_reply_latency(&mut self, ms: u64) {
        if self.first_reply_ms.is_none() {
            self.first_reply_ms = Some(ms);
        }
        if self.reply_latencies_ms.len() < Self::MAX_LATENCIES {
            self.reply_latencies_ms.push(ms);
        }
    }
}

/// The stored row for one call (`CALL#<sid>` / `META`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallSession {
    /// Twilio's id for the call.
    pub call_sid: CallSid,
    /// The caller; `None` when the number is withheld or not a phone number (`anonymous`,
    /// `client:…`, SIP), in which case nothing is remembered across calls.
    pub from: Option<PhoneNumber>,
    /// The number that was called (ours); `None` for non-PSTN destinations.
    pub to: Option<PhoneNumber>,
    /// Latest status from Twilio or the stream host.
    pub status: CallStatus,
    /// When the voice webhook first saw the call.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When the call ended, once it has.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// Call length in seconds as Twilio reports it on `completed`.
    #[serde(default)]
    pub duration_secs: Option<u64>,
    /// Which stream host bridged the call.
    #[serde(default)]
    pub host: Option<String>,
    /// Bridge statistics, written when the stream ends.
    #[serde(default)]
    pub stats: CallStats,
    /// OpenAI token usage summed over the call.
    #[serde(default)]
    pub usage: Usage,
    /// The price of `usage`.
    #[serde(default)]
    pub cost: Cost,
    /// What the call may do, decided by the signed voice webhook (owner number with full
    /// STIR/SHAKEN attestation, or the owner PIN). The stream host reads it from this row,
    /// never from anything the stream itself carries. Absent means guest.
    #[serde(default)]
    pub access: AccessLevel,
    /// Whether the caller ID is proven, so the caller's memory may be read and written: the
    /// voice webhook saw `StirVerstat=TN-Validation-Passed-A` for this number, or the owner PIN
    /// was accepted. Set only by the signed webhook and the PIN route; absent means unverified.
    /// An unverified caller (a spoofable caller ID) gets no memory and leaves none.
    #[serde(default)]
    pub verified_caller: bool,
    /// How the media stream ended, once the stream host has recorded it. Absent (not null)
    /// until then: the store's write-once guard tests that the field is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_end: Option<StreamEnd>,
    /// The longest this call may last, in seconds, when it is shorter than `MAX_CALL_SECS`:
    /// set by the voice webhook for a guest to the call minutes left today
    /// (`GUEST_CALL_MINUTES_PER_DAY`), at most `MAX_CALL_SECS`. The stream host ends the call
    /// politely when it is reached. `Some(0)` marks a call refused by the guest's daily limits
    /// (answered with a short message and hung up, never streamed). Absent: `MAX_CALL_SECS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_call_secs: Option<u32>,
    /// Per-turn latency percentiles, written when the stream ends (the turns themselves are
    /// `LATENCY#` rows). Absent until then.
    ///
    /// Documented as an open object: on a row (`GET /calls`, an outbound report's `calls`) it
    /// is a `LatencyPercentiles`, and `GET /calls/{call_sid}` replaces it with the report's
    /// `LatencyReport` under the same name, which one schema could not describe in both places.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub latency: Option<LatencyPercentiles>,
    /// The call's Twilio recording, when `RECORDING=dual` and Twilio reported it. Absent
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<CallRecording>,
    /// `inbound` (someone called the assistant) or `outbound` (`POST /calls`). Absent: inbound.
    #[serde(default)]
    pub direction: Direction,
    /// How an outbound call ended (human, voicemail_left, no_answer, busy, failed, canceled),
    /// once known. Absent on inbound calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<OutboundOutcome>,
    /// The outbound request this call is an attempt of (`OUTBOUND#<id>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound_id: Option<OutboundId>,
    /// What Twilio's answering machine detection said, on an outbound call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<AnsweredBy>,
}

/// A Twilio recording of a call, as its status callback reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallRecording {
    /// Twilio's id (`RE` + 32 hex digits).
    pub sid: String,
    /// Where Twilio serves it (`RecordingUrl`; append `.mp3` or `.wav`, fetch with the
    /// account's credentials).
    pub url: String,
    /// `in-progress`, `completed`, `absent` or `failed`.
    pub status: String,
    /// `1` or `2` (dual: the caller on one channel, the assistant on the other).
    #[serde(default)]
    pub channels: Option<u8>,
    /// Length in seconds, once completed.
    #[serde(default)]
    pub duration_secs: Option<u64>,
}

impl CallSession {
    /// A call the voice webhook has just seen ring in, as a guest until proven otherwise
    /// ([`CallSession::with_access`]).
    pub fn new(
        call_sid: CallSid,
        from: Option<PhoneNumber>,
        to: Option<PhoneNumber>,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            call_sid,
            from,
            to,
            status: CallStatus::Ringing,
            started_at: now,
            ended_at: None,
            duration_secs: None,
            host: None,
            stats: CallStats::default(),
            usage: Usage::default(),
            cost: Cost::default(),
            access: AccessLevel::Guest,
            verified_caller: false,
            stream_end: None,
            max_call_secs: None,
            latency: None,
            recording: None,
            direction: Direction::Inbound,
            outcome: None,
            outbound_id: None,
            answered_by: None,
        }
    }

    /// An attempt of outbound request `id` from our number `from` to `to`, just placed
    /// (`queued`). The callee is a stranger: guest access, unverified, so nothing is
    /// remembered about them.
    pub fn outbound(
        call_sid: CallSid,
        id: OutboundId,
        from: Option<PhoneNumber>,
        to: PhoneNumber,
        now: OffsetDateTime,
    ) -> Self {
        let mut call = Self::new(call_sid, from, Some(to), now);
        call.status = CallStatus::Queued;
        call.direction = Direction::Outbound;
        call.outbound_id = Some(id);
        call
    }

    /// The other party: the caller of an inbound call, the callee of an outbound one.
    pub fn counterpart(&self) -> Option<&PhoneNumber> {
        match self.direction {
            Direction::Inbound => self.from.as_ref(),
            Direction::Outbound => self.to.as_ref(),
        }
    }

    /// The same call with a longest duration of its own ([`CallSession::max_call_secs`]).
    pub fn with_max_call_secs(mut self, secs: Option<u32>) -> Self {
        self.max_call_secs = secs;
        self
    }

    /// The same call with the caller ID proven (or not) by STIR/SHAKEN full attestation.
    pub fn with_verified_caller(mut self, verified: bool) -> Self {
        self.verified_caller = verified;
        self
    }

    /// The number whose memory this call may read and write: the caller's, only when it is
    /// verified ([`CallSession::verified_caller`]).
    pub fn remembered_caller(&self) -> Option<&PhoneNumber> {
        self.from.as_ref().filter(|_| self.verified_caller)
    }

    /// The same call with the access level the webhook decided.
    pub fn with_access(mut self, access: AccessLevel) -> Self {
        self.access = access;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_sid_accepts_only_twilio_shape() {
        assert!(CallSid::parse("CA0123456789abcdef0123456789abcdef").is_ok());
        assert!(CallSid::parse("CA0123").is_err());
        assert!(CallSid::parse("SM0123456789abcdef0123456789abcdef").is_err());
        assert!(CallSid::parse("CA0123456789abcdef0123456789abcdeg").is_err());
    }

    #[test]
    fn call_status_uses_twilio_spelling() {
        assert_eq!(
            CallStatus::parse("in-progress"),
            Some(CallStatus::InProgress)
        );
        assert_eq!(CallStatus::parse("no-answer"), Some(CallStatus::NoAnswer));
        assert_eq!(CallStatus::parse("bogus"), None);
        assert!(CallStatus::Completed.is_final());
        assert!(!CallStatus::Ringing.is_final());
    }

    #[test]
    fn only_failures_are_abnormal_ends() {
        assert!(StreamEnd::Idle.is_normal());
        assert!(StreamEnd::Transferred.is_normal());
        assert!(StreamEnd::CallerHungUp.is_normal());
        assert!(!StreamEnd::OpenAiLost.is_normal());
        assert!(!StreamEnd::SessionNotConfigured.is_normal());
        assert!(!StreamEnd::OpenAiUnreachable.is_normal());
        assert_eq!(
            serde_json::to_value(StreamEnd::OpenAiUnreachable).unwrap(),
            "openai_unreachable"
        );
    }

    #[test]
    fn reply_latency_list_is_bounded() {
        let mut stats = CallStats::default();
        for i in 0..1000 {
            stats.record_reply_latency(i);
        }
        assert_eq!(stats.first_reply_ms, Some(0));
        assert_eq!(stats.reply_latencies_ms.len(), CallStats::MAX_LATENCIES);
    }
}
