use std::f32::consts::TAU;

use super::*;
use crate::audio::speech::speech_like;

const RATE: f32 = 8000.0;

/// Deterministic white noise at `dbfs` (RMS), from a xorshift generator.
fn noise(ms: u64, dbfs: f32, seed: &mut u32) -> Vec<f32> {
    let amp = 10f32.powf(dbfs / 20.0) * 3f32.sqrt();
    (0..ms * 8)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 17;
            *seed ^= *seed << 5;
            amp * ((*seed as f32 / u32::MAX as f32) * 2.0 - 1.0)
        })
        .collect()
}

/// A vowel-like harmonic tone (f0 and harmonics) amplitude-modulated at a syllable rate of
/// 4 Hz, as voiced speech is.
fn modulated_voice(ms: u64, f0: f32, peak: f32) -> Vec<f32> {
    (0..ms * 8)
        .map(|i| {
            let t = i as f32 / RATE;
            let syllable = 0.55 + 0.45 * (TAU * 4.0 * t).sin();
            let voiced: f32 = (1..=10)
                .map(|h| (TAU * f0 * h as f32 * t).sin() / h as f32)
                .sum();
            peak * 0.5 * syllable * voiced
        })
        .collect()
}

fn silence(ms: u64) -> Vec<f32> {
    vec![0.0; (ms * 8) as usize]
}

fn to_mulaw(samples: &[f32]) -> Vec<u8> {
    samples
        .iter()
        .map(|&s| mulaw::encode((s.clamp(-1.0, 1.0) * 32767.0) as i16))
        .collect()
}

fn run(samples: &[f32]) -> Vec<VadEvent> {
    let mut vad = Vad::default();
    // Fed in uneven chunks, as a socket delivers them.
    to_mulaw(samples)
        .chunks(137)
        .flat_map(|c| vad.push_mulaw(c))
        .collect()
}

fn near(actual: u64, expected: u64, tolerance: u64) -> bool {
    actual.abs_diff(expected) <= tolerance
}

#[test]
fn digital_silence_is_never_speech() {
    assert!(run(&silence(10_000)).is_empty());
}

#[test]
fn low_line_noise_is_never_speech() {
    let mut seed = 7;
    assert!(run(&noise(10_000, -60.0, &mut seed)).is_empty());
    // Faint noise right after digital silence is below the absolute minimum level.
    let mut audio = silence(1000);
    audio.extend(noise(5000, -52.0, &mut seed));
    assert!(run(&audio).is_empty());
}

#[test]
fn steady_loud_noise_is_learned_as_the_floor() {
    let mut seed = 11;
    assert!(run(&noise(10_000, -30.0, &mut seed)).is_empty());
}

#[test]
fn a_click_is_too_short_to_be_speech() {
    let mut audio = silence(1000);
    audio.extend(modulated_voice(40, 150.0, 0.6));
    audio.extend(silence(2000));
    assert!(run(&audio).is_empty());
}

#[test]
fn modulated_voice_in_silence_is_one_turn_with_accurate_times() {
    let mut audio = silence(1000);
    audio.extend(modulated_voice(2000, 130.0, 0.4));
    audio.extend(silence(1500));
    let events = run(&audio);
    assert_eq!(events.len(), 2, "{events:?}");
    match events[..] {
        [
            VadEvent::SpeechStarted { start_ms },
            VadEvent::SpeechStopped { end_ms },
        ] => {
            assert!(near(start_ms, 1000, 40), "start {start_ms}");
            assert!(near(end_ms, 3000, 60), "end {end_ms}");
        }
        _ => panic!("{events:?}"),
    }
}

#[test]
fn speech_in_line_noise_is_detected() {
    let mut seed = 3;
    let mut audio = noise(1500, -45.0, &mut seed);
    let voice = modulated_voice(1500, 200.0, 0.3);
    let hiss = noise(1500, -45.0, &mut seed);
    audio.extend(voice.iter().zip(&hiss).map(|(v, n)| v + n));
    audio.extend(noise(1500, -45.0, &mut seed));
    let events = run(&audio);
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(events[0], VadEvent::SpeechStarted { start_ms } if near(start_ms, 1500, 60)));
    assert!(matches!(events[1], VadEvent::SpeechStopped { end_ms } if near(end_ms, 3000, 100)));
}

#[test]
fn a_pause_shorter_than_the_hangover_does_not_end_the_turn() {
    let mut audio = silence(500);
    audio.extend(modulated_voice(800, 120.0, 0.4));
    audio.extend(silence(300));
    audio.extend(modulated_voice(800, 120.0, 0.4));
    audio.extend(silence(1000));
    let events = run(&audio);
    assert_eq!(events.len(), 2, "{events:?}");
}

#[test]
fn two_turns_separated_by_a_long_pause_are_two_turns() {
    let mut audio = silence(500);
    audio.extend(modulated_voice(800, 120.0, 0.4));
    audio.extend(silence(1200));
    audio.extend(modulated_voice(800, 120.0, 0.4));
    audio.extend(silence(1000));
    let events = run(&audio);
    assert_eq!(events.len(), 4, "{events:?}");
}

#[test]
fn generated_speech_like_audio_is_speech() {
    let speech = speech_like("I would like to book a dentist appointment please", 120.0);
    let mut audio = silence(800);
    audio.extend(&speech.samples);
    audio.extend(silence(1000));
    let events = run(&audio);
    assert_eq!(events.len(), 2, "{events:?}");
    let speech_end = 800 + speech.duration_ms();
    assert!(matches!(events[1], VadEvent::SpeechStopped { end_ms } if end_ms <= speech_end));
}

#[test]
fn stop_is_reported_after_the_hangover() {
    let mut vad = Vad::default();
    let mut audio = silence(200);
    audio.extend(modulated_voice(600, 150.0, 0.5));
    let mut events = vad.push_mulaw(&to_mulaw(&audio));
    assert!(vad.in_speech());
    events.extend(vad.push_mulaw(&to_mulaw(&silence(400))));
    assert_eq!(events.len(), 1, "not stopped before the 500 ms hangover");
    events.extend(vad.push_mulaw(&to_mulaw(&silence(200))));
    assert_eq!(events.len(), 2);
    assert!(!vad.in_speech());
}

#[test]
fn frame_energy_is_in_dbfs() {
    assert_eq!(frame_dbfs(&[0; 160]), -96.0);
    let full: Vec<i16> = (0..160)
        .map(|i| if i % 2 == 0 { 32767 } else { -32767 })
        .collect();
    assert!(frame_dbfs(&full).abs() < 0.01);
    let sine: Vec<i16> = (0..160)
        .map(|i| (16384.0 * (TAU * i as f32 / 16.0).sin()) as i16)
        .collect();
    // A half-scale sine: -6 dB for the amplitude, -3 dB for sine RMS.
    assert!(
        (frame_dbfs(&sine) + 9.03).abs() < 0.1,
        "{}",
        frame_dbfs(&sine)
    );
}

#[tokio::test]
async fn espeak_sentence_is_one_turn_when_installed() {
    let Some(speech) = crate::audio::speech::synthesize(
        "Tomorrow at three in the afternoon, for thirty minutes.",
        "en-us",
    )
    .await
    else {
        // espeak-ng is optional; the speech-like test above covers the detector without it.
        return;
    };
    let narrow = crate::audio::resample(&speech, 8000).unwrap();
    let mut audio = silence(600);
    audio.extend(&narrow.samples);
    audio.extend(silence(1000));
    let events = run(&audio);
    assert_eq!(events.len(), 2, "{events:?}");
}
