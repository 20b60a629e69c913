//! The turn-latency metric in CloudWatch Embedded Metric Format (docs/observability.md,
//! "Metrics"): at the end of each call, one JSON line on stdout carries the call's turn
//! latencies as metric values, and CloudWatch Logs turns them into the metric. No SDK call, no
//! request on the call path: the log line is the metric.
//!
//! - Namespace [`NAMESPACE`]; one dimension, `Engine` (`realtime` or `live`).
//! - Metrics (milliseconds, one value per turn): `TurnLatency` (total), `TurnModelTime`,
//!   `TurnToolTime`, `TurnTransportTime`. CloudWatch computes p50/p95 over every call's values.
//! - Not dimensions (they would make one metric per call): `CallSid`, kept as a member so that
//!   CloudWatch Logs Insights finds the call's line.
//!
//! The EMF rules kept here: the `_aws` member with `Timestamp` (epoch milliseconds) and
//! `CloudWatchMetrics`; every dimension and metric it names is a root member; a metric value is
//! a number or an array of at most [`MAX_VALUES`] numbers (a longer call writes more lines).

use std::io::Write;

use phone_core::TurnLatency;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// The CloudWatch namespace of the metric.
pub const NAMESPACE: &str = "PhoneAgent";
/// Most values of one metric in one EMF document (the format's limit).
pub const MAX_VALUES: usize = 100;

/// How a metric's value is taken from a turn.
type Measure = fn(&TurnLatency) -> u64;

/// The metrics written, each with how it is taken from a turn.
const METRICS: [(&str, Measure); 4] = [
    ("TurnLatency", |t| t.total_ms),
    ("TurnModelTime", |t| t.model_ms),
    ("TurnToolTime", |t| t.tool_ms),
    ("TurnTransportTime", |t| t.transport_ms),
];

/// The EMF lines for one call's turns (none when no turn was measured).
pub fn turn_latency_lines(
    call_sid: &str,
    engine: &str,
    turns: &[TurnLatency],
    now: OffsetDateTime,
) -> Vec<String> {
    let timestamp_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    turns
        .chunks(MAX_VALUES)
        .map(|chunk| {
            let definitions: Vec<Value> = METRICS
                .iter()
                .map(|(name, _)| json!({"Name": name, "Unit": "Milliseconds"}))
                .collect();
            let mut line = json!({
                "_aws": {
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": NAMESPACE,
                        "Dimensions": [["Engine"]],
                        "Metrics": definitions,
                    }],
                },
                "Engine": engine,
                "CallSid": call_sid,
            });
            for (name, value) in METRICS {
                line[name] = chunk.iter().map(value).collect::<Vec<u64>>().into();
            }
            line.to_string()
        })
        .collect()
}

/// Writes the call's EMF lines to stdout, each whole in one write (CloudWatch reads one JSON
/// object per log event), and logs that it did.
pub fn emit_turn_latencies(call_sid: &str, engine: &str, turns: &[TurnLatency]) {
    for line in turn_latency_lines(call_sid, engine, turns, OffsetDateTime::now_utc()) {
        let mut out = std::io::stdout().lock();
        if let Err(e) = out.write_all(format!("{line}\n").as_bytes()) {
            tracing::warn!(error = %e, "could not write the turn latency metric");
            return;
        }
        tracing::info!(emf = %line, "turn latency metric written");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(index: u32) -> TurnLatency {
        let at = OffsetDateTime::UNIX_EPOCH;
        TurnLatency {
            index,
            speech_ended_at: at,
            first_audio_at: at,
            total_ms: 700,
            model_ms: 600,
            tool_ms: 90,
            transport_ms: 10,
        }
    }

    #[test]
    fn a_long_call_is_split_into_lines_of_at_most_100_values() {
        let turns: Vec<TurnLatency> = (0..250).map(turn).collect();
        let lines = turn_latency_lines("CA1", "realtime", &turns, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(lines.len(), 3);
        let last: Value = serde_json::from_str(&lines[2]).unwrap();
        assert_eq!(last["TurnLatency"].as_array().unwrap().len(), 50);
        assert_eq!(last["TurnToolTime"][0], 90);
        assert!(turn_latency_lines("CA1", "live", &[], OffsetDateTime::UNIX_EPOCH).is_empty());
    }
}
