//! Call recording (`RECORDING`, `RECORDING_NOTICE`; docs/observability.md, "Recording").

use crate::keys;
use crate::parse::{ConfigError, Source};

/// The notice spoken before the greeting when calls are recorded, unless `RECORDING_NOTICE`
/// says otherwise.
pub const DEFAULT_RECORDING_NOTICE: &str = "This call is recorded.";

/// Whether calls are recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RecordingMode {
    /// No recording (the default).
    #[default]
    Off,
    /// Twilio records each call in two channels, the caller on one and the assistant on the
    /// other (`RECORDING=dual`).
    Dual,
}

/// Call recording settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingConfig {
    /// Off, or dual-channel.
    pub mode: RecordingMode,
    /// Said first on a recorded call, before the greeting (callers must be told in
    /// two-party-consent jurisdictions).
    pub notice: String,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        Self {
            mode: RecordingMode::Off,
            notice: DEFAULT_RECORDING_NOTICE.into(),
        }
    }
}

impl RecordingConfig {
    pub(crate) fn from_source(src: &Source<'_>) -> Result<Self, ConfigError> {
        let mode = match src.string(keys::RECORDING).as_deref() {
            None | Some("off") => RecordingMode::Off,
            Some("dual") => RecordingMode::Dual,
            Some(_) => {
                return Err(ConfigError::invalid(
                    keys::RECORDING,
                    "expected off or dual",
                ));
            }
        };
        Ok(Self {
            mode,
            notice: src
                .string(keys::RECORDING_NOTICE)
                .unwrap_or_else(|| DEFAULT_RECORDING_NOTICE.into()),
        })
    }

    /// The first words of a call: the recording notice then `greeting` when calls are
    /// recorded, else `greeting` alone.
    pub fn greeting(&self, greeting: &str) -> String {
        match self.mode {
            RecordingMode::Off => greeting.to_owned(),
            RecordingMode::Dual => format!("{} {greeting}", self.notice),
        }
    }
}
