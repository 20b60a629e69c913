//! The email processor wired to the configured adapters: the scheduled Lambda and
//! `phone-agent email` both run it through [`run_once`], so they behave the same.

use phone_core::email::{EmailOptions, EmailRunError, RunSummary, process_inbox};

use crate::AppState;

/// Why a run did not complete.
#[derive(Debug, thiserror::Error)]
pub enum EmailProcessorError {
    /// The state was built without tool adapters.
    #[error("the tool adapters are not configured")]
    NoTools,
    /// The run itself failed (listing mail, the store, no model).
    #[error(transparent)]
    Run(#[from] EmailRunError),
}

/// The processor's options from configuration: the reply policy and the query come from
/// configuration only, never from anything a message says.
pub fn options(state: &AppState) -> EmailOptions {
    EmailOptions {
        policy: state.config.email.reply_policy,
        query: state.config.email.query.clone(),
        ..EmailOptions::default()
    }
}

/// One run over the configured mailbox, calendar, model and store.
pub async fn run_once(state: &AppState) -> Result<RunSummary, EmailProcessorError> {
    let ports = state.tools.as_ref().ok_or(EmailProcessorError::NoTools)?;
    tracing::info!(
        mail = %ports.mail.describe(),
        policy = state.config.email.reply_policy.as_str(),
        "email run starting"
    );
    Ok(process_inbox(ports, &state.store, state.chat.as_deref(), &options(state)).await?)
}
