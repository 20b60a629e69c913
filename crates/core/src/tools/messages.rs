//! `send_sms` and `send_email`.

use serde::Deserialize;
use serde_json::json;

use super::{ErrorKind, ToolContext, ToolDef, ToolOutcome, bounded, parse_args};
use crate::access::AccessLevel;
use crate::mail_address;
use crate::phone::PhoneNumber;
use crate::ports::OutgoingEmail;

/// Most recipients one `send_email` may have, counting every address in every `to` string.
pub const MAX_RECIPIENTS: usize = 20;

/// The messaging tools' descriptions.
pub fn definitions() -> Vec<ToolDef> {
    vec![
        ToolDef {
            name: "send_sms",
            description: "Send a text message. Without `to`, it goes to the person you are talking with. Read the text back to them first.",
            parameters: json!({"type": "object", "properties": {
                "to": {"type": "string", "description": "E.164 number like +14155550123"},
                "body": {"type": "string", "maxLength": 1600}
            }, "required": ["body"], "additionalProperties": false}),
            writes: true,
            voice_only: false,
        },
        ToolDef {
            name: "forget_me",
            description: "Erase everything remembered about the person you are talking with (memory, notes, text history). Only when they ask for it; confirm first.",
            parameters: json!({"type": "object", "properties": {}, "additionalProperties": false}),
            writes: true,
            voice_only: false,
        },
        ToolDef {
            name: "send_email",
            description: "Send an email. Confirm the recipient and content with the user first.",
            parameters: json!({"type": "object", "properties": {
                "to": {"type": "array", "items": {"type": "string", "description": "one email address"}, "minItems": 1,
                    "description": "at most 20 addresses in all"},
                "subject": {"type": "string"},
                "body": {"type": "string"}
            }, "required": ["to", "subject", "body"], "additionalProperties": false}),
            writes: true,
            voice_only: false,
        },
    ]
}

/// `send_sms`'s arguments (also the body of `POST /sms/send`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": "+14155550123", "body": "Running 5 minutes late"}))]
pub struct SmsArgs {
    /// E.164 number like +14155550123; on a call or SMS thread, the person's own number when
    /// left out (over REST it is required).
    pub to: Option<String>,
    /// The text.
    #[schema(min_length = 1, max_length = 1600)]
    pub body: String,
}

pub(super) async fn send_sms(
    ctx: &ToolContext,
    arguments: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let args: SmsArgs = parse_args("send_sms", arguments)?;
    bounded("body", &args.body, 1600)?;
    let to = match &args.to {
        Some(raw) => {
            PhoneNumber::parse(raw).map_err(|e| ToolOutcome::error(format!("`to`: {e}")))?
        }
        None => ctx.caller.clone().ok_or_else(|| {
            ToolOutcome::error("`to` is required: the caller's number is unknown")
        })?,
    };
    if ctx.access == AccessLevel::Guest && ctx.caller.as_ref() != Some(&to) {
        tracing::warn!(
            tool = "send_sms",
            access = ctx.access.as_str(),
            "tool refused: a guest may be texted only at their own number"
        );
        return Err(ToolOutcome::failure(
            ErrorKind::NotAllowed,
            "texts can go only to the number of the person you are talking with",
        ));
    }
    if ctx.store.is_sms_opted_out(&to).await.unwrap_or(false) {
        return Err(ToolOutcome::error(
            "that number has opted out of text messages (STOP); do not text it",
        ));
    }
    let sent = ctx.messaging.send_sms(&to, &args.body).await?;
    Ok(ToolOutcome::ok(
        json!({"sent": {"sid": sent.sid, "to": to.masked(), "status": sent.status}}),
    ))
}

/// `send_email`'s arguments (also the body of `POST /email/send`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": ["ada@example.com"], "subject": "Notes", "body": "Attached below."}))]
pub struct EmailArgs {
    /// Recipients: each string one address or a list (`a@x.org, Ann <b@y.org>`); at most 20
    /// addresses in all.
    #[schema(min_items = 1, max_items = 20)]
    pub to: Vec<String>,
    /// The subject.
    #[schema(min_length = 1, max_length = 300)]
    pub subject: String,
    /// The plain-text body.
    #[schema(min_length = 1, max_length = 20000)]
    pub body: String,
}

pub(super) async fn send_email(
    ctx: &ToolContext,
    arguments: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let args: EmailArgs = parse_args("send_email", arguments)?;
    if args.to.is_empty() {
        return Err(ToolOutcome::error("`to` must name at least one address"));
    }
    // Every address inside every `to` string counts: the mail adapter sends to all of them.
    let to = mail_address::parse_recipients(&args.to, MAX_RECIPIENTS)
        .map_err(|e| ToolOutcome::error(format!("`to`: {e}")))?;
    bounded("subject", &args.subject, 300)?;
    bounded("body", &args.body, 20_000)?;
    let email = OutgoingEmail {
        to,
        subject: args.subject,
        body: args.body,
        in_reply_to: None,
        thread_id: None,
    };
    let sent = ctx.mail.send_email(&email).await?;
    Ok(ToolOutcome::ok(
        json!({"sent": {"id": sent.id, "to": email.to}}),
    ))
}

pub(super) async fn forget_me(
    ctx: &ToolContext,
    arguments: &str,
) -> Result<ToolOutcome, ToolOutcome> {
    let _: serde_json::Map<String, serde_json::Value> = parse_args("forget_me", arguments)?;
    let who = ctx.caller.as_ref().ok_or_else(|| {
        ToolOutcome::error("the person's number is unknown, so there is nothing to forget")
    })?;
    let erased = ctx.store.forget_caller(who).await.map_err(|e| {
        ToolOutcome::from(crate::ports::PortError::Upstream {
            service: "store",
            status: None,
            message: e.to_string(),
        })
    })?;
    Ok(ToolOutcome::ok(
        json!({"forgotten": true, "items_erased": erased}),
    ))
}
