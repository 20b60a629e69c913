//! G.711 μ-law (ITU-T G.711, the telephone codec Twilio Media Streams carry).
//!
//! Sixteen lines of bit arithmetic, the same as the reference `g711.c`: a crate would add a
//! dependency for less code than its own README.

/// Added before taking the segment so that small magnitudes land in segment 0.
const BIAS: i32 = 0x84;
/// Largest magnitude that still fits after the bias is added.
const CLIP: i32 = 32635;

/// μ-law byte of silence (a decoded 0).
pub const SILENCE: u8 = 0xFF;

/// Encodes one 16-bit linear PCM sample as a μ-law byte.
pub fn encode(sample: i16) -> u8 {
    let mut magnitude = i32::from(sample);
    let sign = if magnitude < 0 {
        magnitude = -magnitude;
        0x80
    } else {
        0
    };
    let biased = magnitude.min(CLIP) + BIAS;
    // The segment is the position of the highest set bit above bit 7 (biased >= 0x84).
    let highest_bit = 31 - biased.leading_zeros() as i32;
    let exponent = highest_bit - 7;
    let mantissa = (biased >> (exponent + 3)) & 0x0F;
    // Bits are inverted on the wire so that silence is not a run of zeros.
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// Decodes one μ-law byte to 16-bit linear PCM.
pub fn decode(byte: u8) -> i16 {
    let u = i32::from(!byte);
    let exponent = (u >> 4) & 0x07;
    let mantissa = u & 0x0F;
    let magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    // At most 32124, so the cast cannot overflow.
    if u & 0x80 != 0 {
        -(magnitude as i16)
    } else {
        magnitude as i16
    }
}

/// Encodes a run of samples.
pub fn encode_all(samples: &[i16]) -> Vec<u8> {
    samples.iter().map(|&s| encode(s)).collect()
}

/// Decodes a run of μ-law bytes.
pub fn decode_all(bytes: &[u8]) -> Vec<i16> {
    bytes.iter().map(|&b| decode(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_itu_reference_values() {
        // Values from the ITU-T G.711 tables as produced by the reference g711.c.
        assert_eq!(encode(0), 0xFF);
        assert_eq!(encode(-1), 0x7F);
        assert_eq!(encode(i16::MAX), 0x80);
        assert_eq!(encode(i16::MIN), 0x00);
        assert_eq!(encode(1000), 0xCE);
        assert_eq!(encode(-1000), 0x4E);
        assert_eq!(decode(0xFF), 0);
        assert_eq!(decode(0x7F), 0);
        assert_eq!(decode(0x80), 32124);
        assert_eq!(decode(0x00), -32124);
        assert_eq!(decode(0xCE), 988);
        assert_eq!(decode(0x4E), -988);
    }

    #[test]
    fn every_byte_round_trips() {
        for b in 0..=255u8 {
            let back = encode(decode(b));
            // 0x7F is "negative zero": it decodes to 0, which encodes as positive zero.
            if b == 0x7F {
                assert_eq!(back, 0xFF);
            } else {
                assert_eq!(back, b, "byte {b:#04x}");
            }
        }
    }

    #[test]
    fn round_trip_error_is_within_the_segment_step() {
        for s in (i16::MIN..=i16::MAX).step_by(7) {
            let back = i32::from(decode(encode(s)));
            let s = i32::from(s).clamp(-CLIP, CLIP);
            // Each segment doubles the quantisation step: 8 in segment 0 up to 1024 in
            // segment 7; the decoder picks the middle of the step, so the error is at most
            // half a step, i.e. about 3% of the magnitude plus a small constant.
            let allowed = (s.abs() / 32).max(8) + 8;
            assert!((back - s).abs() <= allowed, "{s} -> {back}");
        }
    }
}
