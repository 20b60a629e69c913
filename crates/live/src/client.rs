//! Client events after `session.start` (PROTOCOLS-LIVE.md §A.4), as JSON strings ready to send.
//!
//! Every event GPT-Live can refuse carries an `event_id`: the server names it again in
//! `error.client_event_id`, the only way to know which command failed. The audio append has no
//! acknowledgement and is sent 50 times a second, so it carries none.

use serde_json::{Value, json};

/// `session.input_audio.append`: caller audio in the session format (μ-law 8 kHz here), 50
/// times a second per call, so it is written directly. Base64 needs no JSON escaping; anything
/// else is escaped properly.
pub fn append_audio(payload_b64: &str) -> String {
    let plain = payload_b64
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    if plain {
        let mut out = String::with_capacity(48 + payload_b64.len());
        out.push_str(r#"{"type":"session.input_audio.append","audio":""#);
        out.push_str(payload_b64);
        out.push_str(r#""}"#);
        out
    } else {
        json!({"type": "session.input_audio.append", "audio": payload_b64}).to_string()
    }
}

/// `session.commentary.append`: speakable context the model words itself, e.g. "Greet the
/// caller now: …" (the model speaks first only when asked). `delegation_id` is required and
/// nullable; a non-null id is refused under Responses delegation, so it is always `null`.
pub fn commentary(event_id: &str, content: &str) -> String {
    json!({"type": "session.commentary.append", "event_id": event_id,
           "content": content, "delegation_id": null})
    .to_string()
}

/// `session.thinking.append`: silent context ("calendar lookup still running"), with an
/// explicit `delegation_id: null` as for [`commentary`].
pub fn thinking(event_id: &str, content: &str) -> String {
    json!({"type": "session.thinking.append", "event_id": event_id,
           "content": content, "delegation_id": null})
    .to_string()
}

/// `response.item.create` with a tool's result for `call_id` (Responses delegation only). The
/// output is sent as a JSON string.
pub fn function_call_output(event_id: &str, call_id: &str, output: &Value) -> String {
    json!({"type": "response.item.create", "event_id": event_id, "item": {
        "type": "function_call_output", "call_id": call_id, "output": output.to_string()}})
    .to_string()
}

/// `response.create`: continues the delegated response once every call of it has its output
/// (one after all outputs; a partial batch is refused).
pub fn response_create(event_id: &str) -> String {
    json!({"type": "response.create", "event_id": event_id}).to_string()
}

/// `session.close`: asks the server to finalize; the terminal `session.closed` carries the
/// reason and the final usage.
pub fn session_close(event_id: &str) -> String {
    json!({"type": "session.close", "event_id": event_id}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_fast_path_equals_serde_form() {
        let fast: Value = serde_json::from_str(&append_audio("/+AB=")).unwrap();
        assert_eq!(
            fast,
            json!({"type": "session.input_audio.append", "audio": "/+AB="})
        );
        let escaped: Value = serde_json::from_str(&append_audio("a\"b")).unwrap();
        assert_eq!(escaped["audio"], "a\"b");
        assert_eq!(escaped["type"], "session.input_audio.append");
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
            r#type: "session.input_audio.append",
            audio: payload,
        })
        .unwrap();
        assert_eq!(append_audio(payload), serde_form);
    }

    #[test]
    fn context_appends_carry_an_explicit_null_delegation_id() {
        for text in [
            commentary("c-1", "Greet the caller."),
            thinking("c-1", "Still busy."),
        ] {
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["event_id"], "c-1");
            let fields = v.as_object().unwrap();
            assert!(fields.contains_key("delegation_id"), "{text}");
            assert!(fields["delegation_id"].is_null());
        }
    }

    #[test]
    fn refusable_commands_carry_their_event_id() {
        let output = function_call_output("o-1", "call_1", &json!({"ok": true}));
        for (text, id) in [
            (output.as_str(), "o-1"),
            (&response_create("r-1"), "r-1"),
            (&session_close("x-1"), "x-1"),
        ] {
            let v: Value = serde_json::from_str(text).unwrap();
            assert_eq!(v["event_id"], id, "{text}");
        }
        let v: Value = serde_json::from_str(&output).unwrap();
        assert_eq!(v["item"]["type"], "function_call_output");
        assert_eq!(v["item"]["output"], "{\"ok\":true}");
        let v: Value = serde_json::from_str(&response_create("r-1")).unwrap();
        assert_eq!(
            v.as_object().unwrap().len(),
            2,
            "response.create has no body"
        );
    }
}
