use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::ExposeSecret;

use super::*;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn empty_environment_gives_local_defaults() {
    let config = Config::from_map(&BTreeMap::new()).unwrap();
    assert_eq!(config.store, StoreChoice::Local { path: None });
    assert_eq!(
        config.openai.realtime_url,
        "wss://api.openai.com/v1/realtime?model=gpt-realtime"
    );
    assert_eq!(config.twilio.api_base_url, "https://api.twilio.com");
    assert_eq!(config.assistant.time_zone, "UTC");
    assert!(config.openai.api_key.is_none());
}

#[test]
fn request_deadlines_default_below_their_limits_and_refuse_values_past_them() {
    let config = Config::from_map(&BTreeMap::new()).unwrap();
    assert_eq!(config.agent_deadline, Duration::from_secs(25));
    assert_eq!(config.header_read_timeout, Duration::from_secs(10));
    for (key, value) in [
        ("AGENT_DEADLINE_SECS", "29"),
        ("AGENT_DEADLINE_SECS", "0"),
        ("HEADER_READ_TIMEOUT_SECS", "0"),
    ] {
        let err = Config::from_map(&map(&[(key, value)])).unwrap_err();
        assert!(err.to_string().contains(key), "{err}");
    }
}

#[test]
fn table_name_selects_dynamodb() {
    let config = Config::from_map(&map(&[
        ("TABLE_NAME", "calls"),
        ("DYNAMODB_ENDPOINT", "http://127.0.0.1:5000"),
    ]))
    .unwrap();
    assert_eq!(
        config.store,
        StoreChoice::DynamoDb {
            table: "calls".into(),
            endpoint: Some("http://127.0.0.1:5000".into())
        }
    );
}

#[test]
fn missing_required_key_names_it() {
    let config = Config::from_map(&BTreeMap::new()).unwrap();
    let err = config.require_twilio_auth_token().unwrap_err();
    assert_eq!(
        err.to_string(),
        "configuration TWILIO_AUTH_TOKEN is not set"
    );
}

#[test]
fn malformed_values_name_the_key_but_not_the_value() {
    let cases = [
        ("STREAM_PUBLIC_URL", "https://wrong-scheme.example"),
        ("TWILIO_FROM_NUMBER", "0800-SECRETISH"),
        ("TWILIO_ACCOUNT_SID", "XX123"),
        ("RETENTION_CALLS_DAYS", "forever"),
        ("TIME_ZONE", "GMT+2 please"),
        ("PRICE_TABLE_JSON", "{not json"),
        ("MAX_CALL_COST_USD", "-0.25"),
        ("OAUTH_STATE_SECRET", "too-short"),
    ];
    for (key, value) in cases {
        let err = Config::from_map(&map(&[(key, value)])).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(key), "{message} should name {key}");
        assert!(
            !message.contains(value),
            "{message} must not echo the value"
        );
    }
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let config = Config::from_map(&map(&[
        ("TWILIO_AUTH_TOKEN", "tok-very-secret-1"),
        ("OPENAI_API_KEY", "sk-very-secret-2"),
        ("API_KEY", "api-very-secret-3"),
        ("TWILIO_API_KEY_SECRET", "sk-very-secret-4"),
    ]))
    .unwrap();
    let debug = format!("{config:?}");
    for secret in [
        "tok-very-secret-1",
        "sk-very-secret-2",
        "api-very-secret-3",
        "sk-very-secret-4",
    ] {
        assert!(!debug.contains(secret), "secret leaked into Debug output");
    }
    assert_eq!(
        config.require_twilio_auth_token().unwrap().expose_secret(),
        "tok-very-secret-1"
    );
}

#[test]
fn secret_overrides_environment() {
    let env = map(&[("TWILIO_AUTH_TOKEN", "from-env"), ("TABLE_NAME", "t")]);
    let secret = map(&[("TWILIO_AUTH_TOKEN", "from-secret")]);
    let config = Config::from_map(&merge_sources(env, secret)).unwrap();
    assert_eq!(
        config.require_twilio_auth_token().unwrap().expose_secret(),
        "from-secret"
    );
    assert!(matches!(config.store, StoreChoice::DynamoDb { .. }));
}

#[test]
fn blank_values_count_as_unset() {
    let config = Config::from_map(&map(&[("TABLE_NAME", "  "), ("OPENAI_API_KEY", "")])).unwrap();
    assert_eq!(config.store, StoreChoice::Local { path: None });
    assert!(config.openai.api_key.is_none());
}

#[test]
fn email_reply_policy_defaults_to_draft_and_refuses_unknown_values() {
    let config = Config::from_map(&BTreeMap::new()).unwrap();
    assert_eq!(config.email.reply_policy, ReplyPolicy::Draft);
    assert_eq!(config.email.query, phone_core::email::DEFAULT_QUERY);
    assert_eq!(config.sms_reply_deadline, Duration::from_secs(10));
    let send = Config::from_map(&map(&[("EMAIL_REPLY_POLICY", " Send ")])).unwrap();
    assert_eq!(send.email.reply_policy, ReplyPolicy::Send);
    let off = Config::from_map(&map(&[("EMAIL_REPLY_POLICY", "off")])).unwrap();
    assert_eq!(off.email.reply_policy, ReplyPolicy::Off);
    let err = Config::from_map(&map(&[("EMAIL_REPLY_POLICY", "always")])).unwrap_err();
    assert!(err.to_string().contains("EMAIL_REPLY_POLICY"), "{err}");
    let err = Config::from_map(&map(&[("SMS_REPLY_DEADLINE_SECS", "20")])).unwrap_err();
    assert!(err.to_string().contains("SMS_REPLY_DEADLINE_SECS"), "{err}");
}

#[test]
fn call_cost_cap_is_read_in_nano_dollars() {
    let config = Config::from_map(&map(&[("MAX_CALL_COST_USD", "0.50")])).unwrap();
    assert_eq!(config.stream.max_cost_nano_usd, Some(500_000_000));
    let none = Config::from_map(&map(&[])).unwrap();
    assert_eq!(none.stream.max_cost_nano_usd, None);
}
