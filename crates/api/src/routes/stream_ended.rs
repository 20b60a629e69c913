//! `POST /voice/stream-ended`: the `<Connect action>` of the voice webhook's TwiML. Twilio
//! requests it when the media stream ends (what Twilio does, with sources, is noted on
//! [`phone_twilio::twiml::connect_stream`]); the TwiML answered is what the caller hears next.
//!
//! - The stream host recorded a normal end on the call row (goodbye after a limit or a drain,
//!   `end_call`, a transfer, the caller hanging up): `<Hangup/>`, nothing more is said.
//! - Anything else (an abnormal end, no end recorded because the stream host was unreachable
//!   or died, an unknown call): a short apology, then the fallback. With `TRANSFER_NUMBER` the
//!   caller is put through to it with `<Dial>`. Without it, when the caller's number is known
//!   and an owner number is configured, the caller is told they will be texted back and the
//!   owner gets one SMS saying who called and when; otherwise they are asked to call back later.
//! - An outbound call (the assistant called them) that ended abnormally: a short apology and
//!   `<Hangup/>`; the callee is neither transferred nor promised a text.
//! - A call Twilio reports as already over (`CallStatus` final) can hear nothing: `<Hangup/>`.
//!
//! Signature-checked by [`SignedForm`] like every Twilio webhook. The SMS is claimed once per
//! CallSid in the store's idempotency keys before it is sent, so a retried webhook never texts
//! twice; it is sent after the answer (in `AppState::background`) so the caller does
//! not wait on it.

use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use phone_core::{CallSession, PhoneNumber, StoreError, StreamEnd};
use phone_twilio::twiml;
use phone_twilio::webhook::VoiceWebhook;

use crate::twilio_request::SignedForm;
use crate::{ApiError, AppState};

/// The route's path; the voice webhook puts `PUBLIC_BASE_URL` + this in `<Connect action>`.
pub const PATH: &str = "/voice/stream-ended";

/// Said before a transfer to `TRANSFER_NUMBER`.
pub const SORRY_TRANSFER: &str =
    "Sorry, I'm having technical trouble. Let me put you through to someone.";
/// Said when the owner is texted about the call.
pub const SORRY_TEXT_BACK: &str = "Sorry, I'm having technical trouble and can't continue this call. We'll text you back shortly. Goodbye.";
/// Said when nobody can be told about the call.
pub const SORRY_CALL_BACK: &str = "Sorry, I'm having technical trouble and can't take your call right now. Please call back later. Goodbye.";

/// Said to the callee of an outbound call whose stream failed: nobody is transferred or texted
/// (they did not call us); the request's outcome shows the failure to whoever placed it.
pub const SORRY_OUTBOUND: &str =
    "Sorry, I'm having technical trouble and have to end this call. Goodbye.";

/// Seconds the transfer rings before giving up.
const TRANSFER_RING_SECS: u32 = 30;
/// Longest the owner's SMS may take: the voice Lambda (8 s) waits for it after answering.
const SMS_LIMIT: Duration = Duration::from_secs(6);

/// The absolute `<Connect action>` URL for a webhook base URL.
pub fn action_url(public_base_url: &str) -> String {
    format!("{}{PATH}", public_base_url.trim_end_matches('/'))
}

pub(super) async fn stream_ended(
    State(state): State<AppState>,
    SignedForm(form): SignedForm,
) -> Result<impl IntoResponse, ApiError> {
    let webhook =
        VoiceWebhook::from_form(&form).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let sid = &webhook.call_sid;
    if webhook.call_status.is_final() {
        tracing::info!(call_sid = %sid, status = ?webhook.call_status, "stream ended on a finished call: nothing to play");
        return Ok(xml(twiml::hang_up()));
    }
    let call = match state.store.get_call(sid).await {
        Ok(call) => Some(call),
        Err(StoreError::NotFound) => None,
        Err(e) => {
            // The caller is on the line now: an apology beats silence while the store is down.
            tracing::error!(call_sid = %sid, error = %e, "call row unreadable after the stream; treating the end as abnormal");
            None
        }
    };
    let end = call.as_ref().and_then(|c| c.stream_end);
    if let Some(end) = end
        && end.is_normal()
    {
        tracing::info!(call_sid = %sid, ?end, "stream ended normally");
        return Ok(xml(twiml::hang_up()));
    }
    tracing::warn!(call_sid = %sid, ?end, "stream ended abnormally: the caller hears the fallback");
    if call
        .as_ref()
        .is_some_and(|c| c.direction == phone_core::outbound::Direction::Outbound)
    {
        return Ok(xml(twiml::say_then_hang_up(SORRY_OUTBOUND)));
    }
    if let Some(transfer) = &state.config.twilio.transfer_number {
        return Ok(xml(twiml::say_then_dial(
            SORRY_TRANSFER,
            transfer.as_str(),
            TRANSFER_RING_SECS,
        )));
    }
    let caller = webhook
        .from
        .clone()
        .or_else(|| call.as_ref().and_then(|c| c.from.clone()));
    let texted = text_owner(&state, &webhook, caller.as_ref(), call.as_ref(), end).await;
    let said = if texted {
        SORRY_TEXT_BACK
    } else {
        SORRY_CALL_BACK
    };
    Ok(xml(twiml::say_then_hang_up(said)))
}

fn xml(body: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/xml")], body)
}

/// Texts the owner about a call that failed, once per CallSid; `true` when the caller may be
/// told they will be texted back (an owner to tell, a caller number to text, a way to send).
async fn text_owner(
    state: &AppState,
    webhook: &VoiceWebhook,
    caller: Option<&PhoneNumber>,
    call: Option<&CallSession>,
    end: Option<StreamEnd>,
) -> bool {
    let sid = &webhook.call_sid;
    let Some(owner) = state.config.owner_numbers.first() else {
        tracing::error!(call_sid = %sid, "a call failed and nobody is told: set OWNER_NUMBERS (or TRANSFER_NUMBER)");
        return false;
    };
    let Some(caller) = caller else {
        tracing::warn!(call_sid = %sid, "a call from a withheld number failed: the owner cannot text back");
        return false;
    };
    let Some(messaging) = state.tools.as_ref().map(|t| t.messaging.clone()) else {
        tracing::error!(call_sid = %sid, "a call failed and no SMS adapter is configured to tell the owner");
        return false;
    };
    match state
        .store
        .claim_idempotency_key(&format!("stream-ended:{sid}"))
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(call_sid = %sid, "stream-ended webhook retried: the owner was already texted");
            return true;
        }
        Err(e) => {
            // Texting without the claim could text twice on Twilio's retry; not texting is
            // the lesser harm, and this line is how the owner finds the call.
            tracing::error!(call_sid = %sid, caller = %caller.masked(), error = %e, "owner not texted about a failed call: idempotency claim failed");
            return false;
        }
    }
    let started = call.map_or_else(|| state.store.clock().now(), |c| c.started_at);
    let when = match state.tools.as_ref() {
        Some(tools) => tools.zone.show(started),
        None => started.to_string(),
    };
    let body = owner_sms(caller, &when, end);
    let (owner, sid) = (owner.clone(), sid.clone());
    state.background.spawn(async move {
        match tokio::time::timeout(SMS_LIMIT, messaging.send_sms(&owner, &body)).await {
            Ok(Ok(sent)) => {
                tracing::info!(call_sid = %sid, sms_sid = %sent.sid, "owner texted about the failed call")
            }
            Ok(Err(e)) => {
                tracing::error!(call_sid = %sid, error = %e, "owner could not be texted about the failed call")
            }
            Err(_) => {
                tracing::error!(call_sid = %sid, "owner SMS about the failed call timed out")
            }
        }
    });
    true
}

/// The owner's SMS: who called, when, and what failed.
fn owner_sms(caller: &PhoneNumber, when: &str, end: Option<StreamEnd>) -> String {
    let what = match end {
        Some(StreamEnd::OpenAiUnreachable) => "OpenAI could not be reached",
        Some(StreamEnd::SessionNotConfigured) => "the OpenAI session could not be set up",
        Some(StreamEnd::OpenAiLost) => "the connection to OpenAI was lost",
        // A normal end never gets here; no end means the stream host did not record one.
        _ => "the voice connection failed",
    };
    format!(
        "Missed call: {} called at {when}. The assistant could not take it ({what}); they were told you would text them back.",
        caller.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_url_is_absolute_and_has_no_doubled_slash() {
        assert_eq!(
            action_url("https://api.example/"),
            "https://api.example/voice/stream-ended"
        );
    }

    #[test]
    fn owner_sms_says_who_when_and_why() {
        let caller = PhoneNumber::parse("+14155550123").unwrap();
        let text = owner_sms(
            &caller,
            "2026-11-25T14:03 (UTC)",
            Some(StreamEnd::OpenAiUnreachable),
        );
        assert!(text.contains("+14155550123"), "{text}");
        assert!(text.contains("2026-11-25T14:03 (UTC)"), "{text}");
        assert!(text.contains("OpenAI could not be reached"), "{text}");
        assert!(owner_sms(&caller, "t", None).contains("voice connection failed"));
    }
}
