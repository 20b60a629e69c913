//! Guests' daily limits at the webhooks ([`phone_core::quota`]): whether a guest's call is
//! answered and how long it may last, counting its minutes when it ends, and whether a guest's
//! text is answered. Owners never reach this module.
//!
//! A limit that cannot be checked (the store fails) fails the webhook, so Twilio retries it,
//! rather than letting the call or text through uncounted.

use phone_core::quota::{QuotaKind, QuotaTake, quota_identity};
use phone_core::{AccessLevel, CallSession, CallSid, CallStatus, PhoneNumber, StoreError};

use crate::{ApiError, AppState};

/// What a guest hears when a daily limit refuses the call.
pub const CALL_REFUSED: &str =
    "Sorry, this number has reached its daily limit of calls. Please try again tomorrow.";

/// The one reply a guest gets the first time a text is over the daily limit.
pub const SMS_LIMIT_REACHED: &str = "You have reached today's limit of messages to this assistant. It will answer again tomorrow (UTC). Reply STOP to opt out.";

/// Fewer seconds left than this: the call is refused, as a call that must end at once is no
/// use to anyone.
pub const MIN_CALL_SECS: u64 = 30;

/// The longest a guest's new call may last, in seconds: `None` for the usual `MAX_CALL_SECS`,
/// `Some(0)` when today's calls or minutes are used up (the call is then refused). The call is
/// counted in `GUEST_CALLS_PER_DAY` unless refused. A call row that already has a decision (a
/// retried webhook) keeps it and counts nothing again.
pub async fn admit_call(
    state: &AppState,
    sid: &CallSid,
    from: Option<&PhoneNumber>,
) -> Result<Option<u32>, ApiError> {
    match state.store.get_call(sid).await {
        Ok(CallSession {
            max_call_secs: Some(decided),
            ..
        }) => return Ok(Some(decided)),
        Ok(_) | Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let quotas = state.config.guest_quotas;
    let who = quota_identity(from, None);
    let max_call = state.config.stream.max_call.as_secs();
    let mut longest = None;
    if let Some(limit) = quotas.call_seconds() {
        let used = state.store.quota_used(&who, QuotaKind::CallSeconds).await?;
        let left = limit.saturating_sub(used);
        if left < MIN_CALL_SECS {
            tracing::warn!(
                used_secs = used,
                limit_secs = limit,
                "guest call refused: daily minutes used up"
            );
            return Ok(Some(0));
        }
        if left < max_call {
            longest = Some(u32::try_from(left).unwrap_or(u32::MAX));
        }
    }
    if let Some(limit) = quotas.calls {
        let take = state
            .store
            .take_quota(&who, QuotaKind::Calls, 1, u64::from(limit))
            .await?;
        if let QuotaTake::Refused { used } = take {
            tracing::warn!(used, limit, "guest call refused: daily calls used up");
            return Ok(Some(0));
        }
    }
    Ok(longest)
}

/// The TwiML of a refused call: a short `<Say>`, then `<Hangup/>` (no stream, no model).
pub fn refused_call_twiml() -> Result<String, ApiError> {
    use phone_twilio::twiml::{Response, Verb};
    Ok(Response::new()
        .push(Verb::Say(CALL_REFUSED.into()))
        .and_then(|r| r.push(Verb::Hangup))
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .render())
}

/// Adds a finished guest call's duration to the caller's minutes of the day, once per call
/// (Twilio may repeat the `completed` callback). A call refused by the limits is not counted.
/// Failures are logged: the callback is acknowledged either way.
pub async fn count_call_seconds(state: &AppState, call: &CallSession, duration: Option<u64>) {
    let (CallStatus::Completed, AccessLevel::Guest, Some(secs)) =
        (call.status, call.access, duration)
    else {
        return;
    };
    if state.config.guest_quotas.call_minutes.is_none() || call.max_call_secs == Some(0) {
        return;
    }
    let who = quota_identity(call.from.as_ref(), None);
    let counted = match state.store.claim_call_seconds(&call.call_sid).await {
        Ok(true) => state
            .store
            .take_quota(&who, QuotaKind::CallSeconds, secs, u64::MAX)
            .await
            .map(|_| ()),
        Ok(false) => Ok(()),
        Err(e) => Err(e),
    };
    if let Err(e) = counted {
        tracing::error!(call_sid = %call.call_sid, error = %e, "guest call minutes not counted");
    }
}

/// Whether a guest's text is answered: `None` to go on (it is counted), or the answer instead
/// of the agent's: the limit notice the first time today, then nothing at all.
pub async fn gate_sms(
    state: &AppState,
    from: &PhoneNumber,
) -> Result<Option<Option<String>>, StoreError> {
    let Some(limit) = state.config.guest_quotas.sms else {
        return Ok(None);
    };
    let who = quota_identity(Some(from), None);
    let store = &state.store;
    if let QuotaTake::Taken { .. } = store
        .take_quota(&who, QuotaKind::Sms, 1, u64::from(limit))
        .await?
    {
        return Ok(None);
    }
    let first = store
        .take_quota(&who, QuotaKind::SmsLimitNotice, 1, 1)
        .await?
        .is_taken();
    tracing::warn!(
        limit,
        notice = first,
        "guest text not answered: daily limit reached"
    );
    Ok(Some(first.then(|| SMS_LIMIT_REACHED.to_owned())))
}
