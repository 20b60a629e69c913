//! The one place outbound calls are admitted, recorded and placed, and where Twilio's
//! callbacks settle them: `POST /calls`, the status and AMD callbacks, the retry task of
//! `phone-agent serve` (and reminders) all go through a [`Dialer`].
//!
//! Order of a new request: the request is checked (400), the policy admits it (do-not-call,
//! quiet hours, daily cap: 422 naming the rule), the request row is created once per id (a
//! replay of the same idempotency key returns the stored request and dials nothing), the
//! daily counter is taken atomically, then the call is placed and its attempt row written.

use std::sync::Arc;

use jiff::tz::TimeZone;
use time::OffsetDateTime;

use super::policy::{CallPolicy, Refusal};
use super::{
    AnsweredBy, InvalidRequest, NewOutboundCall, OutboundCall, OutboundId, OutboundOutcome,
    OutboundStatus,
};
use crate::Store;
use crate::call::{CallSession, CallSid, CallStatus};
use crate::phone::PhoneNumber;
use crate::ports::{OutboundCallRequest, OutboundCalls, PortError};
use crate::quota::{QuotaKind, QuotaTake};
use crate::store::{Created, DueRetry, StoreError};

/// The voice webhook of outbound calls (TwiML once the callee answers).
pub const VOICE_PATH: &str = "/voice/outbound";
/// Their status callback.
pub const STATUS_PATH: &str = "/voice/outbound/status";
/// Their asynchronous answering-machine-detection callback.
pub const AMD_PATH: &str = "/voice/outbound/amd";
/// The daily counter's identity (one cap for the whole deployment).
const QUOTA_IDENTITY: &str = "outbound";

/// Why a call was not placed.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    /// The request is malformed (400).
    #[error(transparent)]
    Invalid(#[from] InvalidRequest),
    /// The policy refused it (422, naming the rule); nothing was dialled.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The carrier refused or failed; the request row says so (`outcome: failed`).
    #[error("placing the call: {0}")]
    Placement(PortError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What [`Dialer::start`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    /// The request as stored.
    pub call: OutboundCall,
    /// True when the id already existed: nothing was dialled this time.
    pub replayed: bool,
}

/// Admits, records and places outbound calls; settles them from Twilio's callbacks.
#[derive(Clone)]
pub struct Dialer {
    store: Store,
    calls: Arc<dyn OutboundCalls>,
    policy: CallPolicy,
    public_base_url: String,
    from: Option<PhoneNumber>,
    default_zone: String,
    ring_timeout_secs: u32,
}

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dialer")
            .field("calls", &self.calls.describe())
            .field("policy", &self.policy)
            .finish()
    }
}

/// How the dialer is set up.
#[derive(Debug, Clone)]
pub struct DialerSettings {
    /// The rules.
    pub policy: CallPolicy,
    /// `PUBLIC_BASE_URL`: the webhooks Twilio calls back.
    pub public_base_url: String,
    /// Our number (`TWILIO_FROM_NUMBER`), recorded on the call rows.
    pub from: Option<PhoneNumber>,
    /// The assistant's `TIME_ZONE`, for callees whose zone is not given.
    pub default_zone: String,
    /// Seconds an attempt rings before `no-answer`.
    pub ring_timeout_secs: u32,
}

impl Dialer {
    /// A dialer placing calls through `calls`.
    pub fn new(store: Store, calls: Arc<dyn OutboundCalls>, settings: DialerSettings) -> Self {
        Self {
            store,
            calls,
            policy: settings.policy,
            public_base_url: settings.public_base_url.trim_end_matches('/').to_owned(),
            from: settings.from,
            default_zone: settings.default_zone,
            ring_timeout_secs: settings.ring_timeout_secs,
        }
    }

    /// The adapter's name, for logs.
    pub fn describe(&self) -> String {
        self.calls.describe()
    }

    /// The rules in force.
    pub fn policy(&self) -> &CallPolicy {
        &self.policy
    }

    /// Admits, records and places a new request under `id`.
    pub async fn start(
        &self,
        request: NewOutboundCall,
        id: OutboundId,
    ) -> Result<Started, DialError> {
        request.validate()?;
        let zone_name = request
            .time_zone
            .clone()
            .unwrap_or_else(|| self.default_zone.clone());
        let zone = zone(&zone_name)?;
        let now = self.store.clock().now();
        // A replay must find its request whatever the clock says now.
        if let Ok(existing) = self.store.get_outbound(&id).await {
            return Ok(Started {
                call: existing,
                replayed: true,
            });
        }
        self.admit(&request.to, &zone_name, &zone, now).await?;
        let call = OutboundCall::new(id.clone(), request, zone_name, now);
        if let Created::Existing(existing) = self.store.create_outbound(&call).await? {
            return Ok(Started {
                call: existing,
                replayed: true,
            });
        }
        match self.place(&call).await {
            Ok(_) => {}
            Err(DialError::Refused(refusal)) => {
                // Nothing was dialled: the request leaves no trace, and a retry may pass.
                self.store.delete_outbound(&id).await?;
                return Err(DialError::Refused(refusal));
            }
            Err(e) => return Err(e),
        }
        Ok(Started {
            call: self.store.get_outbound(&id).await?,
            replayed: false,
        })
    }

    /// The policy's checks that need the store: the opt-out list and today's count.
    async fn admit(
        &self,
        to: &PhoneNumber,
        zone_name: &str,
        zone: &TimeZone,
        now: OffsetDateTime,
    ) -> Result<(), DialError> {
        let opted_out = self.store.is_sms_opted_out(to).await?;
        let today = self
            .store
            .quota_used(QUOTA_IDENTITY, QuotaKind::OutboundCalls)
            .await?;
        self.policy
            .admit(now, zone_name, zone, &to.masked(), opted_out, today)?;
        Ok(())
    }

    /// Places one attempt of `call`: takes the daily counter, dials, writes the attempt's row
    /// and adds it to the request.
    async fn place(&self, call: &OutboundCall) -> Result<CallSid, DialError> {
        let limit = u64::from(self.policy.max_calls_per_day);
        if let QuotaTake::Refused { .. } = self
            .store
            .take_quota(QUOTA_IDENTITY, QuotaKind::OutboundCalls, 1, limit)
            .await?
        {
            return Err(Refusal::DailyCap {
                limit: self.policy.max_calls_per_day,
            }
            .into());
        }
        let query = format!("?outbound={}", call.id);
        let request = OutboundCallRequest {
            to: call.to.clone(),
            voice_url: format!("{}{VOICE_PATH}{query}", self.public_base_url),
            status_callback: format!("{}{STATUS_PATH}{query}", self.public_base_url),
            amd_callback: format!("{}{AMD_PATH}{query}", self.public_base_url),
            ring_timeout_secs: self.ring_timeout_secs,
        };
        let placed = match self.calls.place(&request).await {
            Ok(placed) => placed,
            Err(e) => {
                tracing::warn!(outbound = %call.id, error = %e, "outbound call not placed");
                let reason = e.to_string();
                self.store
                    .update_outbound(&call.id, |c| {
                        c.status = OutboundStatus::Completed;
                        c.outcome = Some(OutboundOutcome::Failed);
                        c.error = Some(reason.clone());
                        true
                    })
                    .await?;
                return Err(DialError::Placement(e));
            }
        };
        self.attempt_row(call, &placed.call_sid).await?;
        let sid = placed.call_sid.clone();
        self.store
            .update_outbound(&call.id, |c| {
                if !c.attempts.contains(&sid) {
                    c.attempts.push(sid.clone());
                }
                if c.status == OutboundStatus::Dialing {
                    c.status = OutboundStatus::InProgress;
                }
                true
            })
            .await?;
        tracing::info!(outbound = %call.id, call_sid = %sid, to = ?call.to, via = %self.calls.describe(), "outbound call placed");
        Ok(sid)
    }

    /// Writes the attempt's call row once (a webhook may have written it first). Its stream
    /// token is unusable until the outbound voice webhook issues one.
    async fn attempt_row(
        &self,
        call: &OutboundCall,
        sid: &CallSid,
    ) -> Result<CallSession, StoreError> {
        let now = self.store.clock().now();
        let row = CallSession::outbound(
            sid.clone(),
            call.id.clone(),
            self.from.clone(),
            call.to.clone(),
            now,
        );
        let unusable = crate::token::hash_stream_token(&OutboundId::random().to_string());
        match self.store.create_call(&row, &unusable, now).await? {
            Created::New => Ok(row),
            Created::Existing(existing) => Ok(existing),
        }
    }

    /// The row of attempt `sid` of request `id`, written now if a callback outran
    /// [`Dialer::start`]. A row that belongs to another request is a conflict.
    pub async fn ensure_attempt(
        &self,
        id: &OutboundId,
        sid: &CallSid,
    ) -> Result<(OutboundCall, CallSession), StoreError> {
        let call = self.store.get_outbound(id).await?;
        let row = match self.store.get_call(sid).await {
            Ok(row) => row,
            Err(StoreError::NotFound) => {
                let row = self.attempt_row(&call, sid).await?;
                self.store
                    .update_outbound(id, |c| {
                        if c.attempts.contains(sid) {
                            return false;
                        }
                        c.attempts.push(sid.clone());
                        true
                    })
                    .await?;
                row
            }
            Err(e) => return Err(e),
        };
        if row.outbound_id.as_ref() != Some(id) {
            return Err(StoreError::Conflict(format!(
                "call {sid} is not an attempt of {id}"
            )));
        }
        Ok((call, row))
    }

    /// A status callback of attempt `sid`. A final status settles the attempt's outcome and
    /// the request's: a retry is scheduled for no answer or busy when the policy allows one.
    pub async fn on_status(
        &self,
        id: &OutboundId,
        sid: &CallSid,
        status: CallStatus,
        duration_secs: Option<u64>,
    ) -> Result<CallSession, StoreError> {
        self.ensure_attempt(id, sid).await?;
        let row = self
            .store
            .set_call_status(sid, status, duration_secs)
            .await?;
        let Some(outcome) =
            OutboundOutcome::from_final_status(row.status, row.answered_by, row.outcome)
        else {
            return Ok(row);
        };
        let outcome = match self.store.set_call_outcome(sid, outcome).await? {
            Created::New => outcome,
            Created::Existing(first) => first,
        };
        self.settle(id, sid, outcome).await?;
        self.store.get_call(sid).await
    }

    /// Settles the request after its attempt `sid` ended with `outcome`: done, or a retry.
    async fn settle(
        &self,
        id: &OutboundId,
        sid: &CallSid,
        outcome: OutboundOutcome,
    ) -> Result<(), StoreError> {
        let now = self.store.clock().now();
        let policy = self.policy;
        let mut retry = None;
        let call = self
            .store
            .update_outbound(id, |c| {
                retry = None;
                // Only the latest attempt decides, once (callbacks repeat).
                if c.attempts.last() != Some(sid) || c.status != OutboundStatus::InProgress {
                    return false;
                }
                c.outcome = Some(outcome);
                let tz = TimeZone::get(&c.time_zone).unwrap_or(TimeZone::UTC);
                match policy.retry_at(now, &tz, c.attempts.len() as u32, outcome) {
                    Some(at) => {
                        c.status = OutboundStatus::RetryScheduled;
                        c.next_attempt_at = Some(at);
                        retry = Some(at);
                    }
                    None => {
                        c.status = OutboundStatus::Completed;
                        c.next_attempt_at = None;
                    }
                }
                true
            })
            .await?;
        if let Some(at) = retry {
            self.store.schedule_retry(id, at).await?;
            tracing::info!(outbound = %id, ?outcome, attempts = call.attempts.len(), %at, "outbound retry scheduled");
        } else {
            tracing::info!(outbound = %id, ?outcome, attempts = call.attempts.len(), "outbound call settled");
        }
        Ok(())
    }

    /// The AMD callback of attempt `sid`: records what answered. A person (or an undecided
    /// detection) makes the outcome `human`; a fax makes it `failed`. A machine's outcome is
    /// the stream host's to record once the message is left.
    pub async fn on_answered_by(
        &self,
        id: &OutboundId,
        sid: &CallSid,
        answered_by: AnsweredBy,
    ) -> Result<CallSession, StoreError> {
        self.ensure_attempt(id, sid).await?;
        let row = self.store.set_call_answered_by(sid, answered_by).await?;
        let outcome = match answered_by {
            AnsweredBy::Human | AnsweredBy::Unknown => Some(OutboundOutcome::Human),
            AnsweredBy::Fax => Some(OutboundOutcome::Failed),
            _ => None,
        };
        if let Some(outcome) = outcome {
            record_outcome(&self.store, &row, outcome).await?;
        }
        Ok(row)
    }

    /// Dials every retry whose time has come; returns how many were placed. Each is claimed
    /// on its request row first, so two processes running this never dial one twice. The
    /// policy is checked again: a number that opted out meanwhile is not called, a retry that
    /// became due in quiet hours waits for the window, a full daily cap ends the request.
    pub async fn run_due_retries(&self) -> Result<usize, StoreError> {
        let mut placed = 0;
        for due in self.store.due_retries(50).await? {
            let mut claimed = false;
            let call = self
                .store
                .update_outbound(&due.id, |c| {
                    claimed = c.status == OutboundStatus::RetryScheduled
                        && c.next_attempt_at.map(|t| t.unix_timestamp())
                            == Some(due.at.unix_timestamp());
                    if claimed {
                        c.status = OutboundStatus::Dialing;
                        c.next_attempt_at = None;
                    }
                    claimed
                })
                .await;
            self.store.remove_retry(&due).await?;
            let call = match call {
                Ok(call) if claimed => call,
                Ok(_) | Err(StoreError::NotFound) => continue,
                Err(e) => return Err(e),
            };
            if self.retry(&call, &due).await? {
                placed += 1;
            }
        }
        Ok(placed)
    }

    /// One claimed retry; `true` when it was dialled.
    async fn retry(&self, call: &OutboundCall, due: &DueRetry) -> Result<bool, StoreError> {
        let now = self.store.clock().now();
        let tz = TimeZone::get(&call.time_zone).unwrap_or(TimeZone::UTC);
        let admitted = match self.admit(&call.to, &call.time_zone, &tz, now).await {
            Ok(()) => Ok(()),
            Err(DialError::Refused(r)) => Err(r),
            Err(DialError::Store(e)) => return Err(e),
            Err(other) => return Err(StoreError::Invalid(other.to_string())),
        };
        let refusal = match admitted {
            Ok(()) => match self.place(call).await {
                Ok(_) => return Ok(true),
                Err(DialError::Refused(r)) => r,
                Err(DialError::Store(e)) => return Err(e),
                // Recorded on the request (`failed`) by `place`.
                Err(_) => return Ok(false),
            },
            Err(r) => r,
        };
        if let Refusal::QuietHours { .. } = refusal {
            let at = self.policy.next_allowed(now, &tz);
            self.store
                .update_outbound(&call.id, |c| {
                    c.status = OutboundStatus::RetryScheduled;
                    c.next_attempt_at = Some(at);
                    true
                })
                .await?;
            self.store.schedule_retry(&call.id, at).await?;
            tracing::info!(outbound = %call.id, %at, "outbound retry moved out of quiet hours");
            return Ok(false);
        }
        let reason = format!("retry refused ({}): {refusal}", refusal.rule());
        tracing::warn!(outbound = %call.id, rule = refusal.rule(), "outbound retry refused; the request ends");
        self.store
            .update_outbound(&call.id, |c| {
                c.status = OutboundStatus::Completed;
                c.error = Some(reason.clone());
                true
            })
            .await?;
        let _ = due;
        Ok(false)
    }
}

/// Records `outcome` on attempt `row` (the first outcome stays) and on its request, which it
/// completes. For the AMD callback and the stream host (`voicemail_left`).
pub async fn record_outcome(
    store: &Store,
    row: &CallSession,
    outcome: OutboundOutcome,
) -> Result<OutboundOutcome, StoreError> {
    let outcome = match store.set_call_outcome(&row.call_sid, outcome).await? {
        Created::New => outcome,
        Created::Existing(first) => first,
    };
    if let Some(id) = &row.outbound_id {
        store
            .update_outbound(id, |c| {
                if c.attempts.last() != Some(&row.call_sid)
                    || c.status != OutboundStatus::InProgress
                {
                    return false;
                }
                c.outcome = Some(outcome);
                // Answered by someone (or something): no retry, whatever the status says later.
                c.status = OutboundStatus::Completed;
                true
            })
            .await?;
    }
    Ok(outcome)
}

fn zone(name: &str) -> Result<TimeZone, DialError> {
    TimeZone::get(name)
        .map_err(|_| DialError::Invalid(InvalidRequest(format!("unknown time zone {name}"))))
}
