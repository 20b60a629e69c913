//! Calendar tools. Times in and out are local wall times in the assistant's zone.

use serde::Deserialize;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::{Channel, ErrorKind, ToolContext, ToolDef, ToolOutcome, bounded, parse_args};
use crate::access::AccessLevel;
use crate::memory::MemoryNote;
use crate::ports::{CalendarEvent, EventPatch, NewEvent, Reminder, ReminderMethod, TimeRange};

const MAX_TITLE: usize = 200;
const MAX_TEXT: usize = 2000;
const MAX_ATTENDEES: usize = 20;
const MAX_REMINDERS: usize = 5;
const MAX_EVENTS: u32 = 50;

/// The calendar tools' descriptions.
pub fn definitions() -> Vec<ToolDef> {
    let local = "local wall time in the user's time zone, like 2026-11-26T15:00 (no offset)";
    vec![
        ToolDef {
            name: "list_events",
            description: "List calendar events. Give `day` for one day, or `start` and `end` for a range; with neither, today.",
            parameters: json!({"type": "object", "properties": {
                "day": {"type": "string", "description": "a local date like 2026-11-26"},
                "start": {"type": "string", "description": local},
                "end": {"type": "string", "description": local},
                "query": {"type": "string", "description": "only events whose text contains this"}
            }, "additionalProperties": false}),
            writes: false,
            voice_only: false,
        },
        ToolDef {
            name: "create_event",
            description: "Create a calendar event. Confirm title and time with the user first. Give `end` or `duration_minutes` (default 30).",
            parameters: json!({"type": "object", "properties": {
                "title": {"type": "string"},
                "start": {"type": "string", "description": local},
                "end": {"type": "string", "description": local},
                "duration_minutes": {"type": "integer", "minimum": 5, "maximum": 1440},
                "description": {"type": "string"},
                "location": {"type": "string"},
                "attendees": {"type": "array", "items": {"type": "string", "description": "email address"}},
                "reminders_minutes": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 40320},
                    "description": "popup reminders, minutes before the start"}
            }, "required": ["title", "start"], "additionalProperties": false}),
            writes: true,
            voice_only: false,
        },
        ToolDef {
            name: "update_event",
            description: "Change an event: move it (`start`, and `end` or `duration_minutes`), rename it, or set its reminders (\"set a reminder for that meeting\"). Use the id from list_events or from what you remember.",
            parameters: json!({"type": "object", "properties": {
                "event_id": {"type": "string"},
                "title": {"type": "string"},
                "start": {"type": "string", "description": local},
                "end": {"type": "string", "description": local},
                "duration_minutes": {"type": "integer", "minimum": 5, "maximum": 1440},
                "location": {"type": "string"},
                "description": {"type": "string"},
                "reminders_minutes": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 40320}}
            }, "required": ["event_id"], "additionalProperties": false}),
            writes: true,
            voice_only: false,
        },
        ToolDef {
            name: "delete_event",
            description: "Cancel (delete) an event. Confirm with the user first.",
            parameters: json!({"type": "object", "properties": {"event_id": {"type": "string"}},
                "required": ["event_id"], "additionalProperties": false}),
            writes: true,
            voice_only: false,
        },
        ToolDef {
            name: "find_free_time",
            description: "Find free slots of at least `duration_minutes` between `start` and `end`, within working hours (default 09:00–18:00 local).",
            parameters: json!({"type": "object", "properties": {
                "start": {"type": "string", "description": local},
                "end": {"type": "string", "description": local},
                "duration_minutes": {"type": "integer", "minimum": 5, "maximum": 1440},
                "day_starts": {"type": "string", "description": "HH:MM, default 09:00"},
                "day_ends": {"type": "string", "description": "HH:MM, default 18:00"}
            }, "required": ["start", "end", "duration_minutes"], "additionalProperties": false}),
            writes: false,
            voice_only: false,
        },
    ]
}

fn view(ctx: &ToolContext, e: &CalendarEvent) -> Value {
    json!({
        "id": e.id, "title": e.title,
        "start": ctx.zone.show(e.start), "end": ctx.zone.show(e.end),
        "location": e.location, "attendees": e.attendees,
        "reminders_minutes": e.reminders.as_ref().map(|r| r.iter().map(|r| r.minutes).collect::<Vec<_>>()),
    })
}

fn reminders(field: Option<Vec<u32>>) -> Result<Option<Vec<Reminder>>, ToolOutcome> {
    let Some(minutes) = field else {
        return Ok(None);
    };
    if minutes.len() > MAX_REMINDERS {
        return Err(ToolOutcome::error(format!(
            "`reminders_minutes` allows at most {MAX_REMINDERS} reminders"
        )));
    }
    if let Some(m) = minutes.iter().find(|m| **m > 40_320) {
        return Err(ToolOutcome::error(format!(
            "`reminders_minutes`: {m} is more than four weeks"
        )));
    }
    Ok(Some(
        minutes
            .into_iter()
            .map(|minutes| Reminder {
                method: ReminderMethod::Popup,
                minutes,
            })
            .collect(),
    ))
}

fn end_of(
    ctx: &ToolContext,
    start: OffsetDateTime,
    end: Option<&str>,
    minutes: Option<i64>,
) -> Result<OffsetDateTime, ToolOutcome> {
    let end = match (end, minutes) {
        (Some(end), _) => ctx
            .zone
            .resolve("end", end)
            .map_err(|e| ToolOutcome::error(e.0))?,
        (None, Some(m)) if (5..=1440).contains(&m) => start + Duration::minutes(m),
        (None, Some(_)) => {
            return Err(ToolOutcome::error(
                "`duration_minutes` must be between 5 and 1440",
            ));
        }
        (None, None) => start + Duration::minutes(30),
    };
    if end <= start {
        return Err(ToolOutcome::error("`end` must be after `start`"));
    }
    Ok(end)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListArgs {
    day: Option<String>,
    start: Option<String>,
    end: Option<String>,
    query: Option<String>,
}

pub(super) async fn list_events(
    ctx: &ToolContext,
    arguments: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let args: ListArgs = parse_args("list_events", arguments)?;
    let err = |e: super::clock_time::TimeError| ToolOutcome::error(e.0);
    let range = match (&args.day, &args.start, &args.end) {
        (Some(day), None, None) => {
            let at = ctx.zone.resolve("day", day).map_err(err)?;
            let (start, end) = ctx.zone.day_bounds(at).map_err(err)?;
            TimeRange { start, end }
        }
        (None, Some(start), Some(end)) => {
            let start = ctx.zone.resolve("start", start).map_err(err)?;
            let end = ctx.zone.resolve("end", end).map_err(err)?;
            if end <= start {
                return Err(ToolOutcome::error("`end` must be after `start`"));
            }
            TimeRange { start, end }
        }
        (None, None, None) => {
            let (start, end) = ctx.zone.day_bounds(ctx.store.clock().now()).map_err(err)?;
            TimeRange { start, end }
        }
        _ => {
            return Err(ToolOutcome::error(
                "give either `day`, or both `start` and `end`",
            ));
        }
    };
    let events = ctx
        .calendar
        .list_events(range, args.query.as_deref(), MAX_EVENTS)
        .await?;
    Ok(ToolOutcome::ok(json!({
        "time_zone": ctx.zone.name(),
        "from": ctx.zone.show(range.start), "to": ctx.zone.show(range.end),
        "events": events.iter().map(|e| view(ctx, e)).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateArgs {
    title: String,
    start: String,
    end: Option<String>,
    duration_minutes: Option<i64>,
    description: Option<String>,
    location: Option<String>,
    #[serde(default)]
    attendees: Vec<String>,
    reminders_minutes: Option<Vec<u32>>,
}

pub(super) async fn create_event(
    ctx: &ToolContext,
    arguments: &str,
    call_id: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let args: CreateArgs = parse_args("create_event", arguments)?;
    bounded("title", &args.title, MAX_TITLE)?;
    for (field, text) in [
        ("description", &args.description),
        ("location", &args.location),
    ] {
        if let Some(text) = text {
            bounded(field, text, MAX_TEXT)?;
        }
    }
    if args.attendees.len() > MAX_ATTENDEES
        || args
            .attendees
            .iter()
            .any(|a| !a.contains('@') || a.len() > 254)
    {
        return Err(ToolOutcome::error(format!(
            "`attendees` must be at most {MAX_ATTENDEES} email addresses"
        )));
    }
    let start = ctx
        .zone
        .resolve("start", &args.start)
        .map_err(|e| ToolOutcome::error(e.0))?;
    let end = end_of(ctx, start, args.end.as_deref(), args.duration_minutes)?;
    let mut event = NewEvent {
        title: args.title.trim().to_owned(),
        start,
        end,
        time_zone: ctx.zone.name().to_owned(),
        description: args.description,
        location: args.location,
        attendees: args.attendees,
        reminders: reminders(args.reminders_minutes)?,
    };
    if ctx.channel() == Channel::Email {
        email_event(ctx, &mut event).await?;
    } else if ctx.access == AccessLevel::Guest {
        return Err(ToolOutcome::failure(
            ErrorKind::NotAllowed,
            "create_event is not available in this conversation",
        ));
    }
    let request_id = format!("{}:{call_id}", ctx.owner_pk);
    let created = ctx.calendar.create_event(&event, &request_id).await?;
    remember(
        ctx,
        "event_created",
        format!(
            "Created \"{}\" at {}",
            created.title,
            ctx.zone.show(created.start)
        ),
        &created,
    )
    .await;
    Ok(ToolOutcome::ok(json!({"created": view(ctx, &created)})))
}

/// An event the email processor creates: it invites the sender and nobody else, whoever the
/// sender is (a forged `From` of the owner's address gets no further than the owner's own
/// address), and it says who booked it. A guest's takes a free slot only. Anything else is
/// refused, not silently changed, so the refusal is visible in the record.
async fn email_event(ctx: &ToolContext, event: &mut NewEvent) -> Result<(), ToolOutcome> {
    let Some(sender) = ctx.email_sender.as_deref() else {
        return Err(ToolOutcome::error("the email's sender is unknown"));
    };
    if event
        .attendees
        .iter()
        .any(|a| !a.trim().eq_ignore_ascii_case(sender))
    {
        tracing::warn!(
            tool = "create_event",
            access = ctx.access.as_str(),
            "tool refused: an emailed event may invite only the sender"
        );
        return Err(ToolOutcome::failure(
            ErrorKind::NotAllowed,
            "the only attendee allowed is the sender of the email",
        ));
    }
    if ctx.access == AccessLevel::Guest {
        super::guest::require_free(ctx, event.start, event.end).await?;
    }
    event.attendees = vec![sender.to_owned()];
    let note = format!("Booked by email from {sender}.");
    event.description = Some(match event.description.take() {
        Some(text) => format!("{note}\n{text}"),
        None => note,
    });
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateArgs {
    event_id: String,
    title: Option<String>,
    start: Option<String>,
    end: Option<String>,
    duration_minutes: Option<i64>,
    location: Option<String>,
    description: Option<String>,
    reminders_minutes: Option<Vec<u32>>,
}

pub(super) async fn update_event(
    ctx: &ToolContext,
    arguments: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let args: UpdateArgs = parse_args("update_event", arguments)?;
    bounded("event_id", &args.event_id, 1024)?;
    if let Some(title) = &args.title {
        bounded("title", title, MAX_TITLE)?;
    }
    let mut patch = EventPatch {
        title: args.title,
        location: args.location,
        description: args.description,
        reminders: reminders(args.reminders_minutes)?,
        ..EventPatch::default()
    };
    if let Some(start) = &args.start {
        let start = ctx
            .zone
            .resolve("start", start)
            .map_err(|e| ToolOutcome::error(e.0))?;
        // Moving keeps the length unless a new end or duration is given.
        let minutes = match (&args.end, args.duration_minutes) {
            (None, None) => {
                let current = ctx.calendar.get_event(&args.event_id).await?;
                Some((current.end - current.start).whole_minutes().max(5))
            }
            (_, m) => m,
        };
        patch.end = Some(end_of(ctx, start, args.end.as_deref(), minutes)?);
        patch.start = Some(start);
        patch.time_zone = Some(ctx.zone.name().to_owned());
    } else if args.end.is_some() || args.duration_minutes.is_some() {
        return Err(ToolOutcome::error("to change the length, give `start` too"));
    }
    let updated = ctx.calendar.update_event(&args.event_id, &patch).await?;
    remember(
        ctx,
        "event_updated",
        format!(
            "Updated \"{}\", now at {}",
            updated.title,
            ctx.zone.show(updated.start)
        ),
        &updated,
    )
    .await;
    Ok(ToolOutcome::ok(json!({"updated": view(ctx, &updated)})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteArgs {
    event_id: String,
}

pub(super) async fn delete_event(
    ctx: &ToolContext,
    arguments: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let args: DeleteArgs = parse_args("delete_event", arguments)?;
    bounded("event_id", &args.event_id, 1024)?;
    ctx.calendar.delete_event(&args.event_id).await?;
    Ok(ToolOutcome::ok(json!({"deleted": args.event_id})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FreeArgs {
    start: String,
    end: String,
    duration_minutes: i64,
    day_starts: Option<String>,
    day_ends: Option<String>,
}

fn minutes_of_day(field: &str, text: Option<&str>, default: i64) -> Result<i64, ToolOutcome> {
    let Some(text) = text else { return Ok(default) };
    let bad = || ToolOutcome::error(format!("`{field}` must be HH:MM, got '{text}'"));
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(0..24).contains(&h) || !(0..60).contains(&m) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

pub(super) async fn find_free_time(
    ctx: &ToolContext,
    arguments: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let args: FreeArgs = parse_args("find_free_time", arguments)?;
    if !(5..=1440).contains(&args.duration_minutes) {
        return Err(ToolOutcome::error(
            "`duration_minutes` must be between 5 and 1440",
        ));
    }
    let from = ctx
        .zone
        .resolve("start", &args.start)
        .map_err(|e| ToolOutcome::error(e.0))?;
    let to = ctx
        .zone
        .resolve("end", &args.end)
        .map_err(|e| ToolOutcome::error(e.0))?;
    if to <= from || to - from > Duration::days(31) {
        return Err(ToolOutcome::error(
            "`end` must be after `start`, at most 31 days later",
        ));
    }
    let opens = minutes_of_day("day_starts", args.day_starts.as_deref(), 9 * 60)?;
    let closes = minutes_of_day("day_ends", args.day_ends.as_deref(), 18 * 60)?;
    let busy = ctx
        .calendar
        .busy(TimeRange {
            start: from,
            end: to,
        })
        .await?;
    let need = Duration::minutes(args.duration_minutes);
    let mut slots = Vec::new();
    // Walk the range in 15-minute steps inside working hours; good enough for a phone answer.
    let mut at = from;
    while at + need <= to && slots.len() < 5 {
        let local = ctx.zone.show(at);
        let minute = local
            .get(11..16)
            .map(|hm| minutes_of_day("start", Some(hm), 0).unwrap_or(0))
            .unwrap_or(0);
        let candidate = TimeRange {
            start: at,
            end: at + need,
        };
        let in_hours = minute >= opens && minute + args.duration_minutes <= closes;
        if in_hours && !busy.iter().any(|b| b.overlaps(&candidate)) {
            slots.push(json!({"start": ctx.zone.show(candidate.start), "end": ctx.zone.show(candidate.end)}));
            at = candidate.end;
        } else {
            at += Duration::minutes(15);
        }
    }
    Ok(ToolOutcome::ok(
        json!({"time_zone": ctx.zone.name(), "free": slots}),
    ))
}

/// Notes the action in the caller's memory, so a later "that meeting" can be resolved; only
/// for a verified caller (an unverified one leaves no memory).
async fn remember(ctx: &ToolContext, kind: &str, text: String, event: &CalendarEvent) {
    let Some(caller) = ctx.remembered_caller() else {
        return;
    };
    let note = MemoryNote {
        at: ctx.store.clock().now(),
        kind: kind.into(),
        text,
        data: json!({"event_id": event.id, "title": event.title, "start": ctx.zone.show(event.start)}),
    };
    if let Err(e) = ctx.store.add_note(caller, &note).await {
        tracing::warn!(error = %e, "could not remember the calendar action");
    }
}
