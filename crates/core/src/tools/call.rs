//! `end_call` and `transfer_call`: they do nothing by themselves but ask the voice bridge to act
//! once the assistant's last words have played (hanging up before the goodbye is heard is a
//! classic bug of phone bots). `press_digits`: the bridge plays keypad tones in the call's own
//! audio, to get through a phone menu on a call the assistant placed.

use serde::Deserialize;
use serde_json::json;

use super::{CallEffect, ToolContext, ToolDef, ToolOutcome, parse_args};
use crate::keypad::KeySequence;

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
        ToolDef {
            name: "press_digits",
            description: "Press keys on the phone's keypad, for an automated phone menu (\"press 1 for sales\"). The tones are played on the call after what you are saying. Use it only when a recorded menu or system asks for keys, never to answer a person. After pressing, stay quiet and listen to the menu.",
            parameters: json!({"type": "object", "properties": {
                "digits": {"type": "string", "maxLength": 64,
                    "description": "Keys in order: 0-9, *, #, A-D; w waits half a second. At most 32 keys and waits, e.g. \"1\", \"2w1234#\"."}},
                "required": ["digits"], "additionalProperties": false}),
            // Pressing the same key again is a new press (menus repeat "press 1"): not a write
            // to deduplicate.
            writes: false,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DigitsArgs {
    digits: String,
}

pub(super) fn press_digits(arguments: &str) -> Result<ToolOutcome, ToolOutcome> {
    let args: DigitsArgs = parse_args("press_digits", arguments)?;
    let keys = KeySequence::parse(&args.digits)
        .map_err(|e| ToolOutcome::error(format!("press_digits: {e}")))?;
    Ok(ToolOutcome {
        result: json!({"ok": true, "pressed": keys.to_string(),
            "next": "the tones play after what you are saying; stay quiet and listen to the menu"}),
        is_error: false,
        effect: Some(CallEffect::PressKeys(keys)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keypad::Key;

    #[test]
    fn press_digits_parses_bounded_keys_into_an_effect() {
        let outcome = press_digits(r#"{"digits": "1w23#"}"#).unwrap();
        let Some(CallEffect::PressKeys(keys)) = &outcome.effect else {
            panic!("{outcome:?}")
        };
        assert_eq!(
            keys.keys().collect::<Vec<_>>()[..2],
            [Key::Digit(1), Key::Digit(2)]
        );
        assert_eq!(outcome.result["pressed"], "1w23#");
        for bad in [
            r#"{"digits": "12x"}"#,
            r#"{"digits": ""}"#,
            r#"{}"#,
            r#"{"digits": "1", "extra": 1}"#,
        ] {
            let refused = press_digits(bad).unwrap_err();
            assert!(refused.is_error, "{bad}");
        }
        let long = format!(r#"{{"digits": "{}"}}"#, "1".repeat(33));
        assert!(
            press_digits(&long).unwrap_err().result["error"]
                .as_str()
                .unwrap()
                .contains("32")
        );
    }
}
