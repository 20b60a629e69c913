//! What a guest does to reach the owner: `request_booking` and `leave_message`.

use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::{ToolContext, ToolDef, ToolOutcome, bounded, parse_args};
use crate::booking::{BookingRequest, BookingStatus, REQUESTED_MARK, new_code};
use crate::phone::PhoneNumber;
use crate::ports::{NewEvent, TimeRange};
use crate::store::{Keys, PutMode, StoreError};

const MAX_NAME: usize = 80;
const MAX_MESSAGE: usize = 1000;
/// How much of a message the owner's SMS notice quotes.
const NOTICE_QUOTE: usize = 600;

/// The guest tools' descriptions.
pub fn definitions() -> Vec<ToolDef> {
    let local = "local wall time in the owner's time zone, like 2026-11-26T15:00 (no offset)";
    vec![
        ToolDef {
            name: "request_booking",
            description: "Ask the owner for a meeting at a free time (check with find_free_time first). The owner confirms or declines by text, and the person is texted the answer. Give their name.",
            parameters: json!({"type": "object", "properties": {
                "name": {"type": "string", "description": "who is asking"},
                "start": {"type": "string", "description": local},
                "duration_minutes": {"type": "integer", "minimum": 5, "maximum": 240},
                "about": {"type": "string", "description": "what the meeting is about, in a few words"}
            }, "required": ["name", "start"], "additionalProperties": false}),
            writes: true,
            voice_only: false,
        },
        ToolDef {
            name: "leave_message",
            description: "Leave a message for the owner; they are texted a notice with it.",
            parameters: json!({"type": "object", "properties": {
                "name": {"type": "string", "description": "who the message is from"},
                "message": {"type": "string", "maxLength": MAX_MESSAGE}
            }, "required": ["message"], "additionalProperties": false}),
            writes: true,
            voice_only: false,
        },
    ]
}

/// One name on one line, bounded: it goes into an event title and the owner's SMS.
fn clean_name(name: &str) -> Result<String, ToolOutcome> {
    bounded("name", name, MAX_NAME)?;
    Ok(name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BookingArgs {
    name: String,
    start: String,
    duration_minutes: Option<i64>,
    about: Option<String>,
}

pub(super) async fn request_booking(
    ctx: &ToolContext,
    arguments: &str,
    call_id: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let args: BookingArgs = parse_args("request_booking", arguments)?;
    let name = clean_name(&args.name)?;
    if let Some(about) = &args.about {
        bounded("about", about, 200)?;
    }
    let guest = ctx.caller.clone().ok_or_else(|| {
        ToolOutcome::error("the person's number is unknown, so the answer could not be texted to them; take a message instead")
    })?;
    let owner = ctx.owner_number.clone().ok_or_else(|| {
        ToolOutcome::error("the owner cannot be reached by text on this line (OWNER_NUMBERS is not set); take a message instead")
    })?;
    let minutes = args.duration_minutes.unwrap_or(30);
    if !(5..=240).contains(&minutes) {
        return Err(ToolOutcome::error(
            "`duration_minutes` must be between 5 and 240",
        ));
    }
    let start = ctx
        .zone
        .resolve("start", &args.start)
        .map_err(|e| ToolOutcome::error(e.0))?;
    let end = start + Duration::minutes(minutes);
    if start <= ctx.store.clock().now() {
        return Err(ToolOutcome::error("`start` must be in the future"));
    }
    require_free(ctx, start, end).await?;
    let title = format!("{name} ({})", guest.as_str());
    let event = NewEvent {
        title: format!("{REQUESTED_MARK}{title}"),
        start,
        end,
        time_zone: ctx.zone.name().to_owned(),
        description: Some(format!(
            "Requested by {name} ({}), awaiting your YES/NO by text.{}",
            guest.as_str(),
            args.about
                .as_deref()
                .map(|a| format!("\nAbout: {a}"))
                .unwrap_or_default()
        )),
        location: None,
        attendees: Vec::new(),
        reminders: None,
    };
    let request_id = format!("{}:{call_id}", ctx.owner_pk);
    let created = ctx.calendar.create_event(&event, &request_id).await?;
    let mut request = BookingRequest {
        code: String::new(),
        event_id: created.id.clone(),
        title,
        guest: guest.clone(),
        start,
        end,
        status: BookingStatus::Pending,
        requested_at: ctx.store.clock().now(),
    };
    store_with_fresh_code(ctx, &mut request).await?;
    let when = format!("{} to {}", ctx.zone.show(start), ctx.zone.show(end));
    let notice = format!(
        "Booking request from {name} ({}) for {when}{}. Reply YES {code} to confirm or NO {code} to decline.",
        guest.as_str(),
        args.about
            .as_deref()
            .map(|a| format!(" about \"{}\"", one_line(a, 200)))
            .unwrap_or_default(),
        code = request.code
    );
    if let Err(e) = ctx.messaging.send_sms(&owner, &notice).await {
        // Nobody would ever answer it: undo the request rather than leave it pending.
        tracing::error!(error = %e, "booking request: the owner could not be texted");
        let _ = ctx.calendar.delete_event(&created.id).await;
        let _ = ctx
            .store
            .delete_value(&Keys::booking(&request.code), Keys::META)
            .await;
        return Err(e.into());
    }
    Ok(ToolOutcome::ok(json!({
        "requested": {"start": ctx.zone.show(start), "end": ctx.zone.show(end)},
        "status": "waiting for the owner; the person will be texted the answer",
    })))
}

/// Refuses a guest's booking on a busy time: a guest never books over the owner's events.
pub(super) async fn require_free(
    ctx: &ToolContext,
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> Result<(), ToolOutcome> {
    let wanted = TimeRange { start, end };
    let busy = ctx.calendar.busy(wanted).await?;
    if busy.iter().any(|b| b.overlaps(&wanted)) {
        return Err(ToolOutcome::error(
            "that time is not free; offer free times from find_free_time",
        ));
    }
    Ok(())
}

/// Stores the request under a code no other request holds.
async fn store_with_fresh_code(
    ctx: &ToolContext,
    request: &mut BookingRequest,
) -> Result<(), ToolOutcome> {
    for _ in 0..5 {
        request.code = new_code();
        match ctx
            .store
            .put_value(
                &Keys::booking(&request.code),
                Keys::META,
                request,
                ctx.store.retention().calls,
                PutMode::IfAbsent,
            )
            .await
        {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => {
                return Err(ToolOutcome::error(format!(
                    "the request could not be stored: {e}"
                )));
            }
        }
    }
    Err(ToolOutcome::error(
        "the request could not be stored: no free code",
    ))
}

/// A message a guest left (`INBOX` / `MSG#<time>#<tool call id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnerMessage {
    /// The guest's number, when known.
    pub from: Option<PhoneNumber>,
    /// The name they gave.
    pub name: Option<String>,
    /// The message.
    pub text: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageArgs {
    name: Option<String>,
    message: String,
}

fn one_line(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect()
}

pub(super) async fn leave_message(
    ctx: &ToolContext,
    arguments: &str,
    call_id: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let args: MessageArgs = parse_args("leave_message", arguments)?;
    bounded("message", &args.message, MAX_MESSAGE)?;
    let name = args.name.as_deref().map(clean_name).transpose()?;
    let now = ctx.store.clock().now();
    let message = OwnerMessage {
        from: ctx.caller.clone(),
        name: name.clone(),
        text: args.message.trim().to_owned(),
        at: now,
    };
    ctx.store
        .put_value(
            Keys::OWNER_INBOX,
            &Keys::message(now, call_id),
            &message,
            ctx.store.retention().calls,
            PutMode::IfAbsent,
        )
        .await
        .map_err(|e| ToolOutcome::error(format!("the message could not be kept: {e}")))?;
    let Some(owner) = &ctx.owner_number else {
        return Ok(ToolOutcome::ok(
            json!({"kept": true, "owner_texted": false}),
        ));
    };
    let who = match (&name, &ctx.caller) {
        (Some(n), Some(c)) => format!("{n} ({})", c.as_str()),
        (Some(n), None) => n.clone(),
        (None, Some(c)) => c.as_str().to_owned(),
        (None, None) => "an unknown caller".into(),
    };
    let notice = format!(
        "Message from {who}: \"{}\"",
        one_line(&message.text, NOTICE_QUOTE)
    );
    let texted = ctx.messaging.send_sms(owner, &notice).await.is_ok();
    Ok(ToolOutcome::ok(
        json!({"kept": true, "owner_texted": texted}),
    ))
}
