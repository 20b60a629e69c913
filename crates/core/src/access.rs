//! Who may do what: every caller, texter and mail sender is a guest unless proven to be the
//! owner. The proof depends on the channel:
//!
//! - a call: the caller's number is an owner number AND Twilio's STIR/SHAKEN verdict says the
//!   carrier fully attested it ([`Attestation::FullyVerified`]), or else the caller typed the
//!   owner PIN ([`pin_matches`]);
//! - an SMS: the sender's number is an owner number (SMS carries no attestation: see
//!   docs/security.md for what that risks);
//! - an email: the sender's address is an owner address;
//! - the REST API: its key.
//!
//! The access level is decided at the signed edge (the webhook), stored with the call, and
//! selects the tool catalog ([`crate::tools::catalog_for`]) the dispatcher runs.

use serde::{Deserialize, Serialize};

use crate::phone::PhoneNumber;

/// What a conversation may do. Not to be confused with [`crate::Role`] (who spoke a turn).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    /// The assistant's owner: every tool.
    Owner,
    /// Anyone else: the receptionist catalog. The default, so a row written before access
    /// levels existed, or a field lost on the way, never grants more.
    #[default]
    Guest,
}

impl AccessLevel {
    /// `owner` or `guest`, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Guest => "guest",
        }
    }
}

impl std::fmt::Display for AccessLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Twilio's STIR/SHAKEN verdict on a call's caller ID: the `StirVerstat` field of the voice
/// webhook. Twilio sends it only for calls that arrived with a SHAKEN PASSporT (US numbers);
/// its values are `TN-Validation-Passed-A|B|C`, `TN-Validation-Failed-A|B|C`,
/// `TN-Validation-Failed` and `No-TN-Validation` (Twilio, "Trusted Calling with SHAKEN/STIR").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attestation {
    /// `TN-Validation-Passed-A`: the signature verified, and the originating carrier attests it
    /// knows the caller AND that the caller may use this number.
    FullyVerified,
    /// Anything weaker: B (the carrier knows its customer, not that they own the number), C
    /// (gateway), a failed verification, no verification, an unknown value, or no field.
    Weaker,
}

impl Attestation {
    /// Reads the `StirVerstat` value; only the exact full-attestation value counts.
    pub fn from_stir_verstat(value: Option<&str>) -> Self {
        match value {
            Some("TN-Validation-Passed-A") => Self::FullyVerified,
            _ => Self::Weaker,
        }
    }
}

/// Who the owner is, from configuration (`OWNER_NUMBERS`, `OWNER_EMAIL`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owners {
    /// The owner's phone numbers.
    pub numbers: Vec<PhoneNumber>,
    /// The owner's mail addresses, lower-case.
    pub emails: Vec<String>,
}

impl Owners {
    /// Whether `number` is one of the owner's (a claim, not a proof, on its own).
    pub fn has_number(&self, number: &PhoneNumber) -> bool {
        self.numbers.contains(number)
    }

    /// The access level of a texter: the owner when the number is an owner number.
    pub fn sms_access(&self, from: &PhoneNumber) -> AccessLevel {
        if self.has_number(from) {
            AccessLevel::Owner
        } else {
            AccessLevel::Guest
        }
    }

    /// The access level of a mail sender (a bare address): the owner when it is an owner
    /// address, compared without regard to case.
    pub fn email_access(&self, address: &str) -> AccessLevel {
        let address = address.trim().to_ascii_lowercase();
        if self.emails.contains(&address) {
            AccessLevel::Owner
        } else {
            AccessLevel::Guest
        }
    }

    /// Where the owner is texted (booking requests, messages): the first owner number.
    pub fn notify_number(&self) -> Option<&PhoneNumber> {
        self.numbers.first()
    }

    /// What the voice webhook does with a caller. `pin_configured` says whether an owner PIN
    /// is set (`OWNER_PIN`).
    pub fn decide_call(
        &self,
        from: Option<&PhoneNumber>,
        attestation: Attestation,
        pin_configured: bool,
    ) -> CallDecision {
        match from {
            Some(number) if self.has_number(number) => match attestation {
                Attestation::FullyVerified => CallDecision::Owner,
                Attestation::Weaker if pin_configured => CallDecision::AskPin,
                Attestation::Weaker => CallDecision::Guest,
            },
            _ => CallDecision::Guest,
        }
    }
}

/// The voice webhook's decision for one incoming call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallDecision {
    /// Proven: an owner number with full attestation.
    Owner,
    /// An owner number without full attestation, and a PIN is configured: ask for it before
    /// connecting; the call is a guest until the PIN is right.
    AskPin,
    /// Everyone else.
    Guest,
}

/// Most PIN attempts on one call; after that the call goes on as a guest.
pub const MAX_PIN_ATTEMPTS: u32 = 3;

/// Whether `given` (keypad digits) is the owner PIN. Compares in constant time over the
/// expected length, so the time taken does not tell how many leading digits were right.
pub fn pin_matches(expected: &str, given: &str) -> bool {
    use subtle::ConstantTimeEq;
    let given = given.trim().trim_end_matches('#');
    // Lengths are compared openly: the PIN's length is not the secret, its digits are.
    expected.len() == given.len()
        && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
        && !expected.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owners() -> Owners {
        Owners {
            numbers: vec![PhoneNumber::parse("+14155550100").unwrap()],
            emails: vec!["me@example.test".into()],
        }
    }

    #[test]
    fn only_full_attestation_counts() {
        assert_eq!(
            Attestation::from_stir_verstat(Some("TN-Validation-Passed-A")),
            Attestation::FullyVerified
        );
        for weaker in [
            Some("TN-Validation-Passed-B"),
            Some("TN-Validation-Passed-C"),
            Some("TN-Validation-Failed-A"),
            Some("TN-Validation-Failed"),
            Some("No-TN-Validation"),
            Some("tn-validation-passed-a"),
            Some(""),
            None,
        ] {
            assert_eq!(Attestation::from_stir_verstat(weaker), Attestation::Weaker);
        }
    }

    #[test]
    fn owner_needs_the_number_and_a_proof() {
        let o = owners();
        let mine = PhoneNumber::parse("+14155550100").unwrap();
        let other = PhoneNumber::parse("+14155550123").unwrap();
        use Attestation::*;
        assert_eq!(
            o.decide_call(Some(&mine), FullyVerified, false),
            CallDecision::Owner
        );
        assert_eq!(
            o.decide_call(Some(&mine), Weaker, true),
            CallDecision::AskPin
        );
        assert_eq!(
            o.decide_call(Some(&mine), Weaker, false),
            CallDecision::Guest
        );
        assert_eq!(
            o.decide_call(Some(&other), FullyVerified, true),
            CallDecision::Guest
        );
        assert_eq!(
            o.decide_call(None, FullyVerified, true),
            CallDecision::Guest
        );
    }

    #[test]
    fn sms_and_email_access() {
        let o = owners();
        assert_eq!(
            o.sms_access(&PhoneNumber::parse("+14155550100").unwrap()),
            AccessLevel::Owner
        );
        assert_eq!(
            o.sms_access(&PhoneNumber::parse("+14155550101").unwrap()),
            AccessLevel::Guest
        );
        assert_eq!(o.email_access("ME@Example.test"), AccessLevel::Owner);
        assert_eq!(o.email_access("me@example.test.evil"), AccessLevel::Guest);
    }

    #[test]
    fn pin_comparison() {
        assert!(pin_matches("482193", "482193"));
        assert!(pin_matches("482193", "482193#"));
        assert!(!pin_matches("482193", "482194"));
        assert!(!pin_matches("482193", "48219"));
        assert!(!pin_matches("482193", ""));
        assert!(!pin_matches("", ""));
    }

    #[test]
    fn guest_is_the_default() {
        assert_eq!(AccessLevel::default(), AccessLevel::Guest);
        let parsed: AccessLevel = serde_json::from_str("\"owner\"").unwrap();
        assert_eq!(parsed, AccessLevel::Owner);
    }
}
