//! Retries of write tools: an unfinished tool's outcome settled as unknown, and the same effect
//! asked again under a new tool call id answered with the first outcome
//! (`crate::store::typed::tools` keeps the records and markers).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{ErrorKind, ToolContext, ToolOutcome};
use crate::store::{Created, EffectClaim, ToolCallRecord};

/// Settles a record that stayed pending past its expiry as "outcome unknown" and answers with
/// whatever it holds now (the settlement, or the outcome that got there first).
pub(super) async fn settle_unknown(ctx: &ToolContext, pending: &ToolCallRecord) -> ToolOutcome {
    let unknown = ToolCallRecord::unknown_outcome(&pending.name);
    match ctx
        .store
        .settle_tool_call(&ctx.owner_pk, &pending.call_id, unknown.clone(), true)
        .await
    {
        Ok(Created::Existing(settled)) => ToolOutcome {
            result: settled.result,
            is_error: settled.is_error,
            effect: None,
        },
        Ok(Created::New) | Err(_) => ToolOutcome {
            result: unknown,
            is_error: true,
            effect: None,
        },
    }
}

/// The effect of a write tool: its name and arguments in canonical form (object keys sorted,
/// no whitespace), hashed. Two calls with the same effect send the same SMS twice.
pub fn effect_hash(name: &str, arguments: &Value) -> String {
    let mut hash = Sha256::new();
    hash.update(name.as_bytes());
    hash.update([0]);
    // serde_json's maps are ordered by key, so equal arguments serialise to equal text.
    hash.update(arguments.to_string().as_bytes());
    hex::encode(hash.finalize())
}

/// Claims the effect of write tool `name` with `arguments` for `call_id`. `None`: this call
/// may run the tool. `Some`: the same effect was asked within [`crate::store::TOOL_EFFECT_WINDOW`] under
/// another id; the answer is the first call's outcome ("already done"), "in progress" while it
/// runs, or its unknown outcome. A first call that failed for certain did nothing, so a retry
/// takes its claim over (conditionally: one retry wins) and runs.
pub(super) async fn claim_effect(
    ctx: &ToolContext,
    name: &str,
    arguments: &Value,
    call_id: &str,
) -> Option<ToolOutcome> {
    let hash = effect_hash(name, arguments);
    let unsafe_start = |e: crate::StoreError| {
        ToolOutcome::error(format!("{name} could not be started safely: {e}"))
    };
    for _ in 0..3 {
        let first_id = match ctx
            .store
            .claim_tool_effect(&ctx.owner_pk, &hash, call_id)
            .await
        {
            Ok(EffectClaim::Won) => return None,
            Ok(EffectClaim::Taken { call_id: first }) if first == call_id => return None,
            Ok(EffectClaim::Taken { call_id: first }) => first,
            Err(e) => return Some(unsafe_start(e)),
        };
        let first = match ctx.store.get_tool_call(&ctx.owner_pk, &first_id).await {
            Ok(first) => first,
            Err(e) => return Some(unsafe_start(e)),
        };
        let now = ctx.store.clock().now();
        let answer = match first {
            Some(first) if first.is_stale(now) => settle_unknown(ctx, &first).await,
            Some(first) if first.is_pending() => ToolOutcome::failure(
                ErrorKind::InProgress,
                format!(
                    "the same {name} (same arguments) is already running as tool call {first_id}; wait for its result"
                ),
            ),
            Some(first) if !failed_for_certain(&first) => {
                tracing::info!(
                    tool = name,
                    call_id,
                    first_call_id = first_id.as_str(),
                    "repeated effect answered with the first outcome"
                );
                let result = if first.is_error {
                    first.result
                } else {
                    json!({
                        "already_done": true,
                        "note": format!("this exact {name} was already done a moment ago (tool call {first_id}); it was not done again"),
                        "result": first.result,
                    })
                };
                ToolOutcome {
                    result,
                    is_error: first.is_error,
                    effect: None,
                }
            }
            // Failed for certain, or no record left: nothing was done, so this call may try.
            _ => match ctx
                .store
                .take_over_tool_effect(&ctx.owner_pk, &hash, &first_id, call_id)
                .await
            {
                Ok(true) => return None,
                Ok(false) => continue,
                Err(e) => return Some(unsafe_start(e)),
            },
        };
        return Some(answer);
    }
    Some(ToolOutcome::failure(
        ErrorKind::InProgress,
        format!("the same {name} is being retried concurrently; wait for its result"),
    ))
}

/// Whether a settled record is a failure that did nothing: an error whose outcome is not
/// unknown (a timeout or an unfinished tool may have acted).
fn failed_for_certain(record: &ToolCallRecord) -> bool {
    record.is_error && record.result["outcome"] != "unknown"
}
