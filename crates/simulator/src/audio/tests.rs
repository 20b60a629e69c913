use std::f32::consts::PI;

use super::*;

fn tone(rate: u32, hz: f32, ms: u64, amp: f32) -> Vec<f32> {
    let n = rate as u64 * ms / 1000;
    (0..n)
        .map(|i| amp * (2.0 * PI * hz * i as f32 / rate as f32).sin())
        .collect()
}

fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt()
}

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("phone-sim-{}-{name}", std::process::id()))
}

#[test]
fn stereo_44k1_wav_becomes_8k_mono_frames() {
    let path = temp_path("stereo.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let left = tone(44_100, 440.0, 1000, 0.5);
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for &s in &left {
        // Same tone on both channels: the mix-down keeps its level.
        let v = (s * 32767.0) as i16;
        w.write_sample(v).unwrap();
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();

    let frames = wav_to_frames(&path).unwrap();
    std::fs::remove_file(&path).ok();
    // One second is 50 frames of 20 ms.
    assert_eq!(frames.len(), 50);
    assert!(frames.iter().all(|f| f.len() == FRAME_BYTES));
    let pcm: Vec<f32> = frames
        .concat()
        .iter()
        .map(|&b| f32::from(mulaw::decode(b)) / 32768.0)
        .collect();
    // A 0.5 sine has RMS 0.354; resampling and μ-law keep it within a few percent.
    let level = rms(&pcm[800..7200]);
    assert!((level - 0.354).abs() < 0.02, "rms {level}");
    // Still 440 Hz: count zero crossings over the middle 0.8 s (2 per cycle).
    let mid = &pcm[800..7200];
    let crossings = mid
        .windows(2)
        .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
        .count();
    assert!((crossings as i32 - 704).abs() <= 4, "{crossings} crossings");
}

#[test]
fn reads_8_24_32_bit_int_and_float_wavs() {
    for (bits, format) in [
        (8, hound::SampleFormat::Int),
        (24, hound::SampleFormat::Int),
        (32, hound::SampleFormat::Int),
        (32, hound::SampleFormat::Float),
    ] {
        let path = temp_path(&format!("fmt{bits}{format:?}.wav"));
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: bits,
            sample_format: format,
        };
        let samples = tone(16_000, 300.0, 200, 0.25);
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for &s in &samples {
            match format {
                hound::SampleFormat::Float => w.write_sample(s).unwrap(),
                hound::SampleFormat::Int => {
                    let full = (1i64 << (bits - 1)) as f32;
                    w.write_sample((s * (full - 1.0)) as i32).unwrap()
                }
            }
        }
        w.finalize().unwrap();
        let pcm = read_wav(&path).unwrap();
        std::fs::remove_file(&path).ok();
        assert_eq!(pcm.rate, 16_000);
        assert_eq!(pcm.samples.len(), samples.len());
        let level = rms(&pcm.samples);
        assert!((level - 0.177).abs() < 0.01, "{bits} {format:?}: {level}");
    }
}

#[test]
fn downsampling_removes_content_above_4khz() {
    // A 6 kHz tone cannot exist at 8 kHz; band-limited resampling removes it instead of
    // folding it back to 2 kHz.
    let pcm = Pcm {
        rate: 48_000,
        samples: tone(48_000, 6000.0, 500, 0.5),
    };
    let out = resample(&pcm, SAMPLE_RATE).unwrap();
    assert_eq!(out.samples.len(), 4000);
    assert!(rms(&out.samples[400..3600]) < 0.01);
}

#[test]
fn heard_audio_round_trips_through_a_wav_file() {
    let path = temp_path("heard.wav");
    let bytes: Vec<u8> = (0..=255u8).cycle().take(800).collect();
    write_mulaw_wav(&path, &bytes).unwrap();
    let pcm = read_wav(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(pcm.rate, 8000);
    assert_eq!(to_mulaw(&pcm).unwrap().len(), 800);
    let back = to_mulaw(&pcm).unwrap();
    // 0x7F (negative zero) comes back as 0xFF; every other byte is exact.
    for (a, b) in bytes.iter().zip(&back) {
        assert!(a == b || (*a == 0x7F && *b == 0xFF), "{a:#x} -> {b:#x}");
    }
}

#[test]
fn short_last_frame_is_padded_with_silence() {
    let f = frames(&[0u8; 170]);
    assert_eq!(f.len(), 2);
    assert_eq!(f[1][9], 0);
    assert_eq!(f[1][10], mulaw::SILENCE);
}
