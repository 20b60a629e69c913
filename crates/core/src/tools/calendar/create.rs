//! `create_event`.

use serde::Deserialize;
use serde_json::json;

use super::{MAX_ATTENDEES, MAX_TITLE, bounded_texts, end_of, remember, reminders, view};
use crate::ports::NewEvent;
use crate::tools::{ToolContext, ToolOutcome, bounded, parse_args};

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

pub(in crate::tools) async fn create_event(
    ctx: &ToolContext,
    arguments: &str,
    call_id: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let args: CreateArgs = parse_args("create_event", arguments)?;
    bounded("title", &args.title, MAX_TITLE)?;
    bounded_texts(args.description.as_deref(), args.location.as_deref())?;
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
    let event = NewEvent {
        title: args.title.trim().to_owned(),
        start,
        end,
        time_zone: ctx.zone.name().to_owned(),
        description: args.description,
        location: args.location,
        attendees: args.attendees,
        reminders: reminders(args.reminders_minutes)?,
    };
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
