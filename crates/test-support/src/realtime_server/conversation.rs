//! The strict double's state for one connection and its answers to client events: what the real
//! API accepts it applies, what the real API refuses it answers with an `error` that echoes the
//! client's `event_id`. Responses and server VAD are in `responses.rs`.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use super::refusal::{Fields, Refusal};
use super::session;

/// A response the double has started, by a client's `response.create` or by server VAD.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseHandle {
    /// `resp_…`.
    pub id: String,
    /// `conversation: "none"` in its `response.create`: it runs beside the default conversation.
    pub out_of_band: bool,
    /// The client's `response.create` event (`None` when server VAD created the response).
    pub request: Option<Value>,
    /// The connection it runs on (0 = first), so a script plays where the response lives.
    pub(super) connection: usize,
}

impl ResponseHandle {
    /// `response.metadata.purpose` of the client's request, if any (e.g. `tool_wait`).
    pub fn purpose(&self) -> Option<&str> {
        self.request.as_ref()?["response"]["metadata"]["purpose"].as_str()
    }

    /// `response.instructions` of the client's request, if any.
    pub fn instructions(&self) -> Option<&str> {
        self.request.as_ref()?["response"]["instructions"].as_str()
    }
}

/// What the double knows of a conversation item.
#[derive(Debug, Clone)]
pub(super) struct Item {
    /// Assistant audio generated so far, in bytes (only assistant audio messages have some).
    pub audio_bytes: Option<usize>,
    /// The item as `conversation.item.done` showed it.
    pub json: Value,
}

/// One connection's conversation, session and responses.
pub(super) struct Strict {
    pub url_model: String,
    pub session: Value,
    pub connection: usize,
    next_id: u64,
    pub items: HashMap<String, Item>,
    pub last_item: Option<String>,
    pub call_ids: HashSet<String>,
    pub responses: Vec<super::responses::Active>,
    pub input_bytes: usize,
    pub buffered_bytes: usize,
    pub speaking: Option<String>,
    pub last_user_item: Option<String>,
    pub voice_locked: bool,
    out: Vec<Value>,
    pub created: Vec<ResponseHandle>,
}

impl Strict {
    /// A fresh connection to `url_model`; `session_created` is its first event.
    pub fn new(url_model: &str, connection: usize) -> Self {
        let session_id = format!("sess_{connection:04}");
        Self {
            url_model: url_model.to_owned(),
            session: session::default_session(&session_id, url_model),
            connection,
            next_id: 0,
            items: HashMap::new(),
            last_item: None,
            call_ids: HashSet::new(),
            responses: Vec::new(),
            input_bytes: 0,
            buffered_bytes: 0,
            speaking: None,
            last_user_item: None,
            voice_locked: false,
            out: Vec::new(),
            created: Vec::new(),
        }
    }

    /// `session.created` with the session's defaults, its id and the URL's model.
    pub fn session_created(&self) -> Value {
        json!({"type": "session.created", "session": self.session})
    }

    /// A fresh id with this prefix (`resp`, `item`, `conv`).
    pub fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_{:04}_{:04}", self.connection, self.next_id)
    }

    /// Queues an event to send.
    pub fn emit(&mut self, event: Value) {
        self.out.push(event);
    }

    /// The events to send, in order.
    pub fn take_out(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.out)
    }

    /// Answers one client event: applies it, or queues the `error` that refuses it.
    pub fn on_client(&mut self, event: &Value) {
        let client_id = event.get("event_id").and_then(Value::as_str);
        if let Err(refusal) = self.apply(event) {
            self.emit(refusal.to_event(client_id));
        }
    }

    fn apply(&mut self, event: &Value) -> Result<(), Refusal> {
        let kind = match event.get("type") {
            None => return Err(Refusal::missing("type")),
            Some(Value::String(kind)) => kind.as_str(),
            Some(other) => return Err(Refusal::wrong_type("type", "a string", other)),
        };
        match kind {
            "session.update" => self.session_update(event),
            "input_audio_buffer.append" => self.append(event),
            "input_audio_buffer.commit" => self.commit(),
            "input_audio_buffer.clear" => {
                self.buffered_bytes = 0;
                self.emit(json!({"type": "input_audio_buffer.cleared"}));
                Ok(())
            }
            "conversation.item.create" => self.item_create(event),
            "conversation.item.truncate" => self.truncate(event),
            "conversation.item.delete" => self.item_delete(event),
            "conversation.item.retrieve" => self.item_retrieve(event),
            "response.create" => self.response_create(event),
            "response.cancel" => self.response_cancel(event),
            "output_audio_buffer.clear" => Err(Refusal::invalid(
                "type",
                "'output_audio_buffer.clear' applies to WebRTC and SIP connections only.",
            )),
            other => Err(Refusal::invalid(
                "type",
                format!("'{other}' is not a client event type."),
            )),
        }
    }

    fn session_update(&mut self, event: &Value) -> Result<(), Refusal> {
        let update = event.get("session").ok_or(Refusal::missing("session"))?;
        let voice = self.session["audio"]["output"]["voice"].clone();
        let locked = self.voice_locked.then_some(&voice);
        session::check_update(update, &self.url_model, locked)?;
        session::merge(&mut self.session, update);
        let session = self.session.clone();
        self.emit(json!({"type": "session.updated", "session": session}));
        Ok(())
    }

    fn append(&mut self, event: &Value) -> Result<(), Refusal> {
        let audio = Fields::of("", event, &["type", "event_id", "audio"])?.required("audio")?;
        let Some(b64) = audio.as_str() else {
            return Err(Refusal::wrong_type("audio", "a string", audio));
        };
        let padding = b64.bytes().rev().take_while(|b| *b == b'=').count();
        let bytes = (b64.len() / 4 * 3).saturating_sub(padding);
        self.input_bytes += bytes;
        self.buffered_bytes += bytes;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), Refusal> {
        let ms = self.buffered_bytes / session::input_bytes_per_ms(&self.session);
        if ms < 100 {
            return Err(Refusal::new(
                "input_audio_buffer_commit_empty",
                format!(
                    "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has {ms}.00ms of audio."
                ),
                None,
            ));
        }
        let item = self.id("item");
        self.commit_user_audio(&item);
        Ok(())
    }

    /// `input_audio_buffer.committed` and the user audio item it becomes.
    pub fn commit_user_audio(&mut self, item: &str) {
        self.buffered_bytes = 0;
        let previous = self.last_item.clone();
        self.emit(
            json!({"type": "input_audio_buffer.committed", "item_id": item,
            "previous_item_id": previous}),
        );
        let json = json!({"id": item, "object": "realtime.item", "type": "message",
            "role": "user", "status": "completed",
            "content": [{"type": "input_audio", "transcript": null}]});
        self.add_item(item, json, None);
        self.last_user_item = Some(item.to_owned());
    }

    /// Adds an item to the conversation: `conversation.item.added` then `.done`.
    pub fn add_item(&mut self, id: &str, json: Value, audio_bytes: Option<usize>) {
        let previous = self.last_item.replace(id.to_owned());
        self.emit(json!({"type": "conversation.item.added", "item": json,
            "previous_item_id": previous}));
        self.emit(json!({"type": "conversation.item.done", "item": json,
            "previous_item_id": previous}));
        self.items.insert(id.to_owned(), Item { audio_bytes, json });
    }

    fn item_create(&mut self, event: &Value) -> Result<(), Refusal> {
        let e = Fields::of("", event, &["type", "event_id", "item", "previous_item_id"])?;
        if let Some(previous) = e.str("previous_item_id")?
            && previous != "root"
            && !self.items.contains_key(previous)
        {
            return Err(Refusal::invalid(
                "previous_item_id",
                format!("Item with item_id '{previous}' not found."),
            ));
        }
        let item = e.required("item")?;
        let i = Fields::of(
            "item",
            item,
            &[
                "id",
                "type",
                "object",
                "status",
                "role",
                "content",
                "call_id",
                "name",
                "arguments",
                "output",
            ],
        )?;
        match i.one_of(
            "type",
            &["message", "function_call", "function_call_output"],
        )? {
            None => return Err(Refusal::missing("item.type")),
            Some("message") => check_message(&i)?,
            Some("function_call") => {
                let call_id = i.str("call_id")?.ok_or(Refusal::missing("item.call_id"))?;
                i.str("name")?.ok_or(Refusal::missing("item.name"))?;
                i.str("arguments")?
                    .ok_or(Refusal::missing("item.arguments"))?;
                self.call_ids.insert(call_id.to_owned());
            }
            Some(_) => {
                let call_id = i.str("call_id")?.ok_or(Refusal::missing("item.call_id"))?;
                i.str("output")?.ok_or(Refusal::missing("item.output"))?;
                if !self.call_ids.contains(call_id) {
                    return Err(Refusal::new(
                        "invalid_tool_call_id",
                        format!("Tool call ID '{call_id}' not found in conversation."),
                        Some("item.call_id"),
                    ));
                }
            }
        }
        let id = match i.str("id")? {
            Some(id) if self.items.contains_key(id) => {
                return Err(Refusal::invalid(
                    "item.id",
                    format!("an item with id '{id}' already exists."),
                ));
            }
            Some(id) => id.to_owned(),
            None => self.id("item"),
        };
        let mut json = item.clone();
        json["id"] = json!(id);
        json["object"] = json!("realtime.item");
        json["status"] = json!("completed");
        self.add_item(&id, json, None);
        Ok(())
    }

    fn truncate(&mut self, event: &Value) -> Result<(), Refusal> {
        let e = Fields::of(
            "",
            event,
            &[
                "type",
                "event_id",
                "item_id",
                "content_index",
                "audio_end_ms",
            ],
        )?;
        let item_id = e.str("item_id")?.ok_or(Refusal::missing("item_id"))?;
        let content_index = e
            .integer("content_index", false)?
            .ok_or(Refusal::missing("content_index"))?;
        let end_ms = e
            .integer("audio_end_ms", false)?
            .ok_or(Refusal::missing("audio_end_ms"))?;
        let per_ms = session::output_bytes_per_ms(&self.session);
        let item = self.items.get_mut(item_id).ok_or_else(|| {
            Refusal::invalid(
                "item_id",
                format!("Item with item_id '{item_id}' not found."),
            )
        })?;
        let Some(bytes) = item.audio_bytes.as_mut() else {
            return Err(Refusal::new(
                "unsupported_content_type",
                "Only model output audio messages can be truncated",
                Some("item_id"),
            ));
        };
        if content_index != 0 {
            return Err(Refusal::invalid(
                "content_index",
                format!("item '{item_id}' has no audio content at index {content_index}."),
            ));
        }
        let generated_ms = (*bytes / per_ms) as u64;
        if end_ms as usize * per_ms > *bytes {
            return Err(Refusal::invalid(
                "audio_end_ms",
                format!("Audio content of {generated_ms}ms is already shorter than {end_ms}ms"),
            ));
        }
        *bytes = end_ms as usize * per_ms;
        self.emit(
            json!({"type": "conversation.item.truncated", "item_id": item_id,
            "content_index": content_index, "audio_end_ms": end_ms}),
        );
        Ok(())
    }

    fn item_delete(&mut self, event: &Value) -> Result<(), Refusal> {
        let item_id = Fields::of("", event, &["type", "event_id", "item_id"])?
            .str("item_id")?
            .ok_or(Refusal::missing("item_id"))?;
        if self.items.remove(item_id).is_none() {
            return Err(Refusal::invalid(
                "item_id",
                format!("Item with item_id '{item_id}' not found."),
            ));
        }
        self.emit(json!({"type": "conversation.item.deleted", "item_id": item_id}));
        Ok(())
    }

    fn item_retrieve(&mut self, event: &Value) -> Result<(), Refusal> {
        let item_id = event["item_id"]
            .as_str()
            .ok_or(Refusal::missing("item_id"))?;
        let item = self.items.get(item_id).ok_or_else(|| {
            Refusal::invalid(
                "item_id",
                format!("Item with item_id '{item_id}' not found."),
            )
        })?;
        let json = item.json.clone();
        self.emit(json!({"type": "conversation.item.retrieved", "item": json}));
        Ok(())
    }
}

/// A message item's role and content types, as the SDK's item types allow them: system
/// `input_text`; user `input_text`, `input_audio`, `input_image`; assistant `output_text`,
/// `output_audio`.
fn check_message(item: &Fields<'_>) -> Result<(), Refusal> {
    let allowed: &[&str] = match item.one_of("role", &["system", "user", "assistant"])? {
        None => return Err(Refusal::missing("item.role")),
        Some("system") => &["input_text"],
        Some("user") => &["input_text", "input_audio", "input_image"],
        Some(_) => &["output_text", "output_audio"],
    };
    let content = item.required("content")?;
    let Some(parts) = content.as_array() else {
        return Err(Refusal::wrong_type("item.content", "an array", content));
    };
    for (n, part) in parts.iter().enumerate() {
        let p = Fields::of(
            &format!("item.content[{n}]"),
            part,
            &["type", "text", "audio", "transcript", "image_url", "detail"],
        )?;
        if p.one_of("type", allowed)?.is_none() {
            return Err(Refusal::missing(&p.path("type")));
        }
        p.str("text")?;
    }
    Ok(())
}
