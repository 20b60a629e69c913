//! `create_event`.

use serde::Deserialize;
use serde_json::json;

use super::{
    MAX_ATTENDEES, MAX_TITLE, bounded_texts, check_duration, end_of, remember, reminders, view,
};
use crate::access::AccessLevel;
use crate::ports::NewEvent;
use crate::tools::{Channel, ErrorKind, ToolContext, ToolOutcome, bounded, parse_args};

/// `create_event`'s arguments (also the body of `POST /calendar/events`). Times are local wall
/// times in the assistant's zone, like `2026-11-26T15:00`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Review", "start": "2026-11-26T10:00", "duration_minutes": 45}))]
pub struct CreateArgs {
    /// What the event is.
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// When it starts (local wall time).
    pub start: String,
    /// When it ends (local wall time); or give `duration_minutes`.
    pub end: Option<String>,
    /// Its length when `end` is not given (default 30).
    #[schema(minimum = 5, maximum = 1440)]
    pub duration_minutes: Option<i64>,
    /// Free text.
    #[schema(min_length = 1, max_length = 2000)]
    pub description: Option<String>,
    /// Where.
    #[schema(min_length = 1, max_length = 2000)]
    pub location: Option<String>,
    /// Email addresses to invite (at most 20).
    #[serde(default)]
    #[schema(schema_with = super::attendees_schema)]
    pub attendees: Vec<String>,
    /// Popup reminders, minutes before the start (at most 5, each at most four weeks).
    #[schema(schema_with = super::reminders_schema)]
    pub reminders_minutes: Option<Vec<u32>>,
}

pub(in crate::tools) async fn create_event(
    ctx: &ToolContext,
    arguments: &str,
    call_id: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let args: CreateArgs = parse_args("create_event", arguments)?;
    check_duration(args.duration_minutes)?;
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
        crate::tools::guest::require_free(ctx, event.start, event.end).await?;
    }
    event.attendees = vec![sender.to_owned()];
    let note = format!("Booked by email from {sender}.");
    event.description = Some(match event.description.take() {
        Some(text) => format!("{note}\n{text}"),
        None => note,
    });
    Ok(())
}
