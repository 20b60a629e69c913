//! OpenAI Realtime token usage and what it costs.
//!
//! Prices are kept as integer nano-dollars per token so sums over a long call are exact;
//! the table is configurable because OpenAI changes prices and models (PROTOCOLS.md §2.5).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Token counts, summed over a call's `response.done` events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Usage {
    /// Text input tokens, cached ones included.
    pub input_text_tokens: u64,
    /// Audio input tokens, cached ones included.
    pub input_audio_tokens: u64,
    /// Of `input_text_tokens`, those billed at the cached rate.
    pub cached_text_tokens: u64,
    /// Of `input_audio_tokens`, those billed at the cached rate.
    pub cached_audio_tokens: u64,
    /// Text output tokens.
    pub output_text_tokens: u64,
    /// Audio output tokens.
    pub output_audio_tokens: u64,
    /// Responses summed into this usage.
    pub responses: u64,
    /// Milliseconds billed by duration rather than tokens (GPT-Live's active session time),
    /// summed.
    #[serde(default)]
    pub billed_ms: u64,
}

impl Usage {
    /// Adds another response's usage to this one.
    pub fn add(&mut self, other: &Usage) {
        self.input_text_tokens += other.input_text_tokens;
        self.input_audio_tokens += other.input_audio_tokens;
        self.cached_text_tokens += other.cached_text_tokens;
        self.cached_audio_tokens += other.cached_audio_tokens;
        self.output_text_tokens += other.output_text_tokens;
        self.output_audio_tokens += other.output_audio_tokens;
        self.responses += other.responses;
        self.billed_ms += other.billed_ms;
    }

    /// All tokens, input and output.
    pub fn total_tokens(&self) -> u64 {
        self.input_text_tokens
            + self.input_audio_tokens
            + self.output_text_tokens
            + self.output_audio_tokens
    }
}

/// One model's prices in US dollars per million tokens, as OpenAI publishes them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelPrices {
    /// Text input.
    pub text_in: f64,
    /// Cached text input.
    pub text_cached: f64,
    /// Text output.
    pub text_out: f64,
    /// Audio input.
    pub audio_in: f64,
    /// Cached audio input.
    pub audio_cached: f64,
    /// Audio output.
    pub audio_out: f64,
    /// Dollars per minute of duration-billed time (GPT-Live, billed per second); 0 for the
    /// token-billed models.
    #[serde(default)]
    pub per_minute: f64,
}

/// Prices per model; configurable with a JSON object `{"model": {text_in, …}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceTable {
    models: BTreeMap<String, ModelPrices>,
}

/// A price table that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PriceTableError {
    /// The JSON did not have the expected shape.
    #[error(
        "price table is not valid JSON of the form {{\"model\": {{\"text_in\": 4.0, …}}}}: {0}"
    )]
    Malformed(#[from] serde_json::Error),
    /// A price was negative or not a number.
    #[error("price table: model '{0}' has a negative or non-finite price")]
    BadPrice(String),
}

impl Default for PriceTable {
    /// OpenAI's published prices per 1M tokens (PROTOCOLS.md §2.5, PROTOCOLS-LIVE.md §D) for the
    /// default models and their siblings. Models retired by OpenAI stay while they still run.
    fn default() -> Self {
        // gpt-realtime-2 and -2.1: text out is $24 (gpt-realtime's was $16), the rest unchanged.
        let realtime_2 = ModelPrices {
            text_in: 4.0,
            text_cached: 0.40,
            text_out: 24.0,
            audio_in: 32.0,
            audio_cached: 0.40,
            audio_out: 64.0,
            per_minute: 0.0,
        };
        // gpt-realtime and gpt-realtime-1.5 (shutdown of gpt-realtime announced for 2027-01-20).
        let realtime_1 = ModelPrices {
            text_out: 16.0,
            ..realtime_2
        };
        // gpt-realtime-2.1-mini, and gpt-realtime-mini (same prices).
        let mini = ModelPrices {
            text_in: 0.60,
            text_cached: 0.06,
            text_out: 2.40,
            audio_in: 10.0,
            audio_cached: 0.30,
            audio_out: 20.0,
            per_minute: 0.0,
        };
        // The text agent's default. UNCONFIRMED on an OpenAI page: $0.75 in / $0.075 cached /
        // $4.50 out is what third-party model catalogues (Vercel AI Gateway, LiteLLM's table)
        // publish; OpenAI's own model page was not available to check. Text only: no audio.
        let text_mini = ModelPrices {
            text_in: 0.75,
            text_cached: 0.075,
            text_out: 4.50,
            audio_in: 0.0,
            audio_cached: 0.0,
            audio_out: 0.0,
            per_minute: 0.0,
        };
        // GPT-Live: $0.05 per active minute, billed per second (PROTOCOLS-LIVE.md §F). Its tools
        // run on a backend Responses model billed by tokens; a Live call's usage carries those
        // tokens as text tokens, priced here at the default backend's (the text model's) rates.
        let live = ModelPrices {
            per_minute: 0.05,
            ..text_mini
        };
        let models = [
            ("gpt-realtime-2", realtime_2),
            ("gpt-realtime-2.1", realtime_2),
            ("gpt-realtime-2.1-mini", mini),
            ("gpt-realtime-1.5", realtime_1),
            ("gpt-realtime", realtime_1),
            ("gpt-realtime-mini", mini),
            ("gpt-5.4-mini", text_mini),
            ("gpt-live-1", live),
            ("gpt-live-1.1", live),
        ]
        .into_iter()
        .map(|(name, prices)| (name.to_owned(), prices))
        .collect();
        Self { models }
    }
}

impl PriceTable {
    /// Parses a JSON price table; every price must be a finite, non-negative number.
    pub fn from_json(json: &str) -> Result<Self, PriceTableError> {
        let models: BTreeMap<String, ModelPrices> = serde_json::from_str(json)?;
        for (name, p) in &models {
            let all = [
                p.per_minute,
                p.text_in,
                p.text_cached,
                p.text_out,
                p.audio_in,
                p.audio_cached,
                p.audio_out,
            ];
            if all.iter().any(|v| !v.is_finite() || *v < 0.0) {
                return Err(PriceTableError::BadPrice(name.clone()));
            }
        }
        Ok(Self { models })
    }

    /// Prices for `model`. A dated snapshot (`gpt-realtime-2025-08-28`) falls back to the
    /// longest configured name it extends by `-YYYY…`; any other unknown name has no price, so
    /// `gpt-realtime-2` is never billed at `gpt-realtime`'s rates by accident of spelling.
    pub fn prices_for(&self, model: &str) -> Option<&ModelPrices> {
        self.models.get(model).or_else(|| {
            self.models
                .iter()
                .filter(|(name, _)| {
                    model
                        .strip_prefix(name.as_str())
                        .is_some_and(is_snapshot_suffix)
                })
                .max_by_key(|(name, _)| name.len())
                .map(|(_, p)| p)
        })
    }

    /// The price of `usage` on `model`; `None` when the model has no configured price.
    pub fn cost(&self, model: &str, usage: &Usage) -> Option<Cost> {
        let p = self.prices_for(model)?;
        // nano-dollars per token = dollars per million tokens × 1000.
        let nano = |per_million: f64, tokens: u64| (per_million * 1000.0).round() as u64 * tokens;
        let text_uncached = usage
            .input_text_tokens
            .saturating_sub(usage.cached_text_tokens);
        let audio_uncached = usage
            .input_audio_tokens
            .saturating_sub(usage.cached_audio_tokens);
        let input = nano(p.text_in, text_uncached)
            + nano(p.text_cached, usage.cached_text_tokens)
            + nano(p.audio_in, audio_uncached)
            + nano(p.audio_cached, usage.cached_audio_tokens);
        // Duration-billed time counts as input: $ per minute → nano-dollars per millisecond.
        let duration = (p.per_minute * 1e9 / 60_000.0 * usage.billed_ms as f64).round() as u64;
        let output = nano(p.text_out, usage.output_text_tokens)
            + nano(p.audio_out, usage.output_audio_tokens);
        let input = input + duration;
        Some(Cost {
            input_nano_usd: input,
            output_nano_usd: output,
        })
    }
}

/// `-2025-08-28`, `-2025`: a date suffix, as OpenAI names snapshots.
fn is_snapshot_suffix(suffix: &str) -> bool {
    let Some(date) = suffix.strip_prefix('-') else {
        return false;
    };
    let bytes = date.as_bytes();
    bytes.len() >= 4
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && date.bytes().all(|b| b.is_ascii_digit() || b == b'-')
}

/// A price in nano-dollars (10⁻⁹ USD), split into input and output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Cost {
    /// Input tokens' share.
    pub input_nano_usd: u64,
    /// Output tokens' share.
    pub output_nano_usd: u64,
}

impl Cost {
    /// The total in US dollars.
    pub fn total_usd(&self) -> f64 {
        (self.input_nano_usd + self.output_nano_usd) as f64 / 1e9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_minute_of_audio_costs_what_openai_says() {
        // 60 s of caller audio = 600 tokens; 30 s of reply = 600 tokens (PROTOCOLS.md §2.5).
        let usage = Usage {
            input_audio_tokens: 600,
            output_audio_tokens: 600,
            ..Usage::default()
        };
        let cost = PriceTable::default().cost("gpt-realtime", &usage).unwrap();
        assert_eq!(cost.input_nano_usd, 600 * 32_000);
        assert_eq!(cost.output_nano_usd, 600 * 64_000);
        assert!((cost.total_usd() - 0.0576).abs() < 1e-12);
    }

    #[test]
    fn cached_tokens_are_billed_at_the_cached_rate() {
        let usage = Usage {
            input_text_tokens: 1000,
            cached_text_tokens: 800,
            ..Usage::default()
        };
        let cost = PriceTable::default().cost("gpt-realtime", &usage).unwrap();
        assert_eq!(cost.input_nano_usd, 200 * 4_000 + 800 * 400);
    }

    #[test]
    fn dated_model_falls_back_to_prefix_and_unknown_model_has_no_price() {
        let table = PriceTable::default();
        assert_eq!(
            table.prices_for("gpt-realtime-2025-08-28"),
            table.prices_for("gpt-realtime")
        );
        assert_eq!(
            table.prices_for("gpt-realtime-mini-2025"),
            table.prices_for("gpt-realtime-mini")
        );
        assert_eq!(
            table.prices_for("gpt-realtime-2.1-2026-06-01"),
            table.prices_for("gpt-realtime-2.1")
        );
        assert!(table.cost("whisper", &Usage::default()).is_none());
        // A newer model is not priced as the older one whose name it extends.
        assert!(table.prices_for("gpt-realtime-3").is_none());
        assert!(table.prices_for("gpt-realtime-2.1-nano").is_none());
        assert!(table.prices_for("gpt-realtime-x-2025").is_none());
    }

    #[test]
    fn gpt_live_is_billed_per_second_plus_backend_tokens() {
        let table = PriceTable::default();
        let ninety_seconds = Usage {
            billed_ms: 90_000,
            ..Usage::default()
        };
        let cost = table.cost("gpt-live-1.1", &ninety_seconds).unwrap();
        assert_eq!(cost.total_usd(), 0.075, "OpenAI's example: 90 s is $0.075");
        let with_backend = Usage {
            billed_ms: 90_000,
            input_text_tokens: 1_000_000,
            ..Usage::default()
        };
        let cost = table.cost("gpt-live-1.1", &with_backend).unwrap();
        assert!(
            (cost.total_usd() - 0.825).abs() < 1e-9,
            "{}",
            cost.total_usd()
        );
        assert_eq!(
            table
                .cost("gpt-realtime-2.1", &ninety_seconds)
                .unwrap()
                .total_usd(),
            0.0,
            "token-billed models do not bill duration"
        );
    }

    #[test]
    fn realtime_2_family_prices_are_openais() {
        let table = PriceTable::default();
        let two = ModelPrices {
            text_in: 4.0,
            text_cached: 0.40,
            text_out: 24.0,
            audio_in: 32.0,
            audio_cached: 0.40,
            audio_out: 64.0,
            per_minute: 0.0,
        };
        assert_eq!(table.prices_for("gpt-realtime-2"), Some(&two));
        assert_eq!(table.prices_for("gpt-realtime-2.1"), Some(&two));
        let mini = table.prices_for("gpt-realtime-2.1-mini").unwrap();
        assert_eq!((mini.text_in, mini.text_out), (0.60, 2.40));
        assert_eq!((mini.audio_in, mini.audio_out), (10.0, 20.0));
        // 1,000 text-out tokens: $0.024 on 2.1 (gpt-realtime charged $0.016).
        let usage = Usage {
            output_text_tokens: 1000,
            ..Usage::default()
        };
        let cost = table.cost("gpt-realtime-2.1", &usage).unwrap();
        assert_eq!(cost.output_nano_usd, 24_000_000);
        let old = table.cost("gpt-realtime", &usage).unwrap();
        assert_eq!(old.output_nano_usd, 16_000_000);
    }

    #[test]
    fn configured_table_rejects_negative_prices() {
        let bad = r#"{"m":{"text_in":-1,"text_cached":0,"text_out":0,"audio_in":0,"audio_cached":0,"audio_out":0}}"#;
        assert!(matches!(
            PriceTable::from_json(bad),
            Err(PriceTableError::BadPrice(_))
        ));
        assert!(matches!(
            PriceTable::from_json("{"),
            Err(PriceTableError::Malformed(_))
        ));
    }
}
