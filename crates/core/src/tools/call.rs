//! `end_call` and `transfer_call`: they do nothing by themselves but ask the voice bridge to act
//! once the assistant's last words have played (hanging up before the goodbye is heard is a
//! classic bug of phone bots).

use serde::Deserialize;
use serde_json::json;

use super::{CallEffect, ToolContext, ToolDef, ToolOutcome, parse_args};

/// The call-control tools' descriptions.
pub fn definitions() -> Vec<ToolDef> {
    vec![
        ToolDef {
            name: "end_call",
            description: "Hang up. Call this when the caller is done or says goodbye; then say a short goodbye, and the call ends after it.",
            parameters: json!({"type": "object", "properties": {"reason": {"type": "string"}}, "additionalProperties": false}),
            writes: true,
            voice_only: true,
        },
        ToolDef {
            name: "transfer_call",
            description: "Transfer the caller to a human colleague. Tell them you are transferring them; the transfer happens after you speak.",
            parameters: json!({"type": "object", "properties": {"reason": {"type": "string"}}, "additionalProperties": false}),
            writes: true,
            voice_only: true,
        },
    ]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonArgs {
    #[allow(dead_code)]
    reason: Option<String>,
}

pub(super) fn end_call(_ctx: &ToolContext, arguments: &str) -> Result<ToolOutcome, ToolOutcome> {
    let _: ReasonArgs = parse_args("end_call", arguments)?;
    Ok(ToolOutcome {
        result: json!({"ok": true, "next": "say a short goodbye; the call ends after it"}),
        is_error: false,
        effect: Some(CallEffect::EndCall),
    })
}

pub(super) fn transfer_call(
    ctx: &ToolContext,
    arguments: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let _: ReasonArgs = parse_args("transfer_call", arguments)?;
    let Some(to) = ctx.transfer_number.clone() else {
        return Err(ToolOutcome::error(
            "no human is available for transfer on this line (TRANSFER_NUMBER is not set)",
        ));
    };
    Ok(ToolOutcome {
        result: json!({"ok": true, "next": "tell the caller you are transferring them now"}),
        is_error: false,
        effect: Some(CallEffect::Transfer(to)),
    })
}
