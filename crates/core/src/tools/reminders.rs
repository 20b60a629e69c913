//! `schedule_reminder`, `list_reminders`, `cancel_reminder`: reminders the owner sets by voice,
//! SMS or REST (owner only: [`super::access`] never offers them to guests, and the dispatcher
//! refuses them).

use serde::Deserialize;
use serde_json::{Value, json};

use super::{ErrorKind, ToolContext, ToolDef, ToolOutcome, bounded, parse_args};
use crate::ports::PortError;
use crate::reminders::{
    EventLink, MAX_AHEAD, MAX_MESSAGE, MAX_MINUTES_BEFORE, Reminder, ReminderChannel, ReminderId,
    ReminderStatus,
};
use crate::store::{Created, PageRequest, StoreError};

/// Most reminders `list_reminders` shows.
const MAX_LISTED: u32 = 50;

/// The reminder tools' descriptions.
pub fn definitions() -> Vec<ToolDef> {
    vec![
        ToolDef {
            name: "schedule_reminder",
            description: "Remind the owner later by a phone call or a text: \"call me ten minutes before my dentist appointment\", \"text me tomorrow at 9 to renew the parking permit\". Give either `at` (a fixed time) or `event_id` with `minutes_before` (tied to a calendar event: it moves when the event moves and is cancelled when the event is deleted). For \"that meeting\" or \"my dentist appointment\", find the event with list_events first and pass its id exactly as list_events gave it; never invent an id. Confirm the time and channel with the owner.",
            parameters: json!({"type": "object", "properties": {
                "channel": {"type": "string", "enum": ["call", "sms"], "description": "call the owner, or text them"},
                "message": {"type": "string", "maxLength": MAX_MESSAGE, "description": "what to remind them of, in a few words"},
                "at": {"type": "string", "description": "local wall time in the user's time zone, like 2026-11-26T09:00 (no offset)"},
                "event_id": {"type": "string", "description": "the event's id from list_events"},
                "minutes_before": {"type": "integer", "minimum": 0, "maximum": MAX_MINUTES_BEFORE, "description": "with event_id: minutes before its start (default 0)"}
            }, "required": ["channel", "message"], "additionalProperties": false}),
            writes: true,
            voice_only: false,
        },
        ToolDef {
            name: "list_reminders",
            description: "List the owner's reminders that have not fired yet (with `include_done`, also fired, failed and cancelled ones).",
            parameters: json!({"type": "object", "properties": {
                "include_done": {"type": "boolean"}
            }, "additionalProperties": false}),
            writes: false,
            voice_only: false,
        },
        ToolDef {
            name: "cancel_reminder",
            description: "Cancel a reminder that has not fired yet, by its id from list_reminders or schedule_reminder.",
            parameters: json!({"type": "object", "properties": {
                "reminder_id": {"type": "string"}
            }, "required": ["reminder_id"], "additionalProperties": false}),
            writes: true,
            voice_only: false,
        },
    ]
}

/// A reminder as the model (and the REST API) sees it: times in local wall time.
pub fn reminder_view(ctx_zone: &super::clock_time::LocalZone, r: &Reminder) -> Value {
    json!({
        "id": r.id, "channel": r.channel, "message": r.message,
        "at": ctx_zone.show(r.fire_at), "status": r.status,
        "event": r.event.as_ref().map(|l| json!({
            "event_id": l.event_id, "title": l.title,
            "minutes_before": l.minutes_before, "event_start": ctx_zone.show(l.event_start),
        })),
        "note": r.note, "error": r.error,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleArgs {
    channel: ReminderChannel,
    message: String,
    at: Option<String>,
    event_id: Option<String>,
    minutes_before: Option<u32>,
}

pub(super) async fn schedule_reminder(
    ctx: &ToolContext,
    arguments: &str,
    call_id: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let args: ScheduleArgs = parse_args("schedule_reminder", arguments)?;
    bounded("message", &args.message, MAX_MESSAGE)?;
    let to = ctx
        .remembered_caller()
        .or(ctx.owner_number.as_ref())
        .cloned()
        .ok_or_else(|| {
            ToolOutcome::error("the owner's number is unknown (OWNER_NUMBERS is not set), so there is nobody to remind")
        })?;
    let now = ctx.store.clock().now();
    let (fire_at, event) = match (&args.at, &args.event_id) {
        (Some(at), None) => {
            if args.minutes_before.is_some() {
                return Err(ToolOutcome::error(
                    "`minutes_before` goes with `event_id`, not `at`",
                ));
            }
            let at = ctx
                .zone
                .resolve("at", at)
                .map_err(|e| ToolOutcome::error(e.0))?;
            (at, None)
        }
        (None, Some(event_id)) => {
            bounded("event_id", event_id, 1024)?;
            let minutes_before = args.minutes_before.unwrap_or(0);
            if minutes_before > MAX_MINUTES_BEFORE {
                return Err(ToolOutcome::error(format!(
                    "`minutes_before` must be at most {MAX_MINUTES_BEFORE}"
                )));
            }
            let found = ctx.calendar.get_event(event_id).await.map_err(|e| match e {
                PortError::NotFound(_) => ToolOutcome::failure(
                    ErrorKind::NotFound,
                    format!("there is no event with id {event_id}; find the event with list_events and use its id"),
                ),
                other => other.into(),
            })?;
            let link = EventLink {
                event_id: found.id.clone(),
                minutes_before,
                event_start: found.start,
                title: found.title.clone(),
            };
            (link.fire_time(found.start), Some(link))
        }
        _ => {
            return Err(ToolOutcome::error(
                "give exactly one of `at` (a fixed time) or `event_id` (a calendar event)",
            ));
        }
    };
    if fire_at <= now {
        return Err(ToolOutcome::error(format!(
            "that reminder would fire at {}, which has already passed; choose a later time",
            ctx.zone.show(fire_at)
        )));
    }
    if fire_at > now + MAX_AHEAD {
        return Err(ToolOutcome::error(
            "a reminder can be set at most a year ahead",
        ));
    }
    let reminder = Reminder {
        id: ReminderId::derive(&ctx.owner_pk, call_id),
        channel: args.channel,
        to,
        message: args.message.trim().to_owned(),
        fire_at,
        due: fire_at.unix_timestamp(),
        event,
        status: ReminderStatus::Pending,
        created_at: now,
        created_by: ctx.owner_pk.clone(),
        idempotency_key: call_id.to_owned(),
        fired_at: None,
        delivery_id: None,
        error: None,
        note: None,
    };
    let stored = match ctx
        .store
        .create_reminder(&reminder)
        .await
        .map_err(store_failure)?
    {
        Created::New => reminder,
        Created::Existing(first) => first,
    };
    if let Err(e) = ctx.reminder_alarm.set(&stored).await {
        // Nothing would fire it: take it back rather than keep a reminder that never comes.
        let _ = ctx
            .store
            .cancel_reminder(&stored.id, &format!("its alarm could not be set: {e}"))
            .await;
        return Err(e.into());
    }
    Ok(ToolOutcome::ok(
        json!({"scheduled": reminder_view(&ctx.zone, &stored)}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListArgs {
    #[serde(default)]
    include_done: bool,
}

pub(super) async fn list_reminders(
    ctx: &ToolContext,
    arguments: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let args: ListArgs = parse_args("list_reminders", arguments)?;
    let all = if args.include_done {
        ctx.store
            .list_reminders(&PageRequest::first(MAX_LISTED))
            .await
            .map_err(store_failure)?
            .items
    } else {
        ctx.store.pending_reminders().await.map_err(store_failure)?
    };
    let mut shown: Vec<&Reminder> = all.iter().take(MAX_LISTED as usize).collect();
    shown.sort_by_key(|r| r.fire_at);
    Ok(ToolOutcome::ok(json!({
        "reminders": shown.iter().map(|r| reminder_view(&ctx.zone, r)).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelArgs {
    reminder_id: String,
}

pub(super) async fn cancel_reminder(
    ctx: &ToolContext,
    arguments: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let args: CancelArgs = parse_args("cancel_reminder", arguments)?;
    let id = ReminderId::parse(args.reminder_id.trim())
        .map_err(|e| ToolOutcome::error(format!("`reminder_id`: {e}")))?;
    let cancelled = cancel_by_id(ctx, &id).await?;
    Ok(ToolOutcome::ok(
        json!({"cancelled": reminder_view(&ctx.zone, &cancelled)}),
    ))
}

/// Cancels reminder `id` and clears its alarm, with errors the model can act on.
async fn cancel_by_id(ctx: &ToolContext, id: &ReminderId) -> Result<Reminder, ToolOutcome> {
    match crate::reminders::cancel_by_owner(&ctx.store, &*ctx.reminder_alarm, id).await {
        Ok(cancelled) => Ok(cancelled),
        Err(StoreError::NotFound) => Err(ToolOutcome::failure(
            ErrorKind::NotFound,
            format!("there is no reminder {id}"),
        )),
        Err(StoreError::Conflict(_)) => {
            let status = ctx
                .store
                .get_reminder(id)
                .await
                .map(|r| r.status.as_str())
                .unwrap_or("gone");
            Err(ToolOutcome::error(format!(
                "reminder {id} cannot be cancelled: it is {status}"
            )))
        }
        Err(e) => Err(store_failure(e)),
    }
}

fn store_failure(e: StoreError) -> ToolOutcome {
    ToolOutcome::failure(
        ErrorKind::Upstream,
        format!("reminders are unavailable: {e}"),
    )
}
