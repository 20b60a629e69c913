//! `delete_event`.

use serde::Deserialize;
use serde_json::json;

use crate::tools::{ToolContext, ToolOutcome, bounded, parse_args};

/// `delete_event`'s arguments.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteArgs {
    /// The event (from `list_events`).
    #[schema(min_length = 1, max_length = 1024)]
    pub event_id: String,
}

pub(in crate::tools) async fn delete_event(
    ctx: &ToolContext,
    arguments: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let args: DeleteArgs = parse_args("delete_event", arguments)?;
    bounded("event_id", &args.event_id, 1024)?;
    ctx.calendar.delete_event(&args.event_id).await?;
    let mut answer = json!({"deleted": args.event_id});
    match crate::reminders::cancel_for_event(&ctx.store, &*ctx.reminder_alarm, &args.event_id).await
    {
        Ok(cancelled) if !cancelled.is_empty() => {
            answer["reminders_cancelled"] = cancelled
                .iter()
                .map(|r| crate::tools::reminders::reminder_view(&ctx.zone, r))
                .collect();
        }
        Ok(_) => {}
        Err(e) => {
            // Its reminders find the event gone when due, and cancel themselves then.
            tracing::error!(error = %e, "reminders of a deleted event could not be cancelled");
        }
    }
    Ok(ToolOutcome::ok(answer))
}
