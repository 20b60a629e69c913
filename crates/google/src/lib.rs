//! Google adapters: the OAuth refresh-token flow and consent URL ([`oauth`]), the Calendar port
//! over Google Calendar ([`calendar`]) and the Mail port over Gmail ([`gmail`]). Every base URL
//! is configurable so tests point the adapters at loopback servers.

pub mod calendar;
pub mod gmail;
pub mod oauth;
mod upstream;

pub use calendar::GoogleCalendar;
pub use gmail::Gmail;
pub use oauth::{
    ClientCredentials, ConsentConfig, OAuthError, StateSigner, TokenSource, VerifiedState,
};
