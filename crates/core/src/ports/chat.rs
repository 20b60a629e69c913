//! Chat model port: the text agent (SMS, REST, email) talks to a function-calling model through
//! it. The OpenAI adapter speaks Chat Completions; tests and the offline demo use local ones.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::PortError;

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    /// Instructions.
    System,
    /// The person.
    User,
    /// The model.
    Assistant,
    /// A tool's result.
    Tool,
}

/// A tool call the model asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatToolCall {
    /// The model's id for the call; echoed in the tool message that answers it.
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments as a JSON string, exactly as the model wrote them (may be malformed).
    pub arguments: String,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Author.
    pub role: ChatRole,
    /// Text, if any (assistant messages that only call tools have none).
    #[serde(default)]
    pub content: Option<String>,
    /// Tool calls made by an assistant message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ChatToolCall>,
    /// For a tool message: the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    /// A plain text message.
    pub fn text(role: ChatRole, content: impl Into<String>) -> Self {
        Self {
            role,
            content: Some(content.into()),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    /// A tool result answering `tool_call_id`.
    pub fn tool_result(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: ChatRole::Tool,
            content: Some(content.into()),
            tool_calls: Vec::new(),
            tool_call_id: Some(tool_call_id.into()),
        }
    }
}

/// A tool offered to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Name.
    pub name: String,
    /// Description written for the model.
    pub description: String,
    /// JSON schema of the arguments.
    pub parameters: serde_json::Value,
}

/// Token counts of one completion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChatUsage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
}

/// The model's answer: one assistant message (text and/or tool calls).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatReply {
    /// The assistant message.
    pub message: ChatMessage,
    /// What it cost.
    pub usage: ChatUsage,
}

/// The chat model port.
#[async_trait]
pub trait ChatModel: Send + Sync + 'static {
    /// One completion over `messages`, offering `tools`.
    async fn complete(
        &self,
        messages: &[ChatMessage],
        tools: &[ToolSpec],
    ) -> Result<ChatReply, PortError>;
    /// `openai:<model>` or `local`.
    fn describe(&self) -> String;
}

/// A JSON Schema the model's answer must follow (structured output): OpenAI's
/// `response_format: {"type": "json_schema", "json_schema": {name, strict: true, schema}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonSchemaFormat {
    /// The schema's name (letters, digits, `_` and `-`, at most 64).
    pub name: String,
    /// The schema, in the strict subset: every object has `additionalProperties: false` and
    /// lists every property in `required`.
    pub schema: serde_json::Value,
}

/// The model's answer to a structured request: its JSON text, unparsed (checking it against
/// the schema is the caller's job: a model may still answer something else).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructuredReply {
    /// The answer's text, or `None` when the model refused (`refusal` says why).
    pub json: Option<String>,
    /// The model's refusal, if it refused.
    pub refusal: Option<String>,
    /// What it cost.
    pub usage: ChatUsage,
}

/// A model that answers in JSON following a given schema (the post-call analysis).
#[async_trait]
pub trait StructuredModel: Send + Sync + 'static {
    /// One completion over `messages` whose answer must follow `format`.
    async fn complete_structured(
        &self,
        messages: &[ChatMessage],
        format: &JsonSchemaFormat,
    ) -> Result<StructuredReply, PortError>;
    /// `openai:<model>`.
    fn describe(&self) -> String;
}
