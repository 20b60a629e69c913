//! `list_events`: the events of a day or a range.

use serde::Deserialize;
use serde_json::json;

use super::{MAX_EVENTS, view};
use crate::ports::TimeRange;
use crate::tools::{ToolContext, ToolOutcome, parse_args};

/// `list_events`'s arguments (also the query of `GET /calendar/events`): `day`, or `start`
/// and `end`, or neither (today).
#[derive(Debug, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListArgs {
    /// A local date like 2026-11-26.
    pub day: Option<String>,
    /// The range's start (local wall time like 2026-11-26T15:00), with `end`.
    pub start: Option<String>,
    /// The range's end (local wall time), with `start`.
    pub end: Option<String>,
    /// Only events whose text contains this.
    pub query: Option<String>,
}

pub(in crate::tools) async fn list_events(
    ctx: &ToolContext,
    arguments: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let args: ListArgs = parse_args("list_events", arguments)?;
    let err = |e: crate::tools::clock_time::TimeError| ToolOutcome::error(e.0);
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
