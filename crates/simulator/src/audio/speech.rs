//! Speech for simulated calls: espeak-ng when it is installed, else a speech-like signal.
//!
//! espeak-ng is an optional system program (`apt-get install espeak-ng`); everything works
//! without it, using [`speech_like`] audio, which a voice activity detector treats as speech
//! but which has no words. Callers say which one they used.

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Pcm, read_wav};

/// Rate of the generated speech-like audio.
const SYNTH_RATE: u32 = 8000;

/// Whether `espeak-ng` can be run.
pub fn espeak_available() -> bool {
    std::process::Command::new("espeak-ng")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Speaks `text` with espeak-ng; `None` when espeak-ng is absent or fails.
///
/// `voice` is an espeak-ng voice name such as `en-us` or `en-us+f3`. The audio goes through a
/// temporary file: espeak-ng's `--stdout` WAV header has no real length, which strict readers
/// refuse.
pub async fn synthesize(text: &str, voice: &str) -> Option<Pcm> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "phone-sim-espeak-{}-{}.wav",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let status = tokio::process::Command::new("espeak-ng")
        .args(["-v", voice, "-s", "165", "-w"])
        .arg(&path)
        // `--` so a text starting with `-` is never taken for an option.
        .arg("--")
        .arg(text)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    let pcm = match status {
        Ok(s) if s.success() => read_wav(&path).ok(),
        _ => None,
    };
    let _ = std::fs::remove_file(&path);
    pcm.filter(|p| !p.samples.is_empty())
}

/// A speech-like signal for `text` when no synthesiser is available: voiced "syllables" (a
/// harmonic series on a gliding pitch, shaped by a syllable-rate envelope) separated by short
/// gaps, about as long as speaking the text would take. It has speech's energy pattern, so a
/// VAD hears it as speech; it is not intelligible.
pub fn speech_like(text: &str, pitch_hz: f32) -> Pcm {
    let syllables = text
        .split_whitespace()
        .map(|w| (w.chars().filter(|c| "aeiouyAEIOUY".contains(*c)).count()).max(1))
        .sum::<usize>()
        .max(1);
    let syllable_samples = (SYNTH_RATE as usize) * 180 / 1000;
    let gap_samples = (SYNTH_RATE as usize) * 60 / 1000;
    let mut samples = Vec::with_capacity(syllables * (syllable_samples + gap_samples));
    let mut phase = 0f32;
    for k in 0..syllables {
        // A falling intonation over the utterance, with a small rise and fall per syllable.
        let base = pitch_hz * (1.15 - 0.3 * k as f32 / syllables as f32);
        for i in 0..syllable_samples {
            let t = i as f32 / syllable_samples as f32;
            let envelope = (std::f32::consts::PI * t).sin().powf(0.7);
            let f0 = base * (1.0 + 0.08 * (std::f32::consts::PI * t).sin());
            phase += std::f32::consts::TAU * f0 / SYNTH_RATE as f32;
            // Harmonics up to about 3.4 kHz with a -6 dB/octave tilt, like a voiced vowel.
            let mut value = 0f32;
            let mut h = 1;
            while f0 * h as f32 <= 3400.0 && h <= 16 {
                value += (phase * h as f32).sin() / h as f32;
                h += 1;
            }
            samples.push(0.22 * envelope * value);
        }
        samples.extend(std::iter::repeat_n(0.0, gap_samples));
    }
    Pcm {
        rate: SYNTH_RATE,
        samples,
    }
}

/// Speech for `text`: espeak-ng when available, else [`speech_like`]. The flag says whether
/// it is real speech.
pub async fn speak(text: &str, voice: &str, pitch_hz: f32) -> (Pcm, bool) {
    match synthesize(text, voice).await {
        Some(pcm) => (pcm, true),
        None => (speech_like(text, pitch_hz), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speech_like_audio_lasts_about_as_long_as_speaking() {
        let pcm = speech_like("I would like to book a dentist appointment", 120.0);
        let ms = pcm.duration_ms();
        assert!((2000..5000).contains(&ms), "{ms} ms");
        let peak = pcm.samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.2 && peak <= 1.0, "peak {peak}");
    }

    #[tokio::test]
    async fn espeak_speech_is_used_when_installed() {
        let (pcm, real) = speak("hello there", "en-us", 120.0).await;
        assert_eq!(real, espeak_available());
        assert!(pcm.duration_ms() > 300);
    }
}
