//! The forms of a URL a signature is checked against. Twilio is inconsistent about default
//! ports, so, like its own libraries, a URL is accepted with the default port added or removed.
//! The same variants serve both algorithms: the Node library's `validateRequest` also tries
//! them whatever the algorithm (it adds `:80` to any scheme but `https`, `wss` included; we add
//! the scheme's own default, `:443` for `wss`). Its further fallbacks re-encode a URL that a
//! framework decoded; ours is rebuilt from the raw request path, so there is nothing to undo.

use url::Url;

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "https" | "wss" => Some(443),
        "http" | "ws" => Some(80),
        _ => None,
    }
}

/// The URL as given, with its default port, and without any port.
pub(super) fn port_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_owned()];
    let Ok(parsed) = Url::parse(url) else {
        return variants;
    };
    let Some(default) = default_port(parsed.scheme()) else {
        return variants;
    };
    // `Url` hides a default port, so rebuild the explicit form by hand.
    let host = match parsed.host_str() {
        Some(h) => h,
        None => return variants,
    };
    let tail = &url[url.find(host).map(|i| i + host.len()).unwrap_or(url.len())..];
    let (with_port, without_port) = match tail.strip_prefix(&format!(":{default}")) {
        Some(rest) => (
            url.to_owned(),
            format!("{}://{host}{rest}", parsed.scheme()),
        ),
        None if tail.starts_with(':') => return variants,
        None => (
            format!("{}://{host}:{default}{tail}", parsed.scheme()),
            url.to_owned(),
        ),
    };
    for v in [with_port, without_port] {
        if !variants.contains(&v) {
            variants.push(v);
        }
    }
    variants
}

/// The stream URL with and without a trailing slash, each with its port variants.
pub(super) fn websocket_variants(stream_url: &str) -> Vec<String> {
    let trimmed = stream_url.trim_end_matches('/');
    [trimmed.to_owned(), format!("{trimmed}/")]
        .iter()
        .flat_map(|u| port_variants(u))
        .collect()
}
