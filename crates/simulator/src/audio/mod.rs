//! Audio for simulated calls: WAV in any format → mono → 8 kHz → μ-law → 20 ms frames, and
//! μ-law back to a 16-bit WAV of what the caller heard.
//!
//! Resampling uses `rubato`'s synchronous FFT resampler: it is band-limited (an anti-aliasing
//! low-pass at the new Nyquist frequency, which matters when taking 44.1 kHz music or speech
//! down to a 4 kHz telephone band), exact for fixed ratios, pure Rust, and maintained as the
//! resampler of the Rust audio ecosystem (CamillaDSP). Naive decimation would fold everything
//! above 4 kHz back into the band as audible hiss.

/// G.711 μ-law, shared with the bridge's DTMF codec.
pub use phone_twilio::mulaw;
pub mod speech;

use std::io::Read;
use std::path::Path;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Telephone sample rate: Twilio Media Streams are μ-law at 8 kHz.
pub const SAMPLE_RATE: u32 = 8000;
/// Milliseconds in one Media Streams frame.
pub const FRAME_MS: u64 = 20;
/// μ-law bytes in one 20 ms frame (8 bytes per millisecond).
pub const FRAME_BYTES: usize = 160;

/// Why audio could not be read, converted or written.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The WAV file could not be read or written.
    #[error("WAV: {0}")]
    Wav(#[from] hound::Error),
    /// The WAV declares something this reader does not handle.
    #[error("unsupported WAV: {0}")]
    Unsupported(String),
    /// The resampler refused the rates or the data.
    #[error("resampling: {0}")]
    Resample(String),
}

/// Mono audio as floating-point samples in `[-1, 1]` at some rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Pcm {
    /// Samples per second.
    pub rate: u32,
    /// The samples.
    pub samples: Vec<f32>,
}

impl Pcm {
    /// Length in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        if self.rate == 0 {
            return 0;
        }
        self.samples.len() as u64 * 1000 / u64::from(self.rate)
    }

    /// Samples as 16-bit integers, clipped.
    pub fn to_i16(&self) -> Vec<i16> {
        self.samples
            .iter()
            .map(|&s| (s.clamp(-1.0, 1.0) * f32::from(i16::MAX)).round() as i16)
            .collect()
    }
}

/// Reads a WAV file of any rate, channel count and sample format, mixed down to mono.
pub fn read_wav(path: &Path) -> Result<Pcm, AudioError> {
    decode_wav(hound::WavReader::open(path)?)
}

/// Reads WAV data from any reader (a file, or bytes in memory).
pub fn read_wav_from<R: Read>(reader: R) -> Result<Pcm, AudioError> {
    decode_wav(hound::WavReader::new(reader)?)
}

fn decode_wav<R: Read>(mut reader: hound::WavReader<R>) -> Result<Pcm, AudioError> {
    let spec = reader.spec();
    let channels = usize::from(spec.channels);
    if channels == 0 || spec.sample_rate == 0 {
        return Err(AudioError::Unsupported(format!(
            "{} channels at {} Hz",
            spec.channels, spec.sample_rate
        )));
    }
    let interleaved: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => reader.samples::<f32>().collect::<Result<_, _>>()?,
        (hound::SampleFormat::Int, bits @ 1..=32) => {
            // hound yields integers in ±2^(bits-1) (8-bit unsigned data is re-centred).
            let full_scale = (1u64 << (bits - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 / full_scale))
                .collect::<Result<_, _>>()?
        }
        (format, bits) => {
            return Err(AudioError::Unsupported(format!("{format:?} {bits}-bit")));
        }
    };
    // Averaging the channels keeps the level of a centred (identical) signal unchanged.
    let samples = interleaved
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f32>() / channels as f32)
        .collect();
    Ok(Pcm {
        rate: spec.sample_rate,
        samples,
    })
}

/// Resamples mono audio to `rate`, band-limited. Returns the input unchanged when the rate
/// already matches.
pub fn resample(pcm: &Pcm, rate: u32) -> Result<Pcm, AudioError> {
    if pcm.rate == rate || pcm.samples.is_empty() {
        return Ok(Pcm {
            rate,
            samples: pcm.samples.clone(),
        });
    }
    let err = |e: &dyn std::fmt::Display| AudioError::Resample(e.to_string());
    let mut resampler =
        Fft::<f32>::new(pcm.rate as usize, rate as usize, 1024, 1, FixedSync::Input)
            .map_err(|e| err(&e))?;
    let input =
        InterleavedSlice::new(&pcm.samples[..], 1, pcm.samples.len()).map_err(|e| err(&e))?;
    // `process_all` runs the chunk loop and trims the filter delay, so the output is aligned
    // with the input.
    let output = resampler
        .process_all(&input, pcm.samples.len(), None)
        .map_err(|e| err(&e))?;
    Ok(Pcm {
        rate,
        samples: output.take_data(),
    })
}

/// Converts audio of any rate to 8 kHz μ-law bytes.
pub fn to_mulaw(pcm: &Pcm) -> Result<Vec<u8>, AudioError> {
    let narrow = resample(pcm, SAMPLE_RATE)?;
    Ok(mulaw::encode_all(&narrow.to_i16()))
}

/// Splits μ-law audio into 20 ms frames of 160 bytes; the last one is padded with silence.
pub fn frames(mulaw_bytes: &[u8]) -> Vec<Vec<u8>> {
    mulaw_bytes
        .chunks(FRAME_BYTES)
        .map(|chunk| {
            let mut frame = chunk.to_vec();
            frame.resize(FRAME_BYTES, mulaw::SILENCE);
            frame
        })
        .collect()
}

/// Reads a WAV file straight to 8 kHz μ-law frames, as a caller's phone would send them.
pub fn wav_to_frames(path: &Path) -> Result<Vec<Vec<u8>>, AudioError> {
    Ok(frames(&to_mulaw(&read_wav(path)?)?))
}

/// Writes 8 kHz μ-law audio as a 16-bit PCM mono WAV file any player opens.
pub fn write_mulaw_wav(path: &Path, mulaw_bytes: &[u8]) -> Result<(), AudioError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec)?;
    for &b in mulaw_bytes {
        writer.write_sample(mulaw::decode(b))?;
    }
    writer.finalize()?;
    Ok(())
}

#[cfg(test)]
mod tests;
