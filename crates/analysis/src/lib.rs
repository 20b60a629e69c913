//! Post-call analysis (docs/observability.md, "Reports").
//!
//! - [`spec`]: the operator's fields schema and goal, checked once at start-up, and the schema
//!   of the whole answer the model must give.
//! - [`analyst`]: one analysis of a transcript, by the model (validated, retried once) or by the
//!   offline stand-in.
//! - [`stand_in`]: the deterministic analysis used without an OpenAI key.
//! - [`post_call`]: reading a call, analysing it, storing the result and emitting
//!   `call.analyzed`.
//!
//! Every answer is validated against the schema here, with the `jsonschema` crate, before it is
//! stored: strict structured output makes a schema-valid answer very likely, not certain (a
//! refusal, an answer cut at the token limit, a different model behind the same API).

pub mod analyst;
pub mod post_call;
pub mod spec;
pub mod stand_in;

pub use analyst::Analyst;
pub use post_call::PostCallAnalysis;
pub use spec::{AnalysisSpec, SpecError};
