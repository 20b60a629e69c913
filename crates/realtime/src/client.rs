//! Client events (PROTOCOLS.md §2.3), as JSON strings ready to send.

use serde_json::{Value, json};

/// `input_audio_buffer.append`: caller audio, 50 times a second per call, so it is written
/// directly. Base64 needs no JSON escaping; anything else is escaped properly.
pub fn append_audio(payload_b64: &str) -> String {
    let plain = payload_b64
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    if plain {
        let mut out = String::with_capacity(48 + payload_b64.len());
        out.push_str(r#"{"type":"input_audio_buffer.append","audio":""#);
        out.push_str(payload_b64);
        out.push_str(r#""}"#);
        out
    } else {
        json!({"type": "input_audio_buffer.append", "audio": payload_b64}).to_string()
    }
}

/// A user text message, e.g. to replay the conversation after a reconnect.
pub fn user_text(text: &str) -> String {
    json!({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}})
    .to_string()
}

/// An assistant text message, to replay what the assistant said after a reconnect.
pub fn assistant_text(text: &str) -> String {
    json!({"type": "conversation.item.create", "item": {
        "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}})
    .to_string()
}

/// A tool's result for `call_id`.
pub fn function_call_output(call_id: &str, output: &Value) -> String {
    json!({"type": "conversation.item.create", "item": {
        "type": "function_call_output", "call_id": call_id, "output": output.to_string()}})
    .to_string()
}

/// `response.create` for the default conversation, optionally with instructions for this
/// response only.
///
/// Tagged twice: `event_id` comes back in `error.event_id` if the request is refused (e.g.
/// `conversation_already_has_active_response`), and `metadata` (`purpose`, `request` = the
/// same id) comes back in `response.created` and `response.done`, so the response can be told
/// apart from one that server VAD started on its own.
pub fn response_create(event_id: &str, purpose: &str, instructions: Option<&str>) -> String {
    let mut response = json!({"metadata": {"purpose": purpose, "request": event_id}});
    if let Some(text) = instructions {
        response["instructions"] = json!(text);
    }
    json!({"type": "response.create", "event_id": event_id, "response": response}).to_string()
}

/// Tag of the out-of-band "one moment" response, found again in its `response.done`.
pub const TOOL_WAIT_PURPOSE: &str = "tool_wait";

/// What the out-of-band "one moment" response is told to say.
const TOOL_WAIT_INSTRUCTIONS: &str = "A tool is still running. Say only a very short holding phrase in the caller's language, such as \"One moment, please.\" Nothing else.";

/// An out-of-band response (`conversation: "none"`, so it leaves no item in the conversation and
/// cannot call tools) that only says a few words while a slow tool runs. Tagged like
/// [`response_create`].
pub fn tool_wait_notice(event_id: &str) -> String {
    json!({"type": "response.create", "event_id": event_id, "response": {
        "conversation": "none",
        "tool_choice": "none",
        "metadata": {"purpose": TOOL_WAIT_PURPOSE, "request": event_id},
        "instructions": TOOL_WAIT_INSTRUCTIONS
    }})
    .to_string()
}

/// `response.cancel`: of this response, or of the default conversation's active one.
pub fn response_cancel(response_id: Option<&str>) -> String {
    match response_id {
        Some(id) => json!({"type": "response.cancel", "response_id": id}).to_string(),
        None => json!({"type": "response.cancel"}).to_string(),
    }
}

/// `conversation.item.truncate`: the caller heard only `audio_end_ms` of this item.
pub fn truncate(item_id: &str, content_index: u32, audio_end_ms: u64) -> String {
    json!({"type": "conversation.item.truncate", "item_id": item_id,
           "content_index": content_index, "audio_end_ms": audio_end_ms})
    .to_string()
}

/// `input_audio_buffer.commit`: ends the caller's turn by hand (turn detection off).
pub fn input_audio_commit() -> String {
    json!({"type": "input_audio_buffer.commit"}).to_string()
}

/// `input_audio_buffer.clear`: drops caller audio not yet committed.
pub fn input_audio_clear() -> String {
    json!({"type": "input_audio_buffer.clear"}).to_string()
}

/// `conversation.item.delete`: removes an item, e.g. a stale message before a retry.
pub fn item_delete(item_id: &str) -> String {
    json!({"type": "conversation.item.delete", "item_id": item_id}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_fast_path_equals_serde_form() {
        let fast: Value = serde_json::from_str(&append_audio("/+AB=")).unwrap();
        assert_eq!(
            fast,
            json!({"type": "input_audio_buffer.append", "audio": "/+AB="})
        );
        let escaped: Value = serde_json::from_str(&append_audio("a\"b")).unwrap();
        assert_eq!(escaped["audio"], "a\"b");
    }

    #[test]
    fn append_fast_path_is_byte_identical_to_serde_struct_form() {
        // Field order as the struct declares it: `type` first, like the fast path.
        #[derive(serde::Serialize)]
        struct Append<'a> {
            r#type: &'static str,
            audio: &'a str,
        }
        let payload = "f39/fn5+fX19fHx8e3t7enp6eXl5+Pj4d3d3dnZ2dXV1dHR0c3NzcnJy==";
        let serde_form = serde_json::to_string(&Append {
            r#type: "input_audio_buffer.append",
            audio: payload,
        })
        .unwrap();
        assert_eq!(append_audio(payload), serde_form);
    }

    #[test]
    fn response_requests_carry_their_id_in_event_and_metadata() {
        let v: Value =
            serde_json::from_str(&response_create("rc-1", "greeting", Some("Say hi"))).unwrap();
        assert_eq!(v["event_id"], "rc-1");
        assert_eq!(v["response"]["metadata"]["request"], "rc-1");
        assert_eq!(v["response"]["metadata"]["purpose"], "greeting");
        assert_eq!(v["response"]["instructions"], "Say hi");
        let v: Value = serde_json::from_str(&tool_wait_notice("rc-2")).unwrap();
        assert_eq!(v["response"]["conversation"], "none");
        assert_eq!(v["response"]["metadata"]["purpose"], TOOL_WAIT_PURPOSE);
    }

    #[test]
    fn function_output_is_a_json_string() {
        let v: Value =
            serde_json::from_str(&function_call_output("call_1", &json!({"ok": true}))).unwrap();
        assert_eq!(v["item"]["output"], "{\"ok\":true}");
    }
}
