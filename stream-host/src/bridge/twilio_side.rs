//! Caller side: frames from Twilio.

use phone_realtime::client;
use phone_twilio::media::{MediaError, StreamEvent, parse_stream_event};

use super::{Bridge, EndReason, MAX_QUEUED_FRAMES, Step};

impl Bridge {
    pub(super) async fn on_twilio(&mut self, text: &str) -> Step {
        self.outcome.stats.messages += 1;
        if text.len() > self.state.inner.config.max_frame_bytes {
            self.outcome.stats.dropped_frames += 1;
            tracing::debug!(bytes = text.len(), "oversized Twilio frame dropped");
            return Step::Continue;
        }
        match parse_stream_event(text) {
            Ok(StreamEvent::Media { media }) => {
                self.outcome.stats.frames_in += 1;
                self.outcome.stats.bytes_in += media.payload.len() as u64 * 3 / 4;
                let append = client::append_audio(&media.payload);
                if self.session.ready {
                    if self.send_openai(append).await.is_err() {
                        // The OpenAI reader will see the failure and reconnect; keep the frame.
                        self.queue(client::append_audio(&media.payload));
                    }
                } else {
                    self.queue(append);
                }
                Step::Continue
            }
            Ok(StreamEvent::Mark { mark }) => {
                self.playback.mark_played(&mark.name);
                self.maybe_finish_goodbye()
            }
            Ok(StreamEvent::Stop) => Step::End(EndReason::CallerHungUp),
            Ok(StreamEvent::Dtmf { dtmf }) => {
                tracing::info!(digit = %dtmf.digit, "dtmf");
                Step::Continue
            }
            Ok(_) | Err(MediaError::UnknownEvent) => Step::Continue,
            Err(e) => {
                self.outcome.stats.dropped_frames += 1;
                if self.outcome.stats.dropped_frames <= 5 {
                    tracing::warn!(error = %e, "malformed Twilio frame dropped");
                }
                Step::Continue
            }
        }
    }

    pub(super) fn queue(&mut self, append: String) {
        if self.queued.len() == MAX_QUEUED_FRAMES {
            self.queued.remove(0);
            self.outcome.stats.dropped_frames += 1;
        }
        self.queued.push(append);
    }
}
