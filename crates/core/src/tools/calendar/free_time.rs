//! `find_free_time`: free slots inside working hours.

use serde::Deserialize;
use serde_json::json;
use time::Duration;

use crate::ports::TimeRange;
use crate::tools::{ToolContext, ToolOutcome, parse_args};

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

pub(in crate::tools) async fn find_free_time(
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
