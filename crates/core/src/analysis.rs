//! A call's post-call analysis, as stored with the call (`CALL#<sid>` / `ANALYSIS`) and shown
//! in `GET /calls/{sid}`: a short summary, the fields the operator's JSON Schema asks for, and a
//! verdict against the operator's goal. Producing it (the model, its validation, the stand-in)
//! is the `phone-analysis` crate's work; this is only the record.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// Whether the analysis can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnalysisStatus {
    /// The answer matched the schema; every field is as the schema says.
    Valid,
    /// No valid answer was obtained (`error` says why); `summary`, `fields` and `success` are
    /// empty and must not be read as an outcome.
    Failed,
}

/// Who produced the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnalysisSource {
    /// The text model (`OPENAI_TEXT_MODEL`) with structured output.
    Model,
    /// The offline stand-in (no OpenAI key): deterministic, derived from the transcript and
    /// the schema's types, not from understanding the call.
    StandIn,
}

/// One call's analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallAnalysis {
    /// A few sentences on what the call was about and how it ended.
    pub summary: String,
    /// The operator's fields (`ANALYSIS_SCHEMA`), valid against that schema.
    pub fields: Map<String, Value>,
    /// Whether the call met the operator's goal (`ANALYSIS_GOAL`); `None` for a failed analysis.
    pub success: Option<bool>,
    /// Why the verdict is what it is.
    pub reason: String,
    /// What produced it: `openai:<model>` or `stand-in`.
    pub model: String,
    /// When it was stored.
    #[serde(with = "time::serde::rfc3339")]
    pub analyzed_at: OffsetDateTime,
    /// Valid or failed.
    pub status: AnalysisStatus,
    /// Model or stand-in.
    pub source: AnalysisSource,
    /// For a failed analysis: why (the schema violations of the last answer, or the model's
    /// error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Model requests made (a schema-invalid answer is retried once).
    pub attempts: u32,
}

impl CallAnalysis {
    /// A failed analysis by `model` after `attempts` requests, for `error`.
    pub fn failed(
        model: String,
        source: AnalysisSource,
        error: String,
        attempts: u32,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            summary: String::new(),
            fields: Map::new(),
            success: None,
            reason: String::new(),
            model,
            analyzed_at: at,
            status: AnalysisStatus::Failed,
            source,
            error: Some(error),
            attempts,
        }
    }
}
