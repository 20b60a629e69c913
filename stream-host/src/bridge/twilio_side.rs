//! Caller side: frames from Twilio.

use phone_twilio::media::{MediaError, StreamEvent, parse_stream_event};

use super::{Bridge, MAX_QUEUED_FRAMES, Step};

impl Bridge {
    pub(super) async fn on_twilio(&mut self, text: &str) -> Step {
        let max_frame = self.state.inner.config.max_frame_bytes;
        let stats = self.core.stats_mut();
        stats.messages += 1;
        if text.len() > max_frame {
            stats.dropped_frames += 1;
            tracing::debug!(bytes = text.len(), "oversized Twilio frame dropped");
            return Step::Continue;
        }
        match parse_stream_event(text) {
            Ok(StreamEvent::Media { media }) => {
                stats.frames_in += 1;
                let bytes = media.payload.len() * 3 / 4;
                stats.bytes_in += bytes as u64;
                self.last_caller_audio = tokio::time::Instant::now();
                if self.core.awaiting_answer() {
                    // An outbound call before the detection's verdict: a voicemail greeting
                    // or a "hello?" that the greeting answers; not the conversation.
                    return Step::Continue;
                }
                self.core.caller_audio(bytes, self.last_caller_audio);
                let append = self.engine.append_audio(&media.payload);
                if self.core.audio_flows() && self.engine_socket.is_some() {
                    self.send_engine(append).await;
                } else {
                    self.queue(append);
                }
            }
            Ok(StreamEvent::Mark { mark }) => self.core.twilio_mark(&mark.name),
            Ok(StreamEvent::Stop) => self.core.caller_hung_up(),
            Ok(StreamEvent::Dtmf { dtmf }) => match dtmf.key() {
                // The key itself is not logged: it may be part of a PIN.
                Some(key) => {
                    let wall = self.state.inner.store.clock().now();
                    self.core
                        .caller_pressed(key, tokio::time::Instant::now(), wall);
                }
                None => {
                    stats.dropped_frames += 1;
                    if stats.dropped_frames <= 5 {
                        tracing::warn!(
                            length = dtmf.digit.len(),
                            "dtmf message with no keypad key dropped"
                        );
                    }
                }
            },
            Ok(_) | Err(MediaError::UnknownEvent) => {}
            Err(e) => {
                stats.dropped_frames += 1;
                if stats.dropped_frames <= 5 {
                    tracing::warn!(error = %e, "malformed Twilio frame dropped");
                }
            }
        }
        Step::Continue
    }

    fn queue(&mut self, append: String) {
        if self.queued.len() == MAX_QUEUED_FRAMES {
            self.queued.remove(0);
            self.core.stats_mut().dropped_frames += 1;
        }
        self.queued.push(append);
    }
}
