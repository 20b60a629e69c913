//! A guest's booking request and the owner's answer by SMS.
//!
//! `request_booking` (a guest tool) puts a tentative event in the calendar, marked as
//! requested and titled with who asked, without attendees; stores a [`BookingRequest`] under a
//! random six-digit code; and texts the owner "reply YES <code> / NO <code>". The owner's reply
//! reaches the SMS webhook, which calls [`settle`]: YES keeps the event (its title loses the
//! "Requested" mark), NO deletes it; either way the guest is texted the outcome. A request is
//! settled once: the status moves from `pending` by a conditional write.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::phone::PhoneNumber;
use crate::ports::{EventPatch, PortError};
use crate::store::{Guard, Keys, StoreError};
use crate::tools::ToolContext;

/// The mark a requested event's title starts with until the owner confirms it.
pub const REQUESTED_MARK: &str = "Requested: ";

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    /// Waiting for the owner.
    Pending,
    /// The owner said YES.
    Confirmed,
    /// The owner said NO.
    Declined,
}

/// A stored booking request (`BOOKING#<code>` / `META`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingRequest {
    /// The code the owner replies with.
    pub code: String,
    /// The tentative event.
    pub event_id: String,
    /// The event's title once confirmed (who asked).
    pub title: String,
    /// The guest, texted the outcome.
    pub guest: PhoneNumber,
    /// Start.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// End.
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    /// Where it stands.
    pub status: BookingStatus,
    /// When it was asked.
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
}

/// The owner's answer, read from an SMS: `YES 123456` or `NO 123456` (any case, optional
/// punctuation between).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerAnswer {
    /// YES.
    pub confirm: bool,
    /// The request's code.
    pub code: String,
}

/// Reads an owner's SMS as an answer to a booking request, if it is one.
pub fn parse_owner_answer(body: &str) -> Option<OwnerAnswer> {
    let words: Vec<String> = body
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '.' | ':' | '!' | '#'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let [answer, code] = words.as_slice() else {
        return None;
    };
    let confirm = match answer.as_str() {
        "YES" | "Y" => true,
        "NO" | "N" => false,
        _ => return None,
    };
    (code.len() == CODE_DIGITS && code.bytes().all(|b| b.is_ascii_digit())).then(|| OwnerAnswer {
        confirm,
        code: code.clone(),
    })
}

/// Digits in a request code.
pub const CODE_DIGITS: usize = 6;

/// A fresh random code.
pub(crate) fn new_code() -> String {
    use rand::Rng;
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// Why an answer could not settle a request.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// No request has this code (or it expired).
    #[error("no booking request has the code {0}")]
    Unknown(String),
    /// It was answered before.
    #[error("that booking request was already {0}")]
    AlreadySettled(&'static str),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// What settling did, for the owner's confirmation text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// The text to answer the owner with.
    pub owner_text: String,
}

/// Settles request `answer.code` as the owner answered. The status changes first, by a
/// conditional write (so a repeated or concurrent answer does nothing twice); then the event is
/// kept (renamed) or deleted, and the guest is texted unless they opted out. Calendar or SMS
/// failures after the status changed are reported in the owner's text, not retried.
pub async fn settle(ctx: &ToolContext, answer: &OwnerAnswer) -> Result<Settled, SettleError> {
    let pk = Keys::booking(&answer.code);
    let request: BookingRequest = match ctx.store.get_value(&pk, Keys::META).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Err(SettleError::Unknown(answer.code.clone())),
        Err(e) => return Err(e.into()),
    };
    let status = if answer.confirm {
        BookingStatus::Confirmed
    } else {
        BookingStatus::Declined
    };
    let word = |s: BookingStatus| match s {
        BookingStatus::Pending => "pending",
        BookingStatus::Confirmed => "confirmed",
        BookingStatus::Declined => "declined",
    };
    if request.status != BookingStatus::Pending {
        return Err(SettleError::AlreadySettled(word(request.status)));
    }
    let mut fields = Map::new();
    fields.insert("status".into(), Value::String(word(status).into()));
    let guards = [Guard::Equals(
        "status".into(),
        Value::String("pending".into()),
    )];
    match ctx
        .store
        .records()
        .update(
            &pk,
            Keys::META,
            fields,
            &guards,
            ctx.store.clock().now().unix_timestamp(),
        )
        .await
    {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => return Err(SettleError::AlreadySettled("answered")),
        Err(e) => return Err(e.into()),
    }
    let when = format!(
        "{} to {}",
        ctx.zone.show(request.start),
        ctx.zone.show(request.end)
    );
    let mut problems = Vec::new();
    let calendar = if answer.confirm {
        let patch = EventPatch {
            title: Some(request.title.clone()),
            ..EventPatch::default()
        };
        ctx.calendar
            .update_event(&request.event_id, &patch)
            .await
            .map(|_| ())
    } else {
        match ctx.calendar.delete_event(&request.event_id).await {
            Err(PortError::NotFound(_)) => Ok(()),
            other => other,
        }
    };
    if let Err(e) = calendar {
        tracing::error!(code = %answer.code, error = %e, "booking answer: calendar not updated");
        problems.push(format!("the calendar could not be updated ({e})"));
    }
    let guest_text = if answer.confirm {
        format!("Your booking for {when} is confirmed.")
    } else {
        format!("Sorry, the time you asked for ({when}) could not be booked.")
    };
    match ctx.store.is_sms_opted_out(&request.guest).await {
        Ok(false) => {
            if let Err(e) = ctx.messaging.send_sms(&request.guest, &guest_text).await {
                tracing::error!(code = %answer.code, error = %e, "booking answer: guest not texted");
                problems.push("the guest could not be texted".into());
            }
        }
        Ok(true) => problems.push("the guest has opted out of texts".into()),
        Err(e) => {
            tracing::error!(code = %answer.code, error = %e, "booking answer: opt-out unknown");
            problems.push("the guest was not texted (opt-out unknown)".into());
        }
    }
    let mut owner_text = format!(
        "{} {when} with {}.",
        if answer.confirm {
            "Confirmed"
        } else {
            "Declined"
        },
        request.title
    );
    if problems.is_empty() {
        owner_text.push_str(" The guest has been texted.");
    } else {
        owner_text.push_str(&format!(" But {}.", problems.join("; ")));
    }
    tracing::info!(code = %answer.code, status = word(status), "booking request settled");
    Ok(Settled { owner_text })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_answers_are_read_strictly() {
        assert_eq!(
            parse_owner_answer("YES 123456"),
            Some(OwnerAnswer {
                confirm: true,
                code: "123456".into()
            })
        );
        assert_eq!(
            parse_owner_answer(" no, 000042 "),
            Some(OwnerAnswer {
                confirm: false,
                code: "000042".into()
            })
        );
        assert_eq!(parse_owner_answer("yes"), None);
        assert_eq!(parse_owner_answer("YES 12345"), None);
        assert_eq!(parse_owner_answer("YES 123456 please"), None);
        assert_eq!(parse_owner_answer("maybe 123456"), None);
    }

    #[test]
    fn codes_have_six_digits() {
        for _ in 0..50 {
            let code = new_code();
            assert_eq!(code.len(), CODE_DIGITS);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
