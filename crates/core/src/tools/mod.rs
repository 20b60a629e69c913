//! The tool catalog: what the assistant can do, described for the model, with typed arguments,
//! and one dispatcher shared by voice calls, SMS and the REST agent.
//!
//! - [`calendar`]: `list_events`, `create_event`, `update_event`, `delete_event`, `find_free_time`.
//! - [`messages`]: `send_sms`, `send_email`, `forget_me`.
//! - [`call`]: `end_call`, `transfer_call`, `press_digits` (voice only).
//! - [`guest`]: `request_booking`, `leave_message` (what a guest does to reach the owner).
//! - [`reminders`]: `schedule_reminder`, `list_reminders`, `cancel_reminder` (owner only).
//! - [`clock_time`]: local wall times in the configured zone.
//! - [`access`]: which tools each access level may run ([`catalog_for`]), and the
//!   instructions that go with it.
//!
//! The catalog is enforced twice: the model is offered only its access level's tools, and the
//! dispatcher ([`run_tool`]) refuses any other, whatever the model asks.
//!
//! A guest's write tools are counted per number and UTC day (`GUEST_TOOL_WRITES_PER_DAY`,
//! [`crate::quota`]); past the limit the dispatcher refuses them with a `limit_reached` error.
//! Reads and call control (`end_call`, `transfer_call`) are never counted, nor are owners.
//!
//! Write tools are idempotent per (owner, tool call id): the id is claimed with a conditional
//! put before the tool runs, so a replayed event or a reconnect never sends two SMS or creates
//! two events. The model's retry under a NEW id is caught by the effect: the tool's name and
//! canonical arguments are claimed per conversation for [`crate::store::TOOL_EFFECT_WINDOW`], and a repeat
//! within it is answered with the first outcome instead of running again. A write tool that
//! never finishes (timed out, hung up) is settled as "outcome unknown" rather than left
//! pending: by the next attempt to use it, by the end of the call, or on read after
//! [`crate::store::TOOL_PENDING_EXPIRY`].

pub mod access;
pub mod calendar;
pub mod call;
pub mod clock_time;
pub mod guest;
pub mod messages;
pub mod reminders;
mod retries;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::access::{AccessLevel, Owners};
use crate::call::{CallSession, CallSid};
use crate::events::{EventType, Events};
use crate::phone::PhoneNumber;
use crate::ports::{Calendar, Mail, Messaging, PortError, ReminderAlarm, ToolSpec};
use crate::quota::{GuestQuotas, QuotaKind, QuotaTake, quota_identity};
use crate::store::{Created, Keys, PutMode, Store, ToolCallRecord};
pub use access::{Channel, access_instructions, catalog_for, chat_tools_for, realtime_tools_for};
use clock_time::LocalZone;
pub use retries::effect_hash;
use retries::{claim_effect, settle_unknown};

/// What a tool asks of the voice bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEffect {
    /// Hang up after the goodbye has played.
    EndCall,
    /// Hand the caller to this number after the announcement has played.
    Transfer(PhoneNumber),
    /// Play these keys' tones on the call now, after the audio already queued (a menu on the
    /// other end hears them as key presses); the call goes on.
    PressKeys(crate::keypad::KeySequence),
}

/// A tool's answer for the model, and what it asks of the call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutcome {
    /// JSON the model reads.
    pub result: Value,
    /// Whether the tool failed (`result.error` says why).
    pub is_error: bool,
    /// For voice calls: what to do after the assistant's next words.
    pub effect: Option<CallEffect>,
}

impl ToolOutcome {
    fn ok(result: Value) -> Self {
        Self {
            result,
            is_error: false,
            effect: None,
        }
    }

    /// A failure of the request itself (bad or missing argument) the model can act on.
    pub fn error(message: impl Into<String>) -> Self {
        Self::failure(ErrorKind::InvalidArguments, message)
    }

    fn failure(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            result: json!({"error": message.into(), "kind": kind}),
            is_error: true,
            effect: None,
        }
    }

    /// For a failed outcome, what kind of failure it was (the REST API maps it to a status).
    pub fn error_kind(&self) -> Option<ErrorKind> {
        if !self.is_error {
            return None;
        }
        serde_json::from_value(self.result["kind"].clone())
            .ok()
            .or(Some(ErrorKind::InvalidArguments))
    }
}

/// What kind of failure a tool had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The arguments were wrong; the message says which.
    InvalidArguments,
    /// The thing referred to does not exist.
    NotFound,
    /// The service behind the tool failed or is not authorised.
    Upstream,
    /// The same call is still running.
    InProgress,
    /// The conversation's access level does not allow it.
    NotAllowed,
    /// A guest's daily limit is reached (`GUEST_TOOL_WRITES_PER_DAY`).
    LimitReached,
}

impl From<PortError> for ToolOutcome {
    fn from(err: PortError) -> Self {
        let kind = match &err {
            PortError::NotFound(_) => ErrorKind::NotFound,
            PortError::Invalid(_) => ErrorKind::InvalidArguments,
            _ => ErrorKind::Upstream,
        };
        let mut outcome = Self::failure(kind, err.to_string());
        if let PortError::Timeout(_) = err {
            // The service may have acted before the answer was lost.
            outcome.result["outcome"] = json!("unknown");
        }
        outcome
    }
}

/// The adapters tools act through, chosen once at start-up by configuration.
#[derive(Clone)]
pub struct ToolPorts {
    /// Calendar adapter.
    pub calendar: Arc<dyn Calendar>,
    /// SMS adapter.
    pub messaging: Arc<dyn Messaging>,
    /// Mail adapter.
    pub mail: Arc<dyn Mail>,
    /// Call control (hang up, transfer).
    pub call_control: Arc<dyn crate::ports::CallControl>,
    /// The assistant's time zone.
    pub zone: LocalZone,
    /// Where `transfer_call` sends callers.
    pub transfer_number: Option<PhoneNumber>,
    /// Who the owner is: guests' booking requests and messages are texted to the first owner
    /// number.
    pub owners: Owners,
    /// Guests' daily limits; the dispatcher counts a guest's write tools against them.
    pub guest_quotas: GuestQuotas,
    /// Where `tool.called` and `call.transferred` go (the customer's webhooks).
    pub events: Events,
    /// Arranges for reminders to fire: EventBridge Scheduler, the local scheduler, or
    /// [`crate::ports::NoAlarm`] (reminders refused).
    pub reminder_alarm: Arc<dyn ReminderAlarm>,
}

/// What a voice call gets for its access level ([`ToolPorts::for_call`]).
pub struct CallTools {
    /// Tool definitions for the Realtime `session.update` (`{type: "function", …}`): only the
    /// access level's catalog.
    pub definitions: Vec<Value>,
    /// The context [`run_tool`] enforces the access level with.
    pub context: ToolContext,
    /// Instructions for the access level, to add to the assistant's base instructions.
    pub instructions: &'static str,
}

impl ToolPorts {
    /// An owner context for one conversation owned by `owner_pk`. Kept for the voice bridge
    /// until it reads the access level from the call row; everything else uses
    /// [`ToolPorts::context_as`] or [`ToolPorts::for_call`].
    pub fn context(
        &self,
        store: &Store,
        owner_pk: String,
        caller: Option<PhoneNumber>,
        voice: bool,
    ) -> ToolContext {
        self.context_as(store, AccessLevel::Owner, owner_pk, caller, voice)
    }

    /// A context for one conversation with access level `access`, its tool calls recorded
    /// under `owner_pk`; `caller` is the person's number (a guest may be texted only there).
    pub fn context_as(
        &self,
        store: &Store,
        access: AccessLevel,
        owner_pk: String,
        caller: Option<PhoneNumber>,
        voice: bool,
    ) -> ToolContext {
        ToolContext {
            calendar: self.calendar.clone(),
            messaging: self.messaging.clone(),
            mail: self.mail.clone(),
            store: store.clone(),
            zone: self.zone.clone(),
            transfer_number: self.transfer_number.clone(),
            owner_pk,
            caller,
            voice,
            access,
            email_sender: None,
            owner_number: self.owners.notify_number().cloned(),
            guest_quotas: self.guest_quotas,
            reminder_alarm: self.reminder_alarm.clone(),
            // A call's context is built from its row ([`ToolPorts::for_call`]), which knows
            // better; elsewhere only the owner's identity counts as established
            // (docs/security.md, "Memory").
            verified_caller: access == AccessLevel::Owner,
            events: self.events.clone(),
        }
    }

    /// The tools of a voice call, from its stored row (as [`Store::consume_stream_token`]
    /// returns it): the access level and the caller come from the row the signed webhook
    /// wrote, never from the stream's parameters.
    pub fn for_call(&self, store: &Store, call: &CallSession) -> CallTools {
        let mut context = self.context_as(
            store,
            call.access,
            Keys::call(&call.call_sid),
            call.from.clone(),
            true,
        );
        context.verified_caller = call.verified_caller;
        CallTools {
            definitions: realtime_tools_for(call.access),
            context,
            instructions: access_instructions(call.access),
        }
    }
}

/// Everything a tool may use.
#[derive(Clone)]
pub struct ToolContext {
    /// Calendar adapter.
    pub calendar: Arc<dyn Calendar>,
    /// SMS adapter.
    pub messaging: Arc<dyn Messaging>,
    /// Mail adapter.
    pub mail: Arc<dyn Mail>,
    /// The store (tool records, memory notes).
    pub store: Store,
    /// The assistant's time zone.
    pub zone: LocalZone,
    /// Where `transfer_call` sends callers.
    pub transfer_number: Option<PhoneNumber>,
    /// Partition the tool calls are recorded under: `CALL#<sid>`, `SMS#<number>`, `AGENT#<id>`.
    pub owner_pk: String,
    /// The person the assistant is serving, for memory notes.
    pub caller: Option<PhoneNumber>,
    /// Whether this is a phone call (call-control tools exist only there).
    pub voice: bool,
    /// What this conversation may do; [`run_tool`] refuses tools outside its catalog.
    pub access: AccessLevel,
    /// For the email processor: the sender's bare address. A guest's event may invite only it.
    pub email_sender: Option<String>,
    /// Where the owner is texted (booking requests, messages left by guests).
    pub owner_number: Option<PhoneNumber>,
    /// Guests' daily limits: a guest's write tools are counted against `tool_writes`.
    pub guest_quotas: GuestQuotas,
    /// Whether `caller` is proven, so their memory may be read and written: on a call, the
    /// row's [`CallSession::verified_caller`]; on SMS, the owner's numbers only.
    pub verified_caller: bool,
    /// Where `tool.called` and `call.transferred` go (the customer's webhooks).
    pub events: Events,
    /// Sets and clears reminders' alarms.
    pub reminder_alarm: Arc<dyn ReminderAlarm>,
}

impl ToolContext {
    /// The channel this conversation is on.
    pub fn channel(&self) -> Channel {
        if self.voice {
            Channel::Voice
        } else if self.email_sender.is_some() {
            Channel::Email
        } else {
            Channel::Text
        }
    }

    /// The number whose memory this conversation may read and write: the caller's, only when
    /// it is verified.
    pub fn remembered_caller(&self) -> Option<&PhoneNumber> {
        self.caller.as_ref().filter(|_| self.verified_caller)
    }

    /// Whether this conversation's access level may run `tool`.
    pub fn allows(&self, tool: &str) -> bool {
        access::allowed_names(self.access, self.channel()).contains(&tool)
    }
}

/// One tool's description.
pub struct ToolDef {
    /// Name the model calls.
    pub name: &'static str,
    /// What it does, for the model.
    pub description: &'static str,
    /// JSON schema of its arguments.
    pub parameters: Value,
    /// Whether running it twice would do something twice.
    pub writes: bool,
    /// Only on phone calls.
    pub voice_only: bool,
}

/// Every tool.
pub fn catalog() -> Vec<ToolDef> {
    let mut all = calendar::definitions();
    all.extend(messages::definitions());
    all.extend(guest::definitions());
    all.extend(reminders::definitions());
    all.extend(call::definitions());
    all
}

/// Every tool for a Realtime session: `{type: "function", name, description, parameters}`.
/// The owner's voice catalog is [`realtime_tools_for`]`(AccessLevel::Owner)`.
pub fn realtime_tools() -> Vec<Value> {
    catalog()
        .into_iter()
        .map(|t| json!({"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters}))
        .collect()
}

/// Every tool for the text agent (no call control); the per-access list is [`chat_tools_for`].
pub fn chat_tools() -> Vec<ToolSpec> {
    catalog()
        .into_iter()
        .filter(|t| !t.voice_only)
        .map(|t| ToolSpec {
            name: t.name.into(),
            description: t.description.into(),
            parameters: t.parameters,
        })
        .collect()
}

/// Largest arguments string accepted from the model.
pub const MAX_ARGUMENTS_BYTES: usize = 16 * 1024;

/// Parses a tool's arguments, naming the field at fault.
pub(crate) fn parse_args<T: DeserializeOwned>(
    tool: &str,
    arguments: &str,
) -> Result<T, ToolOutcome> {
    let text = if arguments.trim().is_empty() {
        "{}"
    } else {
        arguments
    };
    serde_json::from_str(text)
        .map_err(|e| ToolOutcome::error(format!("{tool}: invalid arguments: {e}")))
}

/// Checks a text argument's length.
pub(crate) fn bounded(field: &str, value: &str, max: usize) -> Result<(), ToolOutcome> {
    if value.trim().is_empty() {
        return Err(ToolOutcome::error(format!("`{field}` must not be empty")));
    }
    if value.chars().count() > max {
        return Err(ToolOutcome::error(format!(
            "`{field}` is longer than {max} characters"
        )));
    }
    Ok(())
}

/// Runs `name` with the model's `arguments` (a JSON string) for tool call `call_id`, records it,
/// and returns what to tell the model. Never panics on bad input.
pub async fn run_tool(
    ctx: &ToolContext,
    name: &str,
    arguments: &str,
    call_id: &str,
) -> ToolOutcome {
    let Some(def) = catalog()
        .into_iter()
        .find(|t| t.name == name && (ctx.voice || !t.voice_only))
    else {
        return ToolOutcome::error(format!("there is no tool named {name}"));
    };
    if !ctx.allows(name) {
        return refuse(ctx, name, arguments, call_id).await;
    }
    if arguments.len() > MAX_ARGUMENTS_BYTES {
        return ToolOutcome::error(format!(
            "{name}: arguments larger than {MAX_ARGUMENTS_BYTES} bytes"
        ));
    }
    let args_value: Value =
        serde_json::from_str(arguments).unwrap_or(Value::String(arguments.into()));
    let now = ctx.store.clock().now();
    let record = |result: Value, is_error: bool, latency_ms: u64| ToolCallRecord {
        call_id: call_id.into(),
        name: name.into(),
        arguments: args_value.clone(),
        result,
        is_error,
        latency_ms,
        at: now,
    };
    if def.writes {
        match ctx
            .store
            .record_tool_call(
                &ctx.owner_pk,
                &record(json!(ToolCallRecord::PENDING), false, 0),
            )
            .await
        {
            Ok(Created::New) => {
                if let Some(refusal) = over_write_quota(ctx, name, def.voice_only).await {
                    let done = record(refusal.result.clone(), true, 0);
                    if let Err(e) = ctx
                        .store
                        .put_value(
                            &ctx.owner_pk,
                            &Keys::tool(call_id),
                            &done,
                            ctx.store.retention().calls,
                            PutMode::Overwrite,
                        )
                        .await
                    {
                        tracing::warn!(tool = name, error = %e, "refused tool call not recorded");
                    }
                    return refusal;
                }
            }
            Ok(Created::Existing(previous)) if previous.is_stale(now) => {
                return settle_unknown(ctx, &previous).await;
            }
            Ok(Created::Existing(previous)) if previous.is_pending() => {
                return ToolOutcome::failure(
                    ErrorKind::InProgress,
                    format!("{name} call {call_id} is already in progress"),
                );
            }
            Ok(Created::Existing(previous)) => {
                tracing::info!(
                    tool = name,
                    call_id,
                    "repeated tool call answered from its record"
                );
                return ToolOutcome {
                    result: previous.result,
                    is_error: previous.is_error,
                    effect: None,
                };
            }
            Err(e) => {
                return ToolOutcome::error(format!("{name} could not be started safely: {e}"));
            }
        }
        if let Some(answer) = claim_effect(ctx, name, &args_value, call_id).await {
            if let Err(e) = ctx
                .store
                .settle_tool_call(
                    &ctx.owner_pk,
                    call_id,
                    answer.result.clone(),
                    answer.is_error,
                )
                .await
            {
                tracing::warn!(tool = name, error = %e, "repeated tool call not recorded");
            }
            return answer;
        }
    }
    let started = Instant::now();
    let outcome = dispatch(ctx, name, arguments, call_id).await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let done = record(outcome.result.clone(), outcome.is_error, latency_ms);
    let mode = if def.writes {
        PutMode::Overwrite
    } else {
        PutMode::IfAbsent
    };
    let keep: Duration = ctx.store.retention().calls;
    if let Err(e) = ctx
        .store
        .put_value(&ctx.owner_pk, &Keys::tool(call_id), &done, keep, mode)
        .await
    {
        tracing::warn!(tool = name, error = %e, "tool call not recorded");
    }
    emit_tool_events(ctx, &done, &outcome);
    tracing::info!(
        tool = name,
        latency_ms,
        is_error = outcome.is_error,
        "tool ran"
    );
    outcome
}

/// `tool.called` for a tool that ran, and `call.transferred` when it hands the caller over.
fn emit_tool_events(ctx: &ToolContext, done: &ToolCallRecord, outcome: &ToolOutcome) {
    if !ctx.events.is_enabled() {
        return;
    }
    let call_sid = ctx
        .owner_pk
        .strip_prefix("CALL#")
        .and_then(|sid| CallSid::parse(sid).ok());
    let channel = format!("{:?}", ctx.channel()).to_lowercase();
    ctx.events.emit(
        EventType::ToolCalled,
        done.at,
        call_sid.clone(),
        json!({"tool": done.name, "tool_call_id": done.call_id, "channel": channel,
            "arguments": done.arguments, "result": done.result, "is_error": done.is_error,
            "latency_ms": done.latency_ms}),
    );
    if let Some(CallEffect::Transfer(to)) = &outcome.effect {
        ctx.events.emit(
            EventType::CallTransferred,
            done.at,
            call_sid,
            json!({"to": to.as_str(), "reason": done.arguments.get("reason")}),
        );
    }
}

/// Refuses a tool outside the conversation's catalog: logged (tool and access level, never
/// the arguments, which are the caller's words) and recorded with its arguments in the store,
/// so the attempt is visible beside the calls that ran.
async fn refuse(ctx: &ToolContext, name: &str, arguments: &str, call_id: &str) -> ToolOutcome {
    tracing::warn!(
        tool = name,
        access = ctx.access.as_str(),
        channel = ctx.channel().as_str(),
        "tool refused: not in this access level's catalog"
    );
    let outcome = ToolOutcome::failure(
        ErrorKind::NotAllowed,
        format!("{name} is not available in this conversation"),
    );
    let arguments: Value = serde_json::from_str(arguments).unwrap_or(Value::String(
        arguments.chars().take(MAX_ARGUMENTS_BYTES).collect(),
    ));
    let record = ToolCallRecord {
        call_id: call_id.into(),
        name: name.into(),
        arguments,
        result: outcome.result.clone(),
        is_error: true,
        latency_ms: 0,
        at: ctx.store.clock().now(),
    };
    if let Err(e) = ctx
        .store
        .put_value(
            &ctx.owner_pk,
            &Keys::tool(call_id),
            &record,
            ctx.store.retention().calls,
            PutMode::IfAbsent,
        )
        .await
    {
        tracing::warn!(tool = name, error = %e, "refused tool call not recorded");
    }
    outcome
}

/// For a guest's write tool, counts it in today's `tool_writes`; past the limit (or when the
/// count cannot be kept) the refusal to answer instead. Owners, reads and call control are not
/// counted: a guest over the limit can still hear free slots and end the call.
async fn over_write_quota(ctx: &ToolContext, name: &str, voice_only: bool) -> Option<ToolOutcome> {
    if ctx.access != AccessLevel::Guest || voice_only {
        return None;
    }
    let limit = ctx.guest_quotas.tool_writes?;
    let who = quota_identity(ctx.caller.as_ref(), ctx.email_sender.as_deref());
    match ctx
        .store
        .take_quota(&who, QuotaKind::ToolWrites, 1, u64::from(limit))
        .await
    {
        Ok(QuotaTake::Taken { .. }) => None,
        Ok(QuotaTake::Refused { used }) => {
            tracing::warn!(
                tool = name,
                channel = ctx.channel().as_str(),
                used,
                limit,
                "tool refused: guest's daily write limit reached"
            );
            Some(ToolOutcome::failure(
                ErrorKind::LimitReached,
                format!(
                    "{name} is not available: this caller has reached today's limit of \
                     {limit} actions. Offer to help with anything else (free times) and suggest \
                     trying again tomorrow."
                ),
            ))
        }
        Err(e) => {
            // Without the count the limit cannot hold: refuse rather than run uncounted.
            tracing::error!(tool = name, error = %e, "guest write quota unavailable");
            Some(ToolOutcome::failure(
                ErrorKind::Upstream,
                format!("{name} could not be started safely: {e}"),
            ))
        }
    }
}

async fn dispatch(ctx: &ToolContext, name: &str, arguments: &str, call_id: &str) -> ToolOutcome {
    let result = match name {
        "list_events" => calendar::list_events(ctx, arguments).await,
        "create_event" => calendar::create_event(ctx, arguments, call_id).await,
        "update_event" => calendar::update_event(ctx, arguments).await,
        "delete_event" => calendar::delete_event(ctx, arguments).await,
        "find_free_time" => calendar::find_free_time(ctx, arguments).await,
        "send_sms" => messages::send_sms(ctx, arguments).await,
        "send_email" => messages::send_email(ctx, arguments).await,
        "forget_me" => messages::forget_me(ctx, arguments).await,
        "request_booking" => guest::request_booking(ctx, arguments, call_id).await,
        "leave_message" => guest::leave_message(ctx, arguments, call_id).await,
        "schedule_reminder" => reminders::schedule_reminder(ctx, arguments, call_id).await,
        "list_reminders" => reminders::list_reminders(ctx, arguments).await,
        "cancel_reminder" => reminders::cancel_reminder(ctx, arguments).await,
        "end_call" => call::end_call(ctx, arguments),
        "transfer_call" => call::transfer_call(ctx, arguments),
        "press_digits" => call::press_digits(arguments),
        other => Err(ToolOutcome::error(format!(
            "there is no tool named {other}"
        ))),
    };
    result.unwrap_or_else(|e| e)
}
