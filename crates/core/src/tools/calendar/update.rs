//! `update_event`: move, rename, re-describe an event or set its reminders.

use serde::Deserialize;
use serde_json::json;

use super::{MAX_TITLE, bounded_texts, end_of, remember, reminders, view};
use crate::ports::EventPatch;
use crate::tools::{ToolContext, ToolOutcome, bounded, parse_args};

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

pub(in crate::tools) async fn update_event(
    ctx: &ToolContext,
    arguments: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let args: UpdateArgs = parse_args("update_event", arguments)?;
    bounded("event_id", &args.event_id, 1024)?;
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
