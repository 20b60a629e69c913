//! Phone numbers in E.164 form, masked whenever they are logged.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An E.164 phone number such as `+14155550123`.
///
/// `Debug` and [`PhoneNumber::masked`] hide all but the last four digits, so a number can be
/// put in a log line without leaking it; [`PhoneNumber::as_str`] gives the full number.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "+14155550123")]
pub struct PhoneNumber(String);

/// Why a string is not an E.164 number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an E.164 phone number (expected '+' then 7 to 15 digits): {reason}")]
pub struct InvalidPhoneNumber {
    reason: &'static str,
}

impl PhoneNumber {
    /// Parses `+` followed by 7 to 15 digits. Spaces, dashes, dots and parentheses are removed
    /// first, since people and carriers write numbers that way.
    pub fn parse(input: &str) -> Result<Self, InvalidPhoneNumber> {
        let cleaned: String = input
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let Some(digits) = cleaned.strip_prefix('+') else {
            return Err(InvalidPhoneNumber {
                reason: "missing leading '+'",
            });
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidPhoneNumber {
                reason: "contains a character that is not a digit",
            });
        }
        if !(7..=15).contains(&digits.len()) {
            return Err(InvalidPhoneNumber {
                reason: "wrong number of digits",
            });
        }
        if digits.starts_with('0') {
            return Err(InvalidPhoneNumber {
                reason: "country code cannot start with 0",
            });
        }
        Ok(Self(cleaned))
    }

    /// The full number, for talking to Twilio or building store keys.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with all but the last four digits replaced by `*`, for logs.
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

/// Masks any string that may hold a phone number: keeps a leading `+` and the last four
/// characters. Used for values that failed to parse but still must not be logged in full.
pub fn mask_phone(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    let keep = chars.len().min(4);
    let hidden = chars.len() - keep;
    let mut out = String::with_capacity(chars.len());
    for (i, c) in chars.iter().enumerate() {
        if i < hidden && !(i == 0 && *c == '+') {
            out.push('*');
        } else {
            out.push(*c);
        }
    }
    out
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl fmt::Display for PhoneNumber {
    /// Displays the masked form: a number that reaches a log by `{}` stays private.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = InvalidPhoneNumber;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises_e164() {
        let n = PhoneNumber::parse("+1 (415) 555-0123").unwrap();
        assert_eq!(n.as_str(), "+14155550123");
    }

    #[test]
    fn rejects_numbers_without_plus_or_with_letters() {
        assert!(PhoneNumber::parse("4155550123").is_err());
        assert!(PhoneNumber::parse("+1415abc0123").is_err());
        assert!(PhoneNumber::parse("+12").is_err());
        assert!(PhoneNumber::parse("+0123456789").is_err());
    }

    #[test]
    fn debug_and_display_mask_all_but_last_four() {
        let n = PhoneNumber::parse("+14155550123").unwrap();
        assert_eq!(format!("{n}"), "+*******0123");
        assert_eq!(format!("{n:?}"), "PhoneNumber(+*******0123)");
        assert!(!format!("{n:?}").contains("415555"));
    }

    #[test]
    fn mask_phone_handles_short_and_odd_input() {
        assert_eq!(mask_phone("12"), "12");
        assert_eq!(mask_phone("client:alice"), "********lice");
    }
}
