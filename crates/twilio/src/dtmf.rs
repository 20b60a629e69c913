//! Keypad tones (DTMF, ITU-T Q.23/Q.24) as 8 kHz μ-law, the audio of a Media Stream.
//!
//! - [`tones`] turns a [`KeySequence`] into audio: each key is the sum of its row and column
//!   sine ([`ROWS`] × [`COLUMNS`]) for [`TONE_MS`], then [`GAP_MS`] of silence; a pause (`w`)
//!   is [`PAUSE_MS`] of silence. The bridge sends it in-band to press keys on a menu.
//! - [`Detector`] finds keys in audio: a Goertzel filter per frequency over 20 ms blocks, a
//!   key only when one row and one column stand out, are loud enough, balanced (twist) and
//!   carry most of the block's energy (which speech, with its many harmonics, does not); a key
//!   is reported once per press, after two blocks in a row (40 ms, Q.24's shortest tone).
//!
//! Pure code, no I/O.

use phone_core::keypad::{Key, KeySequence, Press};

use crate::mulaw;

/// Row frequencies (Hz), top to bottom: `1 2 3 A`, `4 5 6 B`, `7 8 9 C`, `* 0 # D`.
pub const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
/// Column frequencies (Hz), left to right.
pub const COLUMNS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// How long each key sounds: above Q.24's 40 ms minimum with room for a lossy line, and the
/// usual length of a phone's automatic dialling.
pub const TONE_MS: u64 = 100;
/// Silence after each key, so a repeated key is heard as two presses.
pub const GAP_MS: u64 = 80;
/// Silence for a `w` (as Twilio's `sendDigits` pauses).
pub const PAUSE_MS: u64 = 500;

/// Samples per second.
const RATE: f32 = 8000.0;
/// Samples per detection block (20 ms: one Media Streams frame).
const BLOCK: usize = 160;
/// Peak of each of the two sines, as a fraction of full scale (about -12 dBFS each, -6 dBFS
/// for the pair): loud enough for any detector, far from clipping in μ-law.
const TONE_AMPLITUDE: f32 = 0.25;
/// Fade in and out of each tone, so its edges do not click (a click is broadband energy).
const RAMP_SAMPLES: usize = 40;

/// Smallest power of each of the two tones (a sine of peak 0.01, -40 dBFS).
const MIN_TONE_POWER: f32 = 0.01 * 0.01 / 2.0;
/// Largest column/row power ratio (4 dB "normal twist").
const MAX_NORMAL_TWIST: f32 = 2.5;
/// Largest row/column power ratio (8 dB "reverse twist").
const MAX_REVERSE_TWIST: f32 = 6.3;
/// The strongest row (column) must exceed every other row (column) by this ratio (6 dB).
const MIN_PEAK_RATIO: f32 = 4.0;
/// Share of the block's energy the two tones must carry.
const MIN_PURITY: f32 = 0.6;
/// Blocks in a row a key must be heard before it counts (and silent before it is released).
const BLOCKS_TO_CONFIRM: u8 = 2;

/// 8 kHz μ-law audio that presses `sequence`'s keys, with its pauses.
pub fn tones(sequence: &KeySequence) -> Vec<u8> {
    let mut out = Vec::new();
    for press in sequence.presses() {
        match press {
            Press::Key(key) => {
                out.extend(mulaw::encode_all(&key_samples(*key, TONE_MS)));
                out.extend(silence(GAP_MS));
            }
            Press::Pause => out.extend(silence(PAUSE_MS)),
        }
    }
    out
}

/// `ms` of μ-law silence.
pub fn silence(ms: u64) -> Vec<u8> {
    vec![mulaw::SILENCE; samples_for(ms)]
}

fn samples_for(ms: u64) -> usize {
    (ms * RATE as u64 / 1000) as usize
}

/// `ms` of one key's tone pair as 16-bit PCM, faded in and out.
pub fn key_samples(key: Key, ms: u64) -> Vec<i16> {
    let (row, column) = key.position();
    let (low, high) = (ROWS[row], COLUMNS[column]);
    let n = samples_for(ms);
    (0..n)
        .map(|i| {
            let t = i as f32 / RATE;
            let edge = i.min(n - 1 - i);
            let ramp = if edge < RAMP_SAMPLES {
                edge as f32 / RAMP_SAMPLES as f32
            } else {
                1.0
            };
            let value = TONE_AMPLITUDE
                * ramp
                * ((std::f32::consts::TAU * low * t).sin()
                    + (std::f32::consts::TAU * high * t).sin());
            (value * f32::from(i16::MAX)) as i16
        })
        .collect()
}

/// Finds key presses in a stream of μ-law audio fed in pieces of any size.
#[derive(Debug, Default)]
pub struct Detector {
    block: Vec<f32>,
    /// What the latest blocks heard, and how many blocks in a row.
    heard: Option<Key>,
    run: u8,
    /// The key held down, already reported.
    held: Option<Key>,
}

impl Detector {
    /// A detector that has heard nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds μ-law audio; returns the keys whose press completed in it, in order.
    pub fn push(&mut self, mulaw_audio: &[u8]) -> Vec<Key> {
        let mut pressed = Vec::new();
        for &byte in mulaw_audio {
            self.block
                .push(f32::from(mulaw::decode(byte)) / f32::from(i16::MAX));
            if self.block.len() == BLOCK {
                let key = classify(&self.block);
                self.block.clear();
                if let Some(key) = self.step(key) {
                    pressed.push(key);
                }
            }
        }
        pressed
    }

    /// One block's verdict; returns a key when a new press is confirmed.
    fn step(&mut self, key: Option<Key>) -> Option<Key> {
        if key == self.heard {
            self.run = self.run.saturating_add(1);
        } else {
            self.heard = key;
            self.run = 1;
        }
        if self.run < BLOCKS_TO_CONFIRM || self.heard == self.held {
            return None;
        }
        self.held = self.heard;
        self.held
    }
}

/// The key one block holds, if any.
fn classify(block: &[f32]) -> Option<Key> {
    let energy = block.iter().map(|s| s * s).sum::<f32>() / block.len() as f32;
    if energy < 2.0 * MIN_TONE_POWER {
        return None;
    }
    let rows = ROWS.map(|f| goertzel(block, f));
    let columns = COLUMNS.map(|f| goertzel(block, f));
    let (row, row_power) = strongest(&rows)?;
    let (column, column_power) = strongest(&columns)?;
    let loud = row_power >= MIN_TONE_POWER && column_power >= MIN_TONE_POWER;
    let balanced = column_power <= row_power * MAX_NORMAL_TWIST
        && row_power <= column_power * MAX_REVERSE_TWIST;
    let pure = row_power + column_power >= MIN_PURITY * energy;
    (loud && balanced && pure)
        .then(|| Key::at(row, column))
        .flatten()
}

/// The index and power of the strongest of four, if it stands out from the other three.
fn strongest(powers: &[f32; 4]) -> Option<(usize, f32)> {
    let (index, &power) = powers
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))?;
    let stands_out = powers
        .iter()
        .enumerate()
        .all(|(i, &p)| i == index || p * MIN_PEAK_RATIO <= power);
    stands_out.then_some((index, power))
}

/// Power of `frequency` in `block` (Goertzel), scaled so a sine of peak `a` gives about
/// `a²/2`, its mean power, comparable with the block's mean energy.
fn goertzel(block: &[f32], frequency: f32) -> f32 {
    let coefficient = 2.0 * (std::f32::consts::TAU * frequency / RATE).cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in block {
        let s0 = x + coefficient * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let magnitude_squared = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
    let n = block.len() as f32;
    2.0 * magnitude_squared / (n * n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(audio: &[u8]) -> String {
        let mut detector = Detector::new();
        // Fed in Media Streams' 160-byte frames, and once more in odd pieces.
        let framed: String = audio
            .chunks(160)
            .flat_map(|f| detector.push(f))
            .map(Key::as_char)
            .collect();
        let mut odd = Detector::new();
        let pieces: String = audio
            .chunks(37)
            .flat_map(|f| odd.push(f))
            .map(Key::as_char)
            .collect();
        assert_eq!(framed, pieces, "the framing changes nothing");
        framed
    }

    fn sequence(text: &str) -> KeySequence {
        KeySequence::parse(text).unwrap()
    }

    /// A small deterministic noise source (xorshift), uniform in [-1, 1].
    struct Noise(u64);
    impl Noise {
        fn next(&mut self) -> f32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        }
    }

    fn pcm(audio: &[u8]) -> Vec<f32> {
        audio
            .iter()
            .map(|&b| f32::from(mulaw::decode(b)) / f32::from(i16::MAX))
            .collect()
    }

    fn to_mulaw(samples: &[f32]) -> Vec<u8> {
        samples
            .iter()
            .map(|s| mulaw::encode((s.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16))
            .collect()
    }

    #[test]
    fn every_key_round_trips_in_order() {
        let keys = "1234567890*#ABCD";
        assert_eq!(detect(&tones(&sequence(keys))), keys);
    }

    #[test]
    fn a_repeated_key_is_two_presses_and_pauses_press_nothing() {
        let audio = tones(&sequence("11w#w0"));
        assert_eq!(detect(&audio), "11#0");
        let expected_ms = 4 * (TONE_MS + GAP_MS) + 2 * PAUSE_MS;
        assert_eq!(audio.len() as u64, expected_ms * 8);
    }

    #[test]
    fn keys_are_found_through_noise_and_at_any_offset() {
        let mut audio = silence(0);
        audio.extend(vec![mulaw::SILENCE; 53]);
        audio.extend(tones(&sequence("5917#")));
        let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
        // White noise about 12 dB under the tone pair.
        let noisy: Vec<f32> = pcm(&audio)
            .into_iter()
            .map(|s| s + 0.12 * noise.next())
            .collect();
        assert_eq!(detect(&to_mulaw(&noisy)), "5917#");
    }

    #[test]
    fn quiet_tones_and_short_blips_press_nothing() {
        // 40 dB down: below the level a line would carry a real key.
        let quiet: Vec<f32> = pcm(&tones(&sequence("123")))
            .into_iter()
            .map(|s| s * 0.01)
            .collect();
        assert_eq!(detect(&to_mulaw(&quiet)), "");
        // 15 ms: shorter than any real press.
        let blip = mulaw::encode_all(&key_samples(Key::Digit(8), 15));
        assert_eq!(detect(&blip), "");
    }

    #[test]
    fn speech_noise_and_beeps_press_nothing() {
        // Voiced speech: harmonics of a gliding pitch with a -6 dB/octave tilt, syllable by
        // syllable, at several pitches (some harmonics land on DTMF frequencies).
        for pitch in [90.0f32, 120.0, 139.0, 175.0, 210.0, 240.0] {
            let mut speech = Vec::new();
            for i in 0..(8000 * 3) {
                let t = i as f32 / RATE;
                let f0 = pitch * (1.0 + 0.1 * (std::f32::consts::TAU * 0.7 * t).sin());
                let envelope = (std::f32::consts::PI * (t * 4.0).fract()).sin();
                let mut v = 0.0;
                let mut h = 1.0;
                while h * f0 < 3400.0 {
                    v += (std::f32::consts::TAU * h * f0 * t).sin() / h;
                    h += 1.0;
                }
                speech.push(0.3 * envelope * v);
            }
            assert_eq!(detect(&to_mulaw(&speech)), "", "pitch {pitch}");
        }
        let mut noise = Noise(42);
        let hiss: Vec<f32> = (0..16000).map(|_| 0.5 * noise.next()).collect();
        assert_eq!(detect(&to_mulaw(&hiss)), "");
        // An answering machine's beep: one tone, not a pair.
        let beep: Vec<f32> = (0..4000)
            .map(|i| 0.5 * (std::f32::consts::TAU * 1000.0 * i as f32 / RATE).sin())
            .collect();
        assert_eq!(detect(&to_mulaw(&beep)), "");
        // Two sines that are not a DTMF pair (a dial tone: 350 + 440 Hz).
        let dial: Vec<f32> = (0..8000)
            .map(|i| {
                let t = i as f32 / RATE;
                0.25 * ((std::f32::consts::TAU * 350.0 * t).sin()
                    + (std::f32::consts::TAU * 440.0 * t).sin())
            })
            .collect();
        assert_eq!(detect(&to_mulaw(&dial)), "");
    }

    #[test]
    fn a_key_held_long_is_one_press() {
        let long = mulaw::encode_all(&key_samples(Key::Star, 1500));
        assert_eq!(detect(&long), "*");
    }
}
