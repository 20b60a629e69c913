//! The stand-in's voice: every reply rendered once to 8 kHz μ-law, with espeak-ng when it is
//! installed, else a speech-like harmonic tone pattern (audible, but without words).

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::audio::{self, speech};

/// espeak-ng voice of the assistant: a different voice from the caller's.
const ESPEAK_VOICE: &str = "en-us+f3";
/// Pitch of the fallback tone pattern, higher than the simulated caller's.
const FALLBACK_PITCH_HZ: f32 = 210.0;

/// Rendered replies, shared by every session of one server.
#[derive(Debug, Clone, Default)]
pub struct Voice {
    cache: Arc<Mutex<HashMap<String, Arc<Vec<u8>>>>>,
    espeak: bool,
}

impl Voice {
    /// A voice that uses espeak-ng if `espeak` says it is installed.
    pub fn new(espeak: bool) -> Self {
        Self {
            cache: Arc::default(),
            espeak,
        }
    }

    /// Whether replies are spoken words (espeak-ng) rather than a tone pattern.
    pub fn is_speech(&self) -> bool {
        self.espeak
    }

    /// The μ-law audio of `text`, rendered on first use.
    pub async fn render(&self, text: &str) -> Arc<Vec<u8>> {
        if let Some(hit) = self.cache.lock().await.get(text) {
            return hit.clone();
        }
        let pcm = if self.espeak {
            speech::synthesize(text, ESPEAK_VOICE).await
        } else {
            None
        };
        let pcm = pcm.unwrap_or_else(|| speech::speech_like(text, FALLBACK_PITCH_HZ));
        // Resampling only fails on a zero rate, which neither source produces; fall back to
        // the tone pattern at its native 8 kHz rather than send no audio.
        let bytes = audio::to_mulaw(&pcm).unwrap_or_else(|_| {
            audio::mulaw::encode_all(&speech::speech_like(text, FALLBACK_PITCH_HZ).to_i16())
        });
        let bytes = Arc::new(bytes);
        self.cache
            .lock()
            .await
            .insert(text.to_owned(), bytes.clone());
        bytes
    }
}
