//! What a Live session is billed for (PROTOCOLS-LIVE.md §A.9, §F): active seconds at a price
//! per minute, billed per second, plus the backend model's tokens at its own rates. This module
//! counts; the caller prices with its price table.

use serde::Deserialize;

/// `input_tokens_details`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct InputTokensDetails {
    /// Of the input tokens, those billed at the cached rate.
    #[serde(default)]
    pub cached_tokens: u64,
}

/// `output_tokens_details`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct OutputTokensDetails {
    /// Of the output tokens, those spent reasoning.
    #[serde(default)]
    pub reasoning_tokens: u64,
}

/// A backend response's `usage`, as the Responses API reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct BackendUsage {
    /// Input tokens, cached ones included.
    #[serde(default)]
    pub input_tokens: u64,
    /// Cached input.
    #[serde(default)]
    pub input_tokens_details: InputTokensDetails,
    /// Output tokens, reasoning included.
    #[serde(default)]
    pub output_tokens: u64,
    /// Reasoning output.
    #[serde(default)]
    pub output_tokens_details: OutputTokensDetails,
}

/// Backend tokens summed over a session's responses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackendTokens {
    /// Input tokens, cached ones included.
    pub input: u64,
    /// Of `input`, those billed at the cached rate.
    pub cached_input: u64,
    /// Output tokens, reasoning included.
    pub output: u64,
    /// Of `output`, reasoning tokens.
    pub reasoning: u64,
    /// Backend responses summed.
    pub responses: u64,
}

/// Everything a Live session is billed for.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LiveUsage {
    /// Cumulative billable seconds: the last value reported, never a sum.
    pub seconds: f64,
    /// Backend tokens, summed per response.
    pub backend: BackendTokens,
}

impl LiveUsage {
    /// Records a cumulative duration from `session.usage.updated` or `session.closed`. It
    /// replaces the previous value; a smaller one (a stale event) is kept as the server said
    /// it, since the last value wins.
    pub fn record_seconds(&mut self, seconds: f64) {
        if seconds.is_finite() && seconds >= 0.0 {
            self.seconds = seconds;
        }
    }

    /// Adds one backend response's tokens (from its `response.completed`, `.failed` or
    /// `.incomplete`).
    pub fn add_backend(&mut self, usage: &BackendUsage) {
        let b = &mut self.backend;
        b.input += usage.input_tokens;
        b.cached_input += usage.input_tokens_details.cached_tokens;
        b.output += usage.output_tokens;
        b.reasoning += usage.output_tokens_details.reasoning_tokens;
        b.responses += 1;
    }

    /// The voice part of the cost: `seconds / 60 × price_per_minute`, per second, not rounded up.
    pub fn voice_cost(&self, price_per_minute: f64) -> f64 {
        self.seconds / 60.0 * price_per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_cumulative_so_the_last_value_wins() {
        let mut usage = LiveUsage::default();
        for seconds in [14.0, 56.0, 101.0] {
            usage.record_seconds(seconds);
        }
        assert_eq!(usage.seconds, 101.0);
        usage.record_seconds(f64::NAN);
        assert_eq!(usage.seconds, 101.0);
        // 90 s at $0.05 a minute is $0.075 (OpenAI's own example).
        usage.record_seconds(90.0);
        assert!((usage.voice_cost(0.05) - 0.075).abs() < 1e-12);
    }

    #[test]
    fn backend_tokens_are_summed_per_response() {
        let mut usage = LiveUsage::default();
        let one: BackendUsage = serde_json::from_str(
            r#"{"input_tokens":300,"input_tokens_details":{"cached_tokens":200},"output_tokens":40,"output_tokens_details":{"reasoning_tokens":25},"total_tokens":340}"#,
        )
        .unwrap();
        usage.add_backend(&one);
        usage.add_backend(&one);
        assert_eq!(
            usage.backend,
            BackendTokens {
                input: 600,
                cached_input: 400,
                output: 80,
                reasoning: 50,
                responses: 2
            }
        );
    }
}
