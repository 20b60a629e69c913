//! Both signing schemes against the official Twilio Node library (npm `twilio`, the one that
//! implements SharedKey / HMAC-SHA256 signing), an independent oracle:
//! - the library's signatures equal ours, in both algorithms, and our validator accepts them;
//! - our signatures pass the library's `validateRequest` (and a tampered one does not);
//! - both read `X-Twilio-Webhooks-Signature-Settings` to the same algorithm;
//! - the library's `webhook()` middleware and our validator accept and refuse the same
//!   requests (which secret for which header, JSON bodies, port variants).
//!
//! infra/local/install-deps.sh installs the library into infra/local/oracles. Skipped with a
//! loud message when node or the library is absent, except in CI.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use phone_twilio::signature::{
    Algorithm, Refusal, RequestValidator, SignatureHeaders, SignatureSettings,
    compute_signature_with,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

type Params = Vec<(String, String)>;

fn node_modules() -> PathBuf {
    common::package_dir().join("../../infra/local/oracles/node_modules")
}

fn oracle_available() -> bool {
    node_modules().join("twilio/package.json").is_file()
        && Command::new("node")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

fn run_oracle(input: &Value) -> Value {
    let script = common::package_dir().join("tests/oracle_node.js");
    let mut child = Command::new("node")
        .arg(script)
        .env("NODE_PATH", node_modules())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run node");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the Node oracle failed");
    serde_json::from_slice(&output.stdout).unwrap()
}

fn p(pairs: &[(&str, &str)]) -> Params {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const ALGORITHMS: [Algorithm; 2] = [Algorithm::HmacSha1, Algorithm::HmacSha256];

/// The settings header Twilio sends for a SharedKey signature with `algorithm`.
fn settings_for(algorithm: Algorithm) -> String {
    format!("key=webhooks_sharedkey_0001,algorithm={algorithm}")
}

fn headers<'a>(signature: &'a str, settings: Option<&'a str>) -> SignatureHeaders<'a> {
    SignatureHeaders {
        signature: Some(signature.as_bytes()),
        settings: settings.map(str::as_bytes),
    }
}

/// Our validator for a request signed with `key` and `algorithm`: SHA-1 requests as the auth
/// token's (no header), SHA-256 ones as a SharedKey's (with the header).
fn our_check(algorithm: Algorithm, key: &str, url: &str, params: &Params, sig: &str) -> bool {
    match algorithm {
        Algorithm::HmacSha1 => RequestValidator::new(key)
            .validate_form(url, params, &headers(sig, None))
            .is_ok(),
        Algorithm::HmacSha256 => {
            let settings = settings_for(algorithm);
            RequestValidator::new("not-the-auth-token")
                .with_shared_key(key)
                .validate_form(url, params, &headers(sig, Some(&settings)))
                .is_ok()
        }
    }
}

fn signing_cases() -> Vec<(&'static str, &'static str, Params)> {
    vec![
        (
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            p(&[("CallSid", "CA1"), ("From", "+12349013030")]),
        ),
        ("tok", "https://example.com/voice/incoming", p(&[])),
        (
            "tok",
            "https://example.com:443/voice/incoming",
            p(&[("A", "1")]),
        ),
        (
            "tok",
            "http://127.0.0.1:8080/voice/status",
            p(&[("CallStatus", "completed"), ("CallDuration", "42")]),
        ),
        ("tok", "wss://stream.example.com/voice/stream", p(&[])),
        ("tok", "wss://stream.example.com/voice/stream/", p(&[])),
        (
            "shared-secret-Ω",
            "https://example.com/sms",
            p(&[("Body", "Grüße, 東京 ✓ & <tags>"), ("From", "+4930123456")]),
        ),
        (
            "tok",
            "https://example.com/sms",
            p(&[("MediaUrl", "b"), ("MediaUrl", "a"), ("Body", "")]),
        ),
        (
            "tok",
            "https://example.com/sms",
            p(&[("To", "x"), ("To", "x"), ("From", "y")]),
        ),
        (
            "another-token",
            "https://example.com/a?x=1&x=2",
            p(&[("Z", "z"), ("a", "A"), ("B", "b")]),
        ),
    ]
}

/// Signed at the first URL, checked at the second: the port variants both sides try.
const PORT_PAIRS: [(&str, &str); 4] = [
    (
        "https://example.com:443/voice/incoming",
        "https://example.com/voice/incoming",
    ),
    (
        "https://example.com/voice/incoming",
        "https://example.com:443/voice/incoming",
    ),
    (
        "http://example.com:80/hook?a=1",
        "http://example.com/hook?a=1",
    ),
    // A non-default port is not a variant of anything.
    ("https://example.com:8443/hook", "https://example.com/hook"),
];

const SETTINGS_HEADERS: [&str; 10] = [
    "key=webhooks_sharedkey_0001,algorithm=HMAC_SHA256",
    "key=webhooks_sharedkey_0001,algorithm=HMAC_SHA1",
    " algorithm = hmac_sha256 , key = k ",
    "key=k",
    "",
    "algorithm=",
    "algorithm=,algorithm=HMAC_SHA256,algorithm=HMAC_SHA1",
    "algorithm=HMAC_SHA512",
    "garbage without equals",
    "key=a=b,algorithm=HMAC_SHA256=x",
];

/// Our reading of a settings header, in the library's terms: the algorithm's name, and
/// whether we implement it.
fn our_algorithm(header: &str) -> (String, bool) {
    match SignatureSettings::parse(header) {
        None => ("HMAC_SHA1".into(), true),
        Some(settings) => match settings.algorithm() {
            Ok(algorithm) => (algorithm.name().into(), true),
            Err(unsupported) => (unsupported, false),
        },
    }
}

/// One request to both the library's middleware and our validator.
struct Request {
    what: &'static str,
    auth_token: &'static str,
    shared: Option<&'static str>,
    url: String,
    params: Params,
    body: Option<Vec<u8>>,
    signature: Option<String>,
    settings: Option<String>,
}

impl Request {
    fn ours(&self) -> Result<(), Refusal> {
        let mut validator = RequestValidator::new(self.auth_token);
        if let Some(shared) = self.shared {
            validator = validator.with_shared_key(shared);
        }
        let headers = SignatureHeaders {
            signature: self.signature.as_deref().map(str::as_bytes),
            settings: self.settings.as_deref().map(str::as_bytes),
        };
        match &self.body {
            Some(body) => validator.validate_json(&self.url, body, &headers),
            None => validator.validate_form(&self.url, &self.params, &headers),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "authToken": self.auth_token,
            "sharedKeySecret": self.shared,
            "url": self.url,
            "params": self.params,
            "body": self.body.as_ref().map(|b| String::from_utf8(b.clone()).unwrap()),
            "signature": self.signature,
            "settings": self.settings,
        })
    }
}

const TOKEN: &str = "account-auth-token";
const SHARED: &str = "shared-key-secret";

fn middleware_cases() -> Vec<(Request, u64)> {
    let url = "https://example.com/voice/incoming".to_owned();
    let form = p(&[("CallSid", "CA1"), ("From", "+14155550123")]);
    let sign = |alg, key: &str, u: &str| compute_signature_with(alg, key, u, &form);
    let s256 = Some(settings_for(Algorithm::HmacSha256));
    let req = |what, shared, signature: Option<String>, settings: Option<String>| Request {
        what,
        auth_token: TOKEN,
        shared,
        url: url.clone(),
        params: form.clone(),
        body: None,
        signature,
        settings,
    };
    let body = br#"{"CallSid":"CA1"}"#.to_vec();
    let json_url = format!(
        "https://example.com/hook?bodySHA256={}",
        hex::encode(Sha256::digest(&body))
    );
    let json_sig = compute_signature_with(Algorithm::HmacSha256, SHARED, &json_url, &[]);
    let json_req = |what, body: &[u8]| Request {
        what,
        auth_token: TOKEN,
        shared: Some(SHARED),
        url: json_url.clone(),
        params: vec![],
        body: Some(body.to_vec()),
        signature: Some(json_sig.clone()),
        settings: s256.clone(),
    };
    let mut tampered = req(
        "SHA-256, a form field changed",
        Some(SHARED),
        Some(sign(Algorithm::HmacSha256, SHARED, &url)),
        s256.clone(),
    );
    tampered.params[1].1 = "+14155550000".into();
    vec![
        (
            req(
                "auth token, no header",
                None,
                Some(sign(Algorithm::HmacSha1, TOKEN, &url)),
                None,
            ),
            200,
        ),
        (
            req(
                "auth token, no header, SharedKey also configured",
                Some(SHARED),
                Some(sign(Algorithm::HmacSha1, TOKEN, &url)),
                None,
            ),
            200,
        ),
        (
            req(
                "auth token, empty header",
                Some(SHARED),
                Some(sign(Algorithm::HmacSha1, TOKEN, &url)),
                Some(String::new()),
            ),
            200,
        ),
        (
            req(
                "auth token, blank header (present: the SharedKey and SHA-1)",
                Some(SHARED),
                Some(sign(Algorithm::HmacSha1, TOKEN, &url)),
                Some(" ".into()),
            ),
            403,
        ),
        (
            req(
                "SharedKey SHA-1, blank header",
                Some(SHARED),
                Some(sign(Algorithm::HmacSha1, SHARED, &url)),
                Some(" ".into()),
            ),
            200,
        ),
        (
            req(
                "SHA-256 SharedKey",
                Some(SHARED),
                Some(sign(Algorithm::HmacSha256, SHARED, &url)),
                s256.clone(),
            ),
            200,
        ),
        (
            req(
                "SHA-256 signed at the :443 URL",
                Some(SHARED),
                Some(sign(
                    Algorithm::HmacSha256,
                    SHARED,
                    "https://example.com:443/voice/incoming",
                )),
                s256.clone(),
            ),
            200,
        ),
        (
            req(
                "SHA-1 SharedKey",
                Some(SHARED),
                Some(sign(Algorithm::HmacSha1, SHARED, &url)),
                Some(settings_for(Algorithm::HmacSha1)),
            ),
            200,
        ),
        (
            req(
                "SharedKey, header without algorithm",
                Some(SHARED),
                Some(sign(Algorithm::HmacSha1, SHARED, &url)),
                Some("key=webhooks_sharedkey_0001".into()),
            ),
            200,
        ),
        // The library answers 500 (its configuration error); we refuse with NoSharedKey.
        (
            req(
                "SHA-256 header, no SharedKey configured",
                None,
                Some(sign(Algorithm::HmacSha256, SHARED, &url)),
                s256.clone(),
            ),
            500,
        ),
        (
            req(
                "auth token signature claiming a SharedKey",
                Some(SHARED),
                Some(sign(Algorithm::HmacSha1, TOKEN, &url)),
                s256.clone(),
            ),
            403,
        ),
        (
            req(
                "SharedKey signature without the header",
                Some(SHARED),
                Some(sign(Algorithm::HmacSha256, SHARED, &url)),
                None,
            ),
            403,
        ),
        (
            req(
                "SHA-256 signature claimed as SHA-1",
                Some(SHARED),
                Some(sign(Algorithm::HmacSha256, SHARED, &url)),
                Some(settings_for(Algorithm::HmacSha1)),
            ),
            403,
        ),
        (
            req(
                "unsupported algorithm",
                Some(SHARED),
                Some(sign(Algorithm::HmacSha256, SHARED, &url)),
                Some("key=k,algorithm=HMAC_SHA512".into()),
            ),
            403,
        ),
        (tampered, 403),
        (req("no signature", Some(SHARED), None, s256.clone()), 400),
        (json_req("JSON body, SHA-256", &body), 200),
        (json_req("JSON body changed", br#"{"CallSid":"CA2"}"#), 403),
    ]
}

#[test]
fn both_algorithms_agree_with_the_official_node_library() {
    if !oracle_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "run infra/local/install-deps.sh (npm ci in infra/local/oracles); CI must install it"
        );
        eprintln!(
            "\n==== SKIPPED: node or npm `twilio` (infra/local/oracles) is missing; Node oracle not run ====\n"
        );
        return;
    }
    let cases = signing_cases();
    let mut sign = Vec::new();
    let mut ours = Vec::new();
    for algorithm in ALGORITHMS {
        for (key, url, params) in &cases {
            sign.push(
                json!({"algorithm": algorithm.name(), "key": key, "url": url,
                "params": params}),
            );
            ours.push((
                algorithm,
                *key,
                url.to_string(),
                params.clone(),
                compute_signature_with(algorithm, key, url, params),
            ));
        }
    }
    // Our signatures through the library, then the same with one character changed.
    let mut validate = Vec::new();
    let mut expected_valid = Vec::new();
    for (algorithm, key, url, params, sig) in &ours {
        let mut tampered = sig.clone().into_bytes();
        tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        for (signature, valid) in [(sig.clone(), true), (tampered, false)] {
            validate.push(
                json!({"algorithm": algorithm.name(), "key": key, "url": url,
                "params": params, "signature": signature}),
            );
            expected_valid.push(valid);
        }
    }
    // Signed at one URL, checked at a port variant of it: both sides must agree.
    let mut port_checks = Vec::new();
    for algorithm in ALGORITHMS {
        for (signed_at, checked_at) in PORT_PAIRS {
            let params = p(&[("A", "1")]);
            let sig = compute_signature_with(algorithm, "tok", signed_at, &params);
            validate.push(json!({"algorithm": algorithm.name(), "key": "tok",
                "url": checked_at, "params": params, "signature": sig}));
            port_checks.push(our_check(algorithm, "tok", checked_at, &params, &sig));
        }
    }
    let body_text = r#"{"a":"✓"}"#;
    let body_url = format!(
        "https://example.com/hook?bodySHA256={}",
        hex::encode(Sha256::digest(body_text.as_bytes()))
    );
    let body_cases: Vec<Value> = ALGORITHMS
        .iter()
        .map(|&algorithm| {
            let sig = compute_signature_with(algorithm, "tok", &body_url, &[]);
            json!({"algorithm": algorithm.name(), "key": "tok", "url": body_url,
                "body": body_text, "signature": sig})
        })
        .collect();
    let middleware = middleware_cases();
    let input = json!({
        "sign": sign,
        "validate": validate,
        "body": body_cases,
        "settings": SETTINGS_HEADERS,
        "middleware": middleware.iter().map(|(r, _)| r.to_json()).collect::<Vec<_>>(),
    });
    let out = run_oracle(&input);

    // (a) The library's signatures are ours, and our validator accepts them.
    let theirs = out["sign"].as_array().unwrap();
    assert_eq!(theirs.len(), ours.len());
    for ((algorithm, key, url, params, mine), theirs) in ours.iter().zip(theirs) {
        let theirs = theirs.as_str().unwrap();
        assert_eq!(mine, theirs, "{algorithm} {url} {params:?}");
        assert!(
            our_check(*algorithm, key, url, params, theirs),
            "we refuse the library's {algorithm} signature for {url}"
        );
        if url.starts_with("wss://") {
            let settings = settings_for(*algorithm);
            let validator = RequestValidator::new("x").with_shared_key(key);
            let trimmed = url.trim_end_matches('/');
            assert_eq!(
                validator.validate_websocket(trimmed, &headers(theirs, Some(&settings))),
                Ok(()),
                "upgrade {url} {algorithm}"
            );
        }
    }
    // (b) Our signatures pass the library's validation; tampered ones do not.
    let valid = out["validate"].as_array().unwrap();
    let (direct, ports) = valid.split_at(expected_valid.len());
    for (i, (got, want)) in direct.iter().zip(&expected_valid).enumerate() {
        assert_eq!(got.as_bool(), Some(*want), "library validate, case {i}");
    }
    for (i, (got, mine)) in ports.iter().zip(&port_checks).enumerate() {
        assert_eq!(got.as_bool(), Some(*mine), "port variant case {i}");
    }
    assert_eq!(port_checks.iter().filter(|v| **v).count(), 6);
    for (i, got) in out["body"].as_array().unwrap().iter().enumerate() {
        assert_eq!(
            got.as_bool(),
            Some(true),
            "library validateRequestWithBody case {i}"
        );
    }
    // The settings header is read the same way.
    for (header, theirs) in SETTINGS_HEADERS
        .iter()
        .zip(out["settings"].as_array().unwrap())
    {
        let name = theirs["algorithm"].as_str().unwrap();
        let supported = theirs["supported"].as_bool().unwrap();
        let (mine, we_support) = our_algorithm(header);
        assert!(
            mine.eq_ignore_ascii_case(name) && we_support == supported,
            "{header:?}: library {name} (supported: {supported}), ours {mine} ({we_support})"
        );
    }
    // The whole decision: which secret, which algorithm, accept or refuse.
    let statuses = out["middleware"].as_array().unwrap();
    for ((request, want), status) in middleware.iter().zip(statuses) {
        let status = status.as_u64().unwrap();
        assert_eq!(status, *want, "library status for {}", request.what);
        let mine = request.ours();
        assert_eq!(
            mine.is_ok(),
            status == 200,
            "{}: library {status}, ours {mine:?}",
            request.what
        );
        if status == 500 {
            assert!(
                matches!(mine, Err(Refusal::NoSharedKey { .. })),
                "{}",
                request.what
            );
        }
    }
}
