//! Email addresses as a model or a person types them: one or several per string.
//!
//! A recipient string may hold a list ("a@x.org, b@y.org", "Ann <a@x.org>; b@y.org"), and the
//! Gmail adapter joins recipients into one `To:` header, so every address in it is sent to. A
//! limit on recipients must therefore count the addresses inside each string, not the strings.
//! [`parse_list`] splits on `,` and `;` (the separator mail programs accept) outside quotes and
//! angle brackets, takes the address out of `Name <address>`, and checks each one.
//!
//! The check is deliberately narrower than RFC 5322 (no quoted local parts, comments, IP-literal
//! domains or non-ASCII): what it accepts is what real mailboxes use, and what it refuses gets a
//! message naming the address. Crates were considered: `mailparse::addrparse` follows RFC 5322
//! lists (`;` only ends a group, so "a@x; b@y" is not two addresses) and accepts addresses a
//! mail server would refuse; `email_address` checks one address and splits no list. This is a
//! few dozen lines without a dependency.

/// Longest address accepted (RFC 5321's path limit less the angle brackets).
pub const MAX_ADDRESS: usize = 254;

/// Why a recipient string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AddressError(pub String);

/// Every address in `text`, in order, as bare `local@domain` strings.
pub fn parse_list(text: &str) -> Result<Vec<String>, AddressError> {
    let mut addresses = Vec::new();
    for part in split_list(text)? {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        addresses.push(parse_one(part)?);
    }
    if addresses.is_empty() {
        return Err(AddressError(format!(
            "'{}' holds no email address",
            shown(text)
        )));
    }
    Ok(addresses)
}

/// Every address in every string of `items`, with at most `max` in all.
pub fn parse_recipients(items: &[String], max: usize) -> Result<Vec<String>, AddressError> {
    let mut all = Vec::new();
    for item in items {
        all.extend(parse_list(item)?);
        if all.len() > max {
            return Err(AddressError(format!(
                "at most {max} recipients in all (counting every address inside each string)"
            )));
        }
    }
    Ok(all)
}

/// Splits on `,` and `;` that are outside double quotes and angle brackets.
fn split_list(text: &str) -> Result<Vec<&str>, AddressError> {
    let mut parts = Vec::new();
    let (mut quoted, mut angle, mut start) = (false, false, 0);
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if quoted => {
                chars.next();
            }
            '"' if !angle => quoted = !quoted,
            '<' if !quoted => {
                if angle {
                    return Err(malformed(text));
                }
                angle = true;
            }
            '>' if !quoted => {
                if !angle {
                    return Err(malformed(text));
                }
                angle = false;
            }
            ',' | ';' if !quoted && !angle => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted || angle {
        return Err(malformed(text));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

/// One `address` or `Display Name <address>`.
fn parse_one(part: &str) -> Result<String, AddressError> {
    let address = match part.find('<') {
        Some(open) => {
            let rest = &part[open + 1..];
            let close = rest.find('>').ok_or_else(|| malformed(part))?;
            if !rest[close + 1..].trim().is_empty() {
                return Err(malformed(part));
            }
            rest[..close].trim()
        }
        None => part,
    };
    check_address(address)?;
    Ok(address.to_owned())
}

/// `local@domain` with a dot-atom local part and a dotted host name.
fn check_address(address: &str) -> Result<(), AddressError> {
    let bad = || AddressError(format!("'{}' is not a valid email address", shown(address)));
    if address.len() > MAX_ADDRESS || !address.is_ascii() {
        return Err(bad());
    }
    let (local, domain) = address.split_once('@').ok_or_else(bad)?;
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .split('.')
            .all(|w| !w.is_empty() && w.chars().all(atext));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

fn malformed(text: &str) -> AddressError {
    AddressError(format!(
        "'{}' is not a list of email addresses (unbalanced quotes or angle brackets)",
        shown(text)
    ))
}

/// The start of what was given, for an error message.
fn shown(text: &str) -> String {
    let mut shown: String = text.chars().take(80).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> Vec<String> {
        parse_list(text).unwrap()
    }

    #[test]
    fn lists_in_one_string_are_split_on_commas_and_semicolons() {
        assert_eq!(list("a@x.org"), ["a@x.org"]);
        assert_eq!(list("a@x.org, b@y.org"), ["a@x.org", "b@y.org"]);
        assert_eq!(
            list("Ann <a@x.org>; \"Doe, Bob\" <b@y.org>,c@z.org"),
            ["a@x.org", "b@y.org", "c@z.org"]
        );
        assert_eq!(list(" a@x.org ; "), ["a@x.org"]);
    }

    #[test]
    fn malformed_addresses_are_refused_with_the_address_named() {
        for bad in [
            "",
            " , ;",
            "ann",
            "a@x",
            "a@@x.org",
            "a@x..org",
            ".a@x.org",
            "a b@x.org",
            "a@-x.org",
            "Ann <a@x.org",
            "Ann a@x.org>",
            "Ann <a@x.org> extra",
            "\"Ann <a@x.org>",
            "a@x.org\r\nBcc: c@z.org",
            "é@x.org",
        ] {
            assert!(parse_list(bad).is_err(), "{bad:?} accepted");
        }
        let err = parse_list("a@x.org, nobody").unwrap_err();
        assert!(err.0.contains("'nobody'"), "{err}");
    }

    #[test]
    fn the_cap_counts_addresses_inside_each_string() {
        let twenty: Vec<String> = (0..20).map(|i| format!("p{i}@x.org")).collect();
        assert_eq!(parse_recipients(&twenty, 20).unwrap().len(), 20);
        let packed = vec![twenty.join(", "), "extra@x.org".into()];
        let err = parse_recipients(&packed, 20).unwrap_err();
        assert!(err.0.contains("at most 20"), "{err}");
        let one_string = vec![
            (0..21)
                .map(|i| format!("p{i}@x.org"))
                .collect::<Vec<_>>()
                .join(";"),
        ];
        assert!(parse_recipients(&one_string, 20).is_err());
    }
}
