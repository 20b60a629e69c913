//! Google adapters: the OAuth refresh-token flow and consent URL ([`oauth`]), and the Mail port
//! over Gmail ([`gmail`]). Every base URL is configurable so tests point the adapters at
//! loopback servers.

pub mod gmail;
pub mod oauth;
mod upstream;

pub use gmail::Gmail;
pub use oauth::{ClientCredentials, ConsentConfig, OAuthError, StateSigner, TokenSource};
