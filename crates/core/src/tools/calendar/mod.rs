//! Calendar tools, one module each. Times in and out are local wall times in the assistant's
//! zone.
//!
//! - `list`: `list_events`; `create`: `create_event`; `update`: `update_event`;
//!   `delete`: `delete_event`; `free_time`: `find_free_time`.
//!
//! Here: their descriptions for the model, and what several of them share (the limits, the
//! event's view for the model, reminders, the end of an event, the memory note).

mod create;
mod delete;
mod free_time;
mod list;
mod update;

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::{ToolContext, ToolDef, ToolOutcome, bounded};
use crate::memory::MemoryNote;
use crate::ports::{CalendarEvent, Reminder, ReminderMethod};

pub use create::CreateArgs;
pub(super) use create::create_event;
pub use delete::DeleteArgs;
pub(super) use delete::delete_event;
pub(super) use free_time::find_free_time;
pub use list::ListArgs;
pub(super) use list::list_events;
pub use update::UpdateArgs;
pub(super) use update::update_event;

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

/// `duration_minutes`, when given, is 5 to 1440, whether or not `end` makes it unused: the
/// same rule the tool's description (and the OpenAPI contract) states.
fn check_duration(minutes: Option<i64>) -> Result<(), ToolOutcome> {
    match minutes {
        Some(m) if !(5..=1440).contains(&m) => Err(ToolOutcome::error(
            "`duration_minutes` must be between 5 and 1440",
        )),
        _ => Ok(()),
    }
}

/// The JSON Schema of `attendees`: at most [`MAX_ATTENDEES`] email addresses.
pub fn attendees_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("@"))
                .max_length(Some(254)),
        )
        .max_items(Some(MAX_ATTENDEES))
        .build()
}

/// The JSON Schema of `reminders_minutes`: at most [`MAX_REMINDERS`] minute counts of at most
/// four weeks, or null.
pub fn reminders_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(Some(40_320)),
        )
        .max_items(Some(MAX_REMINDERS))
        .build()
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

/// `description` and `location`, when given, are not blank and at most [`MAX_TEXT`] characters:
/// the same rule for a new event and a change to one.
fn bounded_texts(description: Option<&str>, location: Option<&str>) -> Result<(), ToolOutcome> {
    for (field, text) in [("description", description), ("location", location)] {
        if let Some(text) = text {
            bounded(field, text, MAX_TEXT)?;
        }
    }
    Ok(())
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
