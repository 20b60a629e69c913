//! The text agent: the same tools as on calls, through a function-calling chat model, for SMS,
//! the REST API and email. A bounded loop: the model answers or calls tools, tool results go
//! back, until it answers in text or the step limit is reached.

use serde_json::json;

use crate::ports::{ChatMessage, ChatModel, ChatRole, ChatUsage, PortError, ToolSpec};
use crate::store::{Keys, PutMode, StoreError};
use crate::tools::{ToolContext, ToolOutcome, access_instructions, chat_tools_for, run_tool};

/// Most model calls per user message.
pub const MAX_STEPS: usize = 6;
/// Most messages kept in a session's history.
pub const MAX_HISTORY: usize = 40;

/// A tool the agent ran.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct AgentToolCall {
    /// Tool name.
    pub name: String,
    /// Arguments as given by the model.
    pub arguments: serde_json::Value,
    /// Its result.
    pub result: serde_json::Value,
    /// Whether it failed.
    pub is_error: bool,
}

/// What one user message produced.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AgentReply {
    /// The answer to show or text back.
    pub text: String,
    /// Tools run on the way.
    pub tool_calls: Vec<AgentToolCall>,
    /// Tokens used.
    pub usage: ChatUsage,
}

/// The system prompt: persona and access level, time, zone, and what is remembered about the
/// person. A guest gets the receptionist's instructions and tools; the owner the assistant's.
/// `memory` is the quoted block of [`crate::memory::quote_for_model`] (or empty), added as it
/// is: stored text reaches the model only as quoted data.
pub fn system_prompt(ctx: &ToolContext, channel: &str, memory: &str) -> String {
    let now = ctx.zone.now_text(ctx.store.clock().now());
    let mut text = format!(
        "You are an assistant reached by {channel}. Be brief. {} \
         It is now {now} in {}. Give times to tools as local wall times like 2026-11-26T15:00 in that zone.",
        access_instructions(ctx.access),
        ctx.zone.name()
    );
    if !memory.is_empty() {
        text.push('\n');
        text.push_str(memory);
    }
    text
}

/// Runs one user message through the model and the tools of the context's access level,
/// appending to `history`.
pub async fn run_agent(
    ctx: &ToolContext,
    model: &dyn ChatModel,
    system: &str,
    history: &mut Vec<ChatMessage>,
    user_message: &str,
    request_id: &str,
) -> Result<AgentReply, PortError> {
    let tools = chat_tools_for(ctx.access, ctx.channel());
    run_agent_with_tools(
        ctx,
        model,
        &tools,
        system,
        history,
        user_message,
        request_id,
    )
    .await
}

/// [`run_agent`] offering only `tools`. A call to any other tool is refused here, in code,
/// without running it: a model talked into calling a tool it was not offered (by text it read
/// in an email, say) gets an error back, not the tool.
pub async fn run_agent_with_tools(
    ctx: &ToolContext,
    model: &dyn ChatModel,
    tools: &[ToolSpec],
    system: &str,
    history: &mut Vec<ChatMessage>,
    user_message: &str,
    request_id: &str,
) -> Result<AgentReply, PortError> {
    history.push(ChatMessage::text(ChatRole::User, user_message));
    let mut calls = Vec::new();
    let mut usage = ChatUsage::default();
    for step in 0..MAX_STEPS {
        let mut messages = vec![ChatMessage::text(ChatRole::System, system)];
        messages.extend(history.iter().cloned());
        let reply = model.complete(&messages, tools).await?;
        usage.input_tokens += reply.usage.input_tokens;
        usage.output_tokens += reply.usage.output_tokens;
        let message = reply.message;
        let tool_calls = message.tool_calls.clone();
        history.push(message.clone());
        if tool_calls.is_empty() {
            return Ok(AgentReply {
                text: message.content.unwrap_or_default(),
                tool_calls: calls,
                usage,
            });
        }
        for call in tool_calls {
            // The model's call id is unique per completion only; the request id and step make
            // the idempotency key unique per user message.
            let key = format!("{request_id}:{step}:{}", call.id);
            // Offered tools run. A tool outside the access level goes to the dispatcher too,
            // which refuses it, logs the refusal and records the attempt.
            let offered = tools.iter().any(|t| t.name == call.name);
            let outcome = if offered || !ctx.allows(&call.name) {
                run_tool(ctx, &call.name, &call.arguments, &key).await
            } else {
                tracing::warn!(
                    tool = %call.name,
                    access = ctx.access.as_str(),
                    "tool refused: the model called a tool it was not offered"
                );
                ToolOutcome::error(format!("there is no tool named {} here", call.name))
            };
            history.push(ChatMessage::tool_result(
                call.id.clone(),
                outcome.result.to_string(),
            ));
            calls.push(AgentToolCall {
                name: call.name,
                arguments: serde_json::from_str(&call.arguments).unwrap_or(json!(call.arguments)),
                result: outcome.result,
                is_error: outcome.is_error,
            });
        }
    }
    let text = "Sorry, that needed more steps than I am allowed. Could you ask in a simpler way?"
        .to_owned();
    history.push(ChatMessage::text(ChatRole::Assistant, text.clone()));
    Ok(AgentReply {
        text,
        tool_calls: calls,
        usage,
    })
}

/// A conversation as stored (items are objects).
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredHistory {
    messages: Vec<ChatMessage>,
}

/// Loads a session's history (`AGENT#<id>` or `SMS#<number>` / `HISTORY`).
pub async fn load_history(ctx: &ToolContext, pk: &str) -> Result<Vec<ChatMessage>, StoreError> {
    match ctx
        .store
        .get_value::<StoredHistory>(pk, Keys::HISTORY)
        .await
    {
        Ok(history) => Ok(history.messages),
        Err(StoreError::NotFound) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Saves the last [`MAX_HISTORY`] messages, starting at a user message so no tool result is
/// left without the call it answers.
pub async fn save_history(
    ctx: &ToolContext,
    pk: &str,
    history: &[ChatMessage],
) -> Result<(), StoreError> {
    let mut start = history.len().saturating_sub(MAX_HISTORY);
    while start < history.len() && history[start].role != ChatRole::User {
        start += 1;
    }
    let keep = ctx.store.retention().sms;
    let stored = StoredHistory {
        messages: history[start..].to_vec(),
    };
    ctx.store
        .put_value(pk, Keys::HISTORY, &stored, keep, PutMode::Overwrite)
        .await
}
