//! Per-turn latency: how long the caller waited for the assistant, split into where the time
//! went (docs/observability.md, "Latency").
//!
//! A turn runs from the end of the caller's speech (as the voice engine reports it) to the
//! first assistant audio of the reply sent to Twilio. `total_ms = model_ms + tool_ms +
//! transport_ms`: tool time is when at least one tool of the turn was running, transport is
//! from the engine's audio frame arriving to that frame leaving for Twilio, and the model has
//! the rest.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One assistant turn's latency (`CALL#<sid>` / `LATENCY#<index>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TurnLatency {
    /// The turn's number in the call, from 0.
    pub index: u32,
    /// When the caller's speech ended, as the engine reports it, on the call's clock.
    #[serde(with = "time::serde::rfc3339")]
    pub speech_ended_at: OffsetDateTime,
    /// When the reply's first audio frame was sent to Twilio.
    #[serde(with = "time::serde::rfc3339")]
    pub first_audio_at: OffsetDateTime,
    /// End of speech to first audio sent.
    pub total_ms: u64,
    /// The model's share: end of speech to its first audio, less the tool time.
    pub model_ms: u64,
    /// Time in which at least one of the turn's tools was running, before the first audio.
    pub tool_ms: u64,
    /// The first audio frame's way through the host: received from the engine → sent to Twilio.
    pub transport_ms: u64,
}

/// A call's turn latencies at the 50th, 95th and 99th percentile (`None`: no turn measured).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LatencyPercentiles {
    /// Turns measured.
    pub turns: u32,
    /// Median `total_ms`.
    pub p50_ms: Option<u64>,
    /// 95th percentile of `total_ms`.
    pub p95_ms: Option<u64>,
    /// 99th percentile of `total_ms`.
    pub p99_ms: Option<u64>,
}

impl LatencyPercentiles {
    /// The percentiles of `totals` (any order), by the nearest-rank method: the value below
    /// which `p` percent of the turns lie, always one that was measured.
    pub fn of(totals: &[u64]) -> Self {
        let mut sorted = totals.to_vec();
        sorted.sort_unstable();
        Self {
            turns: u32::try_from(sorted.len()).unwrap_or(u32::MAX),
            p50_ms: nearest_rank(&sorted, 50),
            p95_ms: nearest_rank(&sorted, 95),
            p99_ms: nearest_rank(&sorted, 99),
        }
    }
}

/// The `p`th percentile of sorted values by nearest rank (`ceil(p/100 · n)`, 1-based).
fn nearest_rank(sorted: &[u64], p: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// The `latency` object of a call report: every turn, and the call's percentiles.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LatencyReport {
    /// The turns, in order.
    pub turns: Vec<TurnLatency>,
    /// Median `total_ms`.
    pub p50_ms: Option<u64>,
    /// 95th percentile of `total_ms`.
    pub p95_ms: Option<u64>,
    /// 99th percentile of `total_ms`.
    pub p99_ms: Option<u64>,
}

impl LatencyReport {
    /// The report of `turns`, with `stored` percentiles when the call row has them (a finished
    /// call) and otherwise percentiles of the turns so far (a call in progress).
    pub fn new(turns: Vec<TurnLatency>, stored: Option<LatencyPercentiles>) -> Self {
        let p = stored.unwrap_or_else(|| {
            LatencyPercentiles::of(&turns.iter().map(|t| t.total_ms).collect::<Vec<_>>())
        });
        Self {
            turns,
            p50_ms: p.p50_ms,
            p95_ms: p.p95_ms,
            p99_ms: p.p99_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_measured_values_by_nearest_rank() {
        let totals: Vec<u64> = (1..=100).rev().collect();
        let p = LatencyPercentiles::of(&totals);
        assert_eq!(p.turns, 100);
        assert_eq!(
            (p.p50_ms, p.p95_ms, p.p99_ms),
            (Some(50), Some(95), Some(99))
        );

        let p = LatencyPercentiles::of(&[900, 300, 600]);
        assert_eq!(
            (p.p50_ms, p.p95_ms, p.p99_ms),
            (Some(600), Some(900), Some(900))
        );
        assert_eq!(LatencyPercentiles::of(&[42]).p50_ms, Some(42));
    }

    #[test]
    fn no_turns_no_percentiles() {
        let p = LatencyPercentiles::of(&[]);
        assert_eq!(p, LatencyPercentiles::default());
        let report = serde_json::to_value(LatencyReport::new(Vec::new(), None)).unwrap();
        assert_eq!(
            report,
            serde_json::json!({"turns": [], "p50_ms": null, "p95_ms": null, "p99_ms": null})
        );
    }

    #[test]
    fn a_report_prefers_the_stored_percentiles() {
        let stored = LatencyPercentiles::of(&[100, 200]);
        let report = LatencyReport::new(Vec::new(), Some(stored));
        assert_eq!(report.p50_ms, Some(100));
    }
}
