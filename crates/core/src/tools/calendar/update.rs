//! `update_event`: move, rename, re-describe an event or set its reminders.

use serde::Deserialize;
use serde_json::json;

use super::{MAX_TITLE, bounded_texts, check_duration, end_of, remember, reminders, view};
use crate::ports::EventPatch;
use crate::tools::{ToolContext, ToolOutcome, bounded, parse_args};

/// `update_event`'s arguments. `PATCH /calendar/events/{id}` takes them without `event_id`
/// (the path gives it).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateArgs {
    /// The event (from `list_events`).
    #[schema(min_length = 1, max_length = 1024)]
    pub event_id: String,
    /// A new title.
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    /// A new start (local wall time); the length is kept unless `end` or `duration_minutes`
    /// is given.
    pub start: Option<String>,
    /// A new end (local wall time), with `start`.
    pub end: Option<String>,
    /// A new length, with `start`.
    #[schema(minimum = 5, maximum = 1440)]
    pub duration_minutes: Option<i64>,
    /// A new location.
    #[schema(min_length = 1, max_length = 2000)]
    pub location: Option<String>,
    /// A new description.
    #[schema(min_length = 1, max_length = 2000)]
    pub description: Option<String>,
    /// New popup reminders, minutes before the start.
    #[schema(schema_with = super::reminders_schema)]
    pub reminders_minutes: Option<Vec<u32>>,
}

pub(in crate::tools) async fn update_event(
    ctx: &ToolContext,
    arguments: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let args: UpdateArgs = parse_args("update_event", arguments)?;
    bounded("event_id", &args.event_id, 1024)?;
    check_duration(args.duration_minutes)?;
    if let Some(title) = &args.title {
        bounded("title", title, MAX_TITLE)?;
    }
    bounded_texts(args.description.as_deref(), args.location.as_deref())?;
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
    let moves = patch.start.is_some() || patch.title.is_some();
    let updated = ctx.calendar.update_event(&args.event_id, &patch).await?;
    let mut answer = json!({"updated": view(ctx, &updated)});
    if moves {
        match crate::reminders::follow_event(&ctx.store, &*ctx.reminder_alarm, &updated).await {
            Ok(moved) if !moved.is_empty() => {
                answer["reminders_moved"] = moved
                    .iter()
                    .map(|r| crate::tools::reminders::reminder_view(&ctx.zone, r))
                    .collect();
            }
            Ok(_) => {}
            Err(e) => {
                // The event moved; its reminders are re-checked against it at fire time.
                tracing::error!(error = %e, "reminders could not follow their event");
                answer["reminders_note"] = json!(
                    "reminders tied to this event could not be moved now; they are re-checked against the event when due"
                );
            }
        }
    }
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
    Ok(ToolOutcome::ok(answer))
}
