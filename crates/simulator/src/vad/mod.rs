//! An energy-based voice activity detector, the kind a telephone server runs on μ-law audio.
//!
//! Each 20 ms frame's energy is measured in dBFS. The noise floor is the quietest frame of the
//! last few seconds (minimum statistics), so it follows line noise up and down without being
//! pulled up by speech, which always has pauses between syllables. A frame is active when it is
//! well above that floor and above an absolute minimum. Speech starts after enough active audio
//! (so a click is not a turn) and stops after a hangover of silence (so the pause between two
//! words does not end the turn).

use std::collections::VecDeque;

use crate::audio::{FRAME_BYTES, FRAME_MS, mulaw};

/// Tuning of the detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadConfig {
    /// A frame must be this many dB above the noise floor to count as voice.
    pub margin_db: f32,
    /// …and louder than this, so faint noise after digital silence is not speech.
    pub min_level_dbfs: f32,
    /// Active audio needed before speech is declared started.
    pub min_speech_ms: u64,
    /// Silence needed before speech is declared stopped.
    pub hangover_ms: u64,
    /// How far back the noise floor looks for the quietest frame.
    pub floor_window_ms: u64,
}

impl Default for VadConfig {
    fn default() -> Self {
        // Close to OpenAI's server VAD defaults: 500 ms of silence ends a turn.
        Self {
            margin_db: 12.0,
            min_level_dbfs: -45.0,
            min_speech_ms: 100,
            hangover_ms: 500,
            floor_window_ms: 3000,
        }
    }
}

/// A change of state, with times in milliseconds of audio since the detector started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadEvent {
    /// Speech began at `start_ms` (the first active frame, not when it was confirmed).
    SpeechStarted {
        /// Start of the first active frame.
        start_ms: u64,
    },
    /// Speech ended at `end_ms` (the end of the last active frame).
    SpeechStopped {
        /// End of the last active frame.
        end_ms: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Silence,
    /// Active frames seen since `start_ms`, not yet long enough to be speech.
    Onset {
        start_ms: u64,
        active_ms: u64,
    },
    /// In speech; `last_active_end_ms` is the end of the latest active frame.
    Speech {
        last_active_end_ms: u64,
    },
}

/// Frame energy of digital silence, which has no logarithm.
const FLOOR_DBFS: f32 = -96.0;

/// The detector. Feed it audio in any chunk size; it works in 20 ms frames.
#[derive(Debug, Clone)]
pub struct Vad {
    config: VadConfig,
    state: State,
    /// Samples of a frame not yet complete.
    pending: Vec<i16>,
    /// Milliseconds of audio processed (whole frames).
    clock_ms: u64,
    /// Energies of recent frames, for the noise floor.
    recent: VecDeque<f32>,
}

/// Energy of 16-bit samples in dB relative to full scale (a full-scale square wave is 0 dBFS).
pub fn frame_dbfs(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return FLOOR_DBFS;
    }
    let mean_square = samples
        .iter()
        .map(|&s| {
            let x = f64::from(s) / 32768.0;
            x * x
        })
        .sum::<f64>()
        / samples.len() as f64;
    if mean_square <= 0.0 {
        return FLOOR_DBFS;
    }
    ((10.0 * mean_square.log10()) as f32).max(FLOOR_DBFS)
}

impl Default for Vad {
    fn default() -> Self {
        Self::new(VadConfig::default())
    }
}

impl Vad {
    /// A detector in the silent state at time 0.
    pub fn new(config: VadConfig) -> Self {
        Self {
            config,
            state: State::Silence,
            pending: Vec::with_capacity(FRAME_BYTES),
            clock_ms: 0,
            recent: VecDeque::new(),
        }
    }

    /// Milliseconds of audio processed so far.
    pub fn clock_ms(&self) -> u64 {
        self.clock_ms
    }

    /// Whether the detector is currently in speech.
    pub fn in_speech(&self) -> bool {
        matches!(self.state, State::Speech { .. })
    }

    /// The current noise floor in dBFS.
    pub fn noise_floor_dbfs(&self) -> f32 {
        self.recent
            .iter()
            .copied()
            .fold(f32::INFINITY, f32::min)
            .min(0.0)
    }

    /// Feeds μ-law bytes (8 kHz); returns the state changes they caused, in order.
    pub fn push_mulaw(&mut self, bytes: &[u8]) -> Vec<VadEvent> {
        let samples: Vec<i16> = bytes.iter().map(|&b| mulaw::decode(b)).collect();
        self.push_pcm(&samples)
    }

    /// Feeds 16-bit 8 kHz samples; returns the state changes they caused, in order.
    pub fn push_pcm(&mut self, samples: &[i16]) -> Vec<VadEvent> {
        let mut events = Vec::new();
        for &s in samples {
            self.pending.push(s);
            if self.pending.len() == FRAME_BYTES {
                let energy = frame_dbfs(&self.pending);
                self.pending.clear();
                events.extend(self.frame(energy));
            }
        }
        events
    }

    fn frame(&mut self, energy: f32) -> Option<VadEvent> {
        let floor = if self.recent.is_empty() {
            // The first frame sets the floor: it cannot be judged against nothing.
            energy
        } else {
            self.noise_floor_dbfs()
        };
        let window = (self.config.floor_window_ms / FRAME_MS).max(1) as usize;
        self.recent.push_back(energy);
        while self.recent.len() > window {
            self.recent.pop_front();
        }
        let active = energy > floor + self.config.margin_db && energy > self.config.min_level_dbfs;
        let start = self.clock_ms;
        self.clock_ms += FRAME_MS;
        let end = self.clock_ms;
        match (self.state, active) {
            (State::Silence, true) => {
                self.state = State::Onset {
                    start_ms: start,
                    active_ms: FRAME_MS,
                };
                self.confirm_onset()
            }
            (State::Silence, false) => None,
            (
                State::Onset {
                    start_ms,
                    active_ms,
                },
                true,
            ) => {
                self.state = State::Onset {
                    start_ms,
                    active_ms: active_ms + FRAME_MS,
                };
                self.confirm_onset()
            }
            (
                State::Onset {
                    start_ms,
                    active_ms,
                },
                false,
            ) => {
                // A short gap inside an onset (a plosive, a dip between harmonics) is allowed;
                // a gap as long as the onset itself means it was a click.
                if end.saturating_sub(start_ms) > 2 * active_ms + FRAME_MS {
                    self.state = State::Silence;
                }
                None
            }
            (State::Speech { .. }, true) => {
                self.state = State::Speech {
                    last_active_end_ms: end,
                };
                None
            }
            (State::Speech { last_active_end_ms }, false) => {
                if end - last_active_end_ms >= self.config.hangover_ms {
                    self.state = State::Silence;
                    Some(VadEvent::SpeechStopped {
                        end_ms: last_active_end_ms,
                    })
                } else {
                    None
                }
            }
        }
    }

    fn confirm_onset(&mut self) -> Option<VadEvent> {
        match self.state {
            State::Onset {
                start_ms,
                active_ms,
            } if active_ms >= self.config.min_speech_ms => {
                self.state = State::Speech {
                    last_active_end_ms: self.clock_ms,
                };
                Some(VadEvent::SpeechStarted { start_ms })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
