//! The caller's turns as server VAD reports them: speech started (cancelling the active
//! default-conversation response when `interrupt_response` is on), speech stopped, the commit
//! and user item, and the response `create_response` starts.

use serde_json::{Value, json};

use super::conversation::{ResponseHandle, Strict};
use super::script::Status;
use super::session;

impl Strict {
    /// The caller starts speaking: `speech_started`, which cancels the active default-conversation
    /// response when `interrupt_response` is on.
    pub(super) fn speech_started(&mut self) -> Result<(), String> {
        if !session::vad_on(&self.session) {
            return Err("turn detection is off: the server reports no speech".into());
        }
        if self.speaking.is_some() {
            return Err("the caller is already speaking".into());
        }
        let item = self.id("item");
        let start_ms = self.input_bytes / session::input_bytes_per_ms(&self.session);
        self.emit(json!({"type": "input_audio_buffer.speech_started",
            "audio_start_ms": start_ms, "item_id": item}));
        if session::vad_flag(&self.session, "interrupt_response")
            && let Some(index) = self.responses.iter().position(|r| !r.handle.out_of_band)
        {
            self.end_response(index, Status::Cancelled, "turn_detected", None);
        }
        self.speaking = Some(item);
        Ok(())
    }

    /// The caller stops: `speech_stopped`, the commit, the user item, and (with
    /// `create_response`, when no default response is active) a new response, returned.
    pub(super) fn speech_stopped(&mut self) -> Result<Option<ResponseHandle>, String> {
        let item = self
            .speaking
            .take()
            .ok_or("the caller is not speaking: start a turn first")?;
        let end_ms = self.input_bytes / session::input_bytes_per_ms(&self.session);
        self.emit(json!({"type": "input_audio_buffer.speech_stopped",
            "audio_end_ms": end_ms, "item_id": item}));
        self.commit_user_audio(&item);
        if !session::vad_flag(&self.session, "create_response") || self.default_active().is_some() {
            return Ok(None);
        }
        Ok(Some(self.start_response(false, Value::Null, None)))
    }

    /// The transcription of the caller's last turn.
    pub(super) fn caller_said(&mut self, text: &str) -> Result<(), String> {
        let item = self
            .last_user_item
            .clone()
            .ok_or("no caller turn to transcribe: run a VAD turn first")?;
        self.emit(
            json!({"type": "conversation.item.input_audio_transcription.completed",
            "item_id": item, "content_index": 0, "transcript": text,
            "usage": {"type": "duration", "seconds": 1.0}}),
        );
        Ok(())
    }
}
