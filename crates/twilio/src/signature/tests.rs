use super::*;

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// Twilio's documented example request; the expected value is what the official Python
// library computes for it (tests/oracle*.rs check many more cases against the official
// Python and Node libraries).
const TOKEN: &str = "12345";
const SHARED: &str = "shared-key-secret";
const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
const SETTINGS_256: &str = "key=webhooks_sharedkey_0001,algorithm=HMAC_SHA256";

fn doc_params() -> Vec<(String, String)> {
    params(&[
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ])
}

/// Headers carrying `signature` and, when given, the settings header.
fn headers<'a>(signature: &'a str, settings: Option<&'a str>) -> SignatureHeaders<'a> {
    SignatureHeaders {
        signature: Some(signature.as_bytes()),
        settings: settings.map(str::as_bytes),
    }
}

fn both() -> RequestValidator {
    RequestValidator::new(TOKEN).with_shared_key(SHARED)
}

#[test]
fn matches_twilio_documented_example() {
    assert_eq!(
        compute_signature(TOKEN, URL, &doc_params()),
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    );
}

#[test]
fn sha256_is_an_hmac_sha256_over_the_same_string() {
    // Independent of the form code: the HMAC of the concatenated string Twilio signs.
    let data = "https://mycompany.com/myapp.php?foo=1&bar=2\
                CallSidCA1234567890ABCDECaller+12349013030Digits1234\
                From+12349013030To+18005551212";
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(TOKEN.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    let want = STANDARD.encode(mac.finalize().into_bytes());
    let got = compute_signature_with(Algorithm::HmacSha256, TOKEN, URL, &doc_params());
    assert_eq!(got, want);
    assert_eq!(STANDARD.decode(&got).unwrap().len(), 32);
    assert_ne!(got, compute_signature(TOKEN, URL, &doc_params()));
    assert_eq!(
        compute_signature_with(Algorithm::HmacSha1, TOKEN, URL, &doc_params()),
        compute_signature(TOKEN, URL, &doc_params())
    );
}

#[test]
fn signature_with_and_without_port_is_accepted() {
    let v = RequestValidator::new(TOKEN);
    let sig = compute_signature(TOKEN, URL, &doc_params());
    let with_port_url = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
    assert_eq!(
        v.validate_form(with_port_url, &doc_params(), &headers(&sig, None)),
        Ok(())
    );
    let with_port = compute_signature(TOKEN, with_port_url, &doc_params());
    assert_eq!(
        v.validate_form(URL, &doc_params(), &headers(&with_port, None)),
        Ok(())
    );
    let sha256 =
        compute_signature_with(Algorithm::HmacSha256, SHARED, with_port_url, &doc_params());
    assert_eq!(
        both().validate_form(URL, &doc_params(), &headers(&sha256, Some(SETTINGS_256))),
        Ok(())
    );
}

#[test]
fn tampered_signature_or_params_are_refused() {
    let v = RequestValidator::new(TOKEN);
    let sig = compute_signature(TOKEN, URL, &doc_params());
    let mut changed = doc_params();
    changed[4].1 = "+18005550000".into();
    let mismatch = Err(Refusal::Mismatch {
        algorithm: Algorithm::HmacSha1,
        secret: Secret::AuthToken,
    });
    assert_eq!(
        v.validate_form(URL, &changed, &headers(&sig, None)),
        mismatch
    );
    let near = "0/KCTR6DLpKmkAf8muzZqo1nDgR=";
    assert_eq!(
        v.validate_form(URL, &doc_params(), &headers(near, None)),
        mismatch
    );
    assert_eq!(
        v.validate_form(URL, &doc_params(), &headers("", None)),
        Err(Refusal::MissingSignature)
    );
    assert_eq!(
        v.validate_form(URL, &doc_params(), &SignatureHeaders::default()),
        Err(Refusal::MissingSignature)
    );
    assert_eq!(
        RequestValidator::new("other").validate_form(URL, &doc_params(), &headers(&sig, None)),
        mismatch
    );
}

#[test]
fn sha256_with_the_shared_key_is_accepted_and_tampering_refused() {
    let sig = compute_signature_with(Algorithm::HmacSha256, SHARED, URL, &doc_params());
    let v = both();
    assert_eq!(
        v.validate_form(URL, &doc_params(), &headers(&sig, Some(SETTINGS_256))),
        Ok(())
    );
    let mismatch = Err(Refusal::Mismatch {
        algorithm: Algorithm::HmacSha256,
        secret: Secret::SharedKey,
    });
    let mut changed = doc_params();
    changed[2].1 = "9999".into();
    assert_eq!(
        v.validate_form(URL, &changed, &headers(&sig, Some(SETTINGS_256))),
        mismatch
    );
    // Signed with the auth token instead of the SharedKey secret.
    let with_token = compute_signature_with(Algorithm::HmacSha256, TOKEN, URL, &doc_params());
    assert_eq!(
        v.validate_form(
            URL,
            &doc_params(),
            &headers(&with_token, Some(SETTINGS_256))
        ),
        mismatch
    );
    // The header decides the algorithm: a SHA-256 signature claimed as SHA-1 fails.
    let sha1_settings = "key=webhooks_sharedkey_0001,algorithm=HMAC_SHA1";
    assert_eq!(
        v.validate_form(URL, &doc_params(), &headers(&sig, Some(sha1_settings))),
        Err(Refusal::Mismatch {
            algorithm: Algorithm::HmacSha1,
            secret: Secret::SharedKey,
        })
    );
}

#[test]
fn shared_key_with_sha1_or_no_algorithm_uses_sha1() {
    let sig = compute_signature_with(Algorithm::HmacSha1, SHARED, URL, &doc_params());
    for settings in ["key=k,algorithm=HMAC_SHA1", "key=k", "algorithm=hmac_sha1"] {
        assert_eq!(
            both().validate_form(URL, &doc_params(), &headers(&sig, Some(settings))),
            Ok(()),
            "{settings}"
        );
    }
}

#[test]
fn settings_header_without_a_configured_shared_key_is_refused() {
    // Even a signature the auth token made: the header says a SharedKey signed it.
    let sig = compute_signature_with(Algorithm::HmacSha256, TOKEN, URL, &doc_params());
    let refusal = RequestValidator::new(TOKEN)
        .validate_form(URL, &doc_params(), &headers(&sig, Some(SETTINGS_256)))
        .unwrap_err();
    assert_eq!(
        refusal,
        Refusal::NoSharedKey {
            key_id: "webhooks_sharedkey_0001".into()
        }
    );
    assert!(refusal.to_string().contains("no SharedKey secret"));
}

#[test]
fn without_settings_header_the_auth_token_signs_even_when_a_shared_key_is_set() {
    let sig = compute_signature(TOKEN, URL, &doc_params());
    assert_eq!(
        both().validate_form(URL, &doc_params(), &headers(&sig, None)),
        Ok(())
    );
    // An empty settings header counts as absent, as in the Node library.
    assert_eq!(
        both().validate_form(URL, &doc_params(), &headers(&sig, Some(""))),
        Ok(())
    );
    // The SharedKey secret never stands in for the auth token.
    let shared = compute_signature(SHARED, URL, &doc_params());
    assert!(
        both()
            .validate_form(URL, &doc_params(), &headers(&shared, None))
            .is_err()
    );
}

#[test]
fn unsupported_or_unreadable_settings_are_refused() {
    let sig = compute_signature_with(Algorithm::HmacSha256, SHARED, URL, &doc_params());
    assert_eq!(
        both().validate_form(
            URL,
            &doc_params(),
            &headers(&sig, Some("key=k,algorithm=HMAC_SHA512"))
        ),
        Err(Refusal::UnsupportedAlgorithm("HMAC_SHA512".into()))
    );
    let raw = SignatureHeaders {
        signature: Some(sig.as_bytes()),
        settings: Some(b"algorithm=\xff"),
    };
    assert_eq!(
        both().validate_form(URL, &doc_params(), &raw),
        Err(Refusal::UnreadableSettings)
    );
}

#[test]
fn repeated_keys_are_signed_in_sorted_order() {
    let a = params(&[("Media", "b"), ("Media", "a"), ("Body", "x")]);
    let b = params(&[("Body", "x"), ("Media", "a"), ("Media", "b")]);
    for algorithm in [Algorithm::HmacSha1, Algorithm::HmacSha256] {
        assert_eq!(
            compute_signature_with(algorithm, TOKEN, URL, &a),
            compute_signature_with(algorithm, TOKEN, URL, &b)
        );
    }
}

#[test]
fn websocket_upgrade_accepts_trailing_slash_either_way() {
    let v = RequestValidator::new(TOKEN);
    let url = "wss://stream.example.com/voice/stream";
    let ok = |sig: &str| v.validate_websocket(url, &headers(sig, None));
    let sig = compute_signature(TOKEN, url, &[]);
    assert_eq!(
        v.validate_websocket(
            "wss://stream.example.com/voice/stream/",
            &headers(&sig, None)
        ),
        Ok(())
    );
    assert_eq!(ok(&sig), Ok(()));
    assert_eq!(
        ok(&compute_signature(TOKEN, &format!("{url}/"), &[])),
        Ok(())
    );
    let port = compute_signature(TOKEN, "wss://stream.example.com:443/voice/stream", &[]);
    assert_eq!(ok(&port), Ok(()));
    let port_slash = compute_signature(TOKEN, "wss://stream.example.com:443/voice/stream/", &[]);
    assert_eq!(ok(&port_slash), Ok(()));
    assert!(
        v.validate_websocket("wss://evil.example.com/voice/stream", &headers(&sig, None))
            .is_err()
    );
}

#[test]
fn websocket_upgrade_signed_with_sha256_and_the_shared_key() {
    let url = "wss://stream.example.com/voice/stream";
    for signed in [url.to_owned(), format!("{url}/")] {
        let sig = compute_signature_with(Algorithm::HmacSha256, SHARED, &signed, &[]);
        assert_eq!(
            both().validate_websocket(url, &headers(&sig, Some(SETTINGS_256))),
            Ok(())
        );
        assert!(
            RequestValidator::new(TOKEN)
                .validate_websocket(url, &headers(&sig, Some(SETTINGS_256)))
                .is_err()
        );
    }
}

#[test]
fn json_body_hash_is_checked_with_either_algorithm() {
    let body = br#"{"a":1}"#;
    let url = format!(
        "https://example.com/hook?bodySHA256={}",
        hex::encode(Sha256::digest(body))
    );
    let sig = compute_signature(TOKEN, &url, &[]);
    let v = both();
    assert_eq!(v.validate_json(&url, body, &headers(&sig, None)), Ok(()));
    assert_eq!(
        v.validate_json(&url, br#"{"a":2}"#, &headers(&sig, None)),
        Err(Refusal::BodyHash)
    );
    assert_eq!(
        v.validate_json("https://example.com/hook", body, &headers(&sig, None)),
        Err(Refusal::BodyHash)
    );
    let sha256 = compute_signature_with(Algorithm::HmacSha256, SHARED, &url, &[]);
    assert_eq!(
        v.validate_json(&url, body, &headers(&sha256, Some(SETTINGS_256))),
        Ok(())
    );
    assert_eq!(
        v.validate_json(&url, br#"{"a":2}"#, &headers(&sha256, Some(SETTINGS_256))),
        Err(Refusal::BodyHash)
    );
}

#[test]
fn debug_hides_both_secrets() {
    let debug = format!(
        "{:?}",
        RequestValidator::new("super-secret").with_shared_key("shared-secret")
    );
    assert!(!debug.contains("super-secret"), "{debug}");
    assert!(!debug.contains("shared-secret"), "{debug}");
}
