//! [`OpenAiChat`]: the chat model port over OpenAI's Chat Completions API, with function calling,
//! and the structured model port (`response_format: json_schema`, strict) for the post-call
//! analysis.

use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use phone_core::ports::{
    ChatMessage, ChatModel, ChatReply, ChatRole, ChatToolCall, ChatUsage, JsonSchemaFormat,
    PortError, StructuredModel, StructuredReply, ToolSpec,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

/// A Chat Completions client. `Debug` does not show the key.
pub struct OpenAiChat {
    /// Built on the first request: building a client loads the system's root certificates,
    /// milliseconds of a Lambda cold start that a request which never asks the model would pay.
    http: OnceLock<reqwest::Client>,
    base_url: String,
    api_key: SecretString,
    model: String,
}

impl std::fmt::Debug for OpenAiChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiChat")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .finish()
    }
}

/// Deadline of one completion: the agent's loop bounds the total.
const TIMEOUT: Duration = Duration::from_secs(30);

impl OpenAiChat {
    /// A client of `base_url` (`https://api.openai.com/v1`, or a test server) using `model`.
    pub fn new(base_url: &str, api_key: SecretString, model: &str) -> Result<Self, PortError> {
        Ok(Self {
            http: OnceLock::new(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            model: model.to_owned(),
        })
    }
}

fn wire_message(m: &ChatMessage) -> Value {
    let role = match m.role {
        ChatRole::System => "system",
        ChatRole::User => "user",
        ChatRole::Assistant => "assistant",
        ChatRole::Tool => "tool",
    };
    let mut out = json!({"role": role, "content": m.content});
    if !m.tool_calls.is_empty() {
        out["tool_calls"] = m
            .tool_calls
            .iter()
            .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
            .collect();
    }
    if let Some(id) = &m.tool_call_id {
        out["tool_call_id"] = json!(id);
    }
    out
}

#[derive(Deserialize)]
struct WireFunction {
    name: String,
    #[serde(default)]
    arguments: String,
}

#[derive(Deserialize)]
struct WireToolCall {
    id: String,
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<String>,
    /// Set instead of `content` when the model refuses a structured request.
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Vec<WireToolCall>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: WireMessage,
}

#[derive(Deserialize, Default)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

#[derive(Deserialize)]
struct WireResponse {
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

fn upstream(status: Option<u16>, message: String) -> PortError {
    PortError::Upstream {
        service: "openai",
        status,
        message,
    }
}

impl OpenAiChat {
    /// The HTTP client, built on first use.
    fn http(&self) -> Result<&reqwest::Client, PortError> {
        if let Some(http) = self.http.get() {
            return Ok(http);
        }
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| PortError::NotConfigured(format!("HTTP client: {e}")))?;
        Ok(self.http.get_or_init(|| http))
    }

    /// Posts one Chat Completions request and returns the body of a 2xx answer.
    async fn post(&self, body: &Value) -> Result<String, PortError> {
        let response = self
            .http()?
            .post(format!("{}/chat/completions", self.base_url))
            .bearer_auth(self.api_key.expose_secret())
            .json(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    PortError::Timeout("openai")
                } else {
                    upstream(None, e.without_url().to_string())
                }
            })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| upstream(Some(status.as_u16()), e.to_string()))?;
        if !status.is_success() {
            let reason = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| text.chars().take(200).collect());
            return Err(upstream(Some(status.as_u16()), reason));
        }
        Ok(text)
    }
}

#[async_trait]
impl ChatModel for OpenAiChat {
    async fn complete(
        &self,
        messages: &[ChatMessage],
        tools: &[ToolSpec],
    ) -> Result<ChatReply, PortError> {
        let body = json!({
            "model": self.model,
            "messages": messages.iter().map(wire_message).collect::<Vec<_>>(),
            "tools": tools.iter().map(|t| json!({"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": t.parameters}})).collect::<Vec<_>>(),
            "tool_choice": "auto",
        });
        let text = self.post(&body).await?;
        let parsed: WireResponse = serde_json::from_str(&text)
            .map_err(|e| upstream(Some(200), format!("unreadable answer: {e}")))?;
        let choice = parsed
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| upstream(Some(200), "no choices".into()))?;
        let usage = parsed.usage.unwrap_or_default();
        Ok(ChatReply {
            message: ChatMessage {
                role: ChatRole::Assistant,
                content: choice.message.content,
                tool_calls: choice
                    .message
                    .tool_calls
                    .into_iter()
                    .map(|c| ChatToolCall {
                        id: c.id,
                        name: c.function.name,
                        arguments: c.function.arguments,
                    })
                    .collect(),
                tool_call_id: None,
            },
            usage: ChatUsage {
                input_tokens: usage.prompt_tokens,
                output_tokens: usage.completion_tokens,
            },
        })
    }

    fn describe(&self) -> String {
        format!("openai:{}", self.model)
    }
}

/// The structured-output request body: no tools, `response_format` with a strict schema.
pub fn structured_request(
    model: &str,
    messages: &[ChatMessage],
    format: &JsonSchemaFormat,
) -> Value {
    json!({
        "model": model,
        "messages": messages.iter().map(wire_message).collect::<Vec<_>>(),
        "response_format": {"type": "json_schema", "json_schema": {
            "name": format.name, "strict": true, "schema": format.schema}},
    })
}

#[async_trait]
impl StructuredModel for OpenAiChat {
    async fn complete_structured(
        &self,
        messages: &[ChatMessage],
        format: &JsonSchemaFormat,
    ) -> Result<StructuredReply, PortError> {
        let body = structured_request(&self.model, messages, format);
        let text = self.post(&body).await?;
        let parsed: WireResponse = serde_json::from_str(&text)
            .map_err(|e| upstream(Some(200), format!("unreadable answer: {e}")))?;
        let choice = parsed
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| upstream(Some(200), "no choices".into()))?;
        let usage = parsed.usage.unwrap_or_default();
        Ok(StructuredReply {
            json: choice.message.content,
            refusal: choice.message.refusal,
            usage: ChatUsage {
                input_tokens: usage.prompt_tokens,
                output_tokens: usage.completion_tokens,
            },
        })
    }

    fn describe(&self) -> String {
        format!("openai:{}", self.model)
    }
}
