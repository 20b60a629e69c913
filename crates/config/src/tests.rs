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
        "wss://api.openai.com/v1/realtime?model=gpt-realtime-2.1"
    );
    assert_eq!(config.twilio.api_base_url, "https://api.twilio.com");
    assert_eq!(config.assistant.time_zone, "UTC");
    assert!(config.openai.api_key.is_none());
    assert!(config.twilio.webhook_shared_key.is_none());
}

#[test]
fn owner_numbers_are_a_comma_list_in_order() {
    let config =
        Config::from_map(&map(&[("OWNER_NUMBERS", " +14155550100, ,+447700900123 ")])).unwrap();
    let numbers: Vec<&str> = config.owner_numbers.iter().map(|n| n.as_str()).collect();
    assert_eq!(numbers, ["+14155550100", "+447700900123"]);
    assert!(
        Config::from_map(&BTreeMap::new())
            .unwrap()
            .owner_numbers
            .is_empty()
    );
}

#[test]
fn request_deadlines_default_below_their_limits_and_refuse_values_past_them() {
    let config = Config::from_map(&BTreeMap::new()).unwrap();
    assert_eq!(config.agent_deadline, Duration::from_secs(25));
    assert_eq!(config.header_read_timeout, Duration::from_secs(10));
    assert_eq!(config.request_timeout, Duration::from_secs(29));
    for (key, value) in [
        ("AGENT_DEADLINE_SECS", "29"),
        ("AGENT_DEADLINE_SECS", "0"),
        ("HEADER_READ_TIMEOUT_SECS", "0"),
        ("REQUEST_TIMEOUT_SECS", "0"),
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
        ("OPENAI_REALTIME_REASONING_EFFORT", "extreme"),
        ("OPENAI_REALTIME_MODEL", "gpt realtime?"),
        ("OPENAI_TEXT_MODEL", "gpt&5"),
        ("OWNER_NUMBERS", "+14155550100,0800-SECRETISH"),
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
        ("TWILIO_WEBHOOK_SHARED_KEY_SECRET", "shared-very-secret-5"),
    ]))
    .unwrap();
    let debug = format!("{config:?}");
    for secret in [
        "tok-very-secret-1",
        "sk-very-secret-2",
        "api-very-secret-3",
        "sk-very-secret-4",
        "shared-very-secret-5",
    ] {
        assert!(!debug.contains(secret), "secret leaked into Debug output");
    }
    assert_eq!(
        config.require_twilio_auth_token().unwrap().expose_secret(),
        "tok-very-secret-1"
    );
    let shared = config.twilio.webhook_shared_key.as_ref().unwrap();
    assert_eq!(shared.expose_secret(), "shared-very-secret-5");
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
    let default = Config::from_map(&map(&[])).unwrap();
    assert_eq!(default.stream.max_cost_nano_usd, Some(2_000_000_000));
    assert_eq!(
        default.stream.max_cost_nano_usd,
        Some(DEFAULT_MAX_CALL_COST_NANO_USD)
    );
    for off in ["off", " OFF "] {
        let config = Config::from_map(&map(&[("MAX_CALL_COST_USD", off)])).unwrap();
        assert_eq!(config.stream.max_cost_nano_usd, None, "{off}");
    }
    for refused in ["0", "0.0", "none", "-1", "NaN"] {
        let err = Config::from_map(&map(&[("MAX_CALL_COST_USD", refused)])).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("MAX_CALL_COST_USD"), "{message}");
        assert!(message.contains("or off for no cap"), "{message}");
    }
}

#[test]
fn guest_quotas_have_defaults_numbers_and_off() {
    let default = Config::from_map(&map(&[])).unwrap().guest_quotas;
    assert_eq!(default, GuestQuotas::default());
    assert_eq!(
        (
            default.calls,
            default.call_minutes,
            default.sms,
            default.tool_writes
        ),
        (Some(5), Some(20), Some(20), Some(10))
    );
    let set = Config::from_map(&map(&[
        ("GUEST_CALLS_PER_DAY", "2"),
        ("GUEST_CALL_MINUTES_PER_DAY", "off"),
        ("GUEST_SMS_PER_DAY", "0"),
        ("GUEST_TOOL_WRITES_PER_DAY", "Off"),
    ]))
    .unwrap()
    .guest_quotas;
    assert_eq!(
        set,
        GuestQuotas {
            calls: Some(2),
            call_minutes: None,
            sms: Some(0),
            tool_writes: None,
        }
    );
    for key in [
        "GUEST_CALLS_PER_DAY",
        "GUEST_CALL_MINUTES_PER_DAY",
        "GUEST_SMS_PER_DAY",
        "GUEST_TOOL_WRITES_PER_DAY",
    ] {
        let err = Config::from_map(&map(&[(key, "-3")])).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(key), "{message}");
        assert!(message.contains("or off for no limit"), "{message}");
    }
}

#[test]
fn default_models_are_the_current_ones() {
    let config = Config::from_map(&BTreeMap::new()).unwrap();
    assert_eq!(config.openai.realtime_model, "gpt-realtime-2.1");
    assert_eq!(config.openai.realtime_model, DEFAULT_REALTIME_MODEL);
    assert_eq!(config.openai.transcription_model, "gpt-transcribe");
    assert_eq!(config.openai.text_model, DEFAULT_TEXT_MODEL);
    assert_eq!(config.openai.reasoning_effort, ReasoningEffort::Low);
}

#[test]
fn realtime_url_is_built_from_the_one_configured_model() {
    let config = Config::from_map(&map(&[
        ("OPENAI_REALTIME_MODEL", "gpt-realtime-2.1-mini"),
        (
            "OPENAI_REALTIME_URL",
            "ws://127.0.0.1:4000/v1/realtime?trace=1",
        ),
    ]))
    .unwrap();
    assert_eq!(
        config.openai.realtime_url,
        "ws://127.0.0.1:4000/v1/realtime?trace=1&model=gpt-realtime-2.1-mini"
    );
    assert_eq!(config.openai.realtime_model, "gpt-realtime-2.1-mini");

    // A URL carrying the same model is used as is.
    let same = "wss://proxy.example/v1/realtime?model=gpt-realtime-2";
    let config = Config::from_map(&map(&[
        ("OPENAI_REALTIME_MODEL", "gpt-realtime-2"),
        ("OPENAI_REALTIME_URL", same),
    ]))
    .unwrap();
    assert_eq!(config.openai.realtime_url, same);
}

#[test]
fn a_url_naming_another_model_is_a_configuration_error_naming_both_keys() {
    // The old default URL with the new default model: the socket would run gpt-realtime while
    // the call is priced as gpt-realtime-2.1.
    let err = Config::from_map(&map(&[(
        "OPENAI_REALTIME_URL",
        "wss://api.openai.com/v1/realtime?model=gpt-realtime",
    )]))
    .unwrap_err()
    .to_string();
    assert!(err.contains("OPENAI_REALTIME_URL"), "{err}");
    assert!(err.contains("OPENAI_REALTIME_MODEL"), "{err}");
}

#[test]
fn reasoning_effort_is_read_and_validated() {
    let config = Config::from_map(&map(&[("OPENAI_REALTIME_REASONING_EFFORT", "xhigh")])).unwrap();
    assert_eq!(config.openai.reasoning_effort, ReasoningEffort::Xhigh);
    let err = Config::from_map(&map(&[("OPENAI_REALTIME_REASONING_EFFORT", "max")]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "configuration OPENAI_REALTIME_REASONING_EFFORT is invalid: expected minimal, low, \
         medium, high or xhigh"
    );
}

#[test]
fn the_default_price_table_prices_every_default_token_billed_model() {
    let prices = PriceTable::default();
    for model in [DEFAULT_REALTIME_MODEL, DEFAULT_TEXT_MODEL] {
        assert!(prices.prices_for(model).is_some(), "no price for {model}");
    }
}

#[test]
fn owners_are_read_and_the_pin_is_redacted() {
    let config = Config::from_map(&map(&[
        ("OWNER_NUMBERS", "+14155550100, +33612345678"),
        ("OWNER_EMAIL", "Me@Example.com,me@work.example"),
        ("OWNER_PIN", "482193"),
    ]))
    .unwrap();
    assert_eq!(config.owner_numbers.len(), 2);
    assert_eq!(config.owner_numbers[1].as_str(), "+33612345678");
    assert_eq!(config.owner_emails, ["me@example.com", "me@work.example"]);
    assert_eq!(config.owner_pin.as_ref().unwrap().expose_secret(), "482193");
    assert!(!format!("{config:?}").contains("482193"));
    let none = Config::from_map(&map(&[])).unwrap();
    assert!(none.owner_numbers.is_empty() && none.owner_emails.is_empty());
    assert!(none.owner_pin.is_none());
    for (key, bad) in [
        ("OWNER_NUMBERS", "+14155550100, 555-0100"),
        ("OWNER_EMAIL", "me@example.com, not-an-address"),
        ("OWNER_PIN", "12a4"),
        ("OWNER_PIN", "123"),
    ] {
        let err = Config::from_map(&map(&[(key, bad)])).unwrap_err();
        assert!(err.to_string().contains(key), "{err}");
        assert!(
            !err.to_string().contains(bad),
            "the value is not echoed: {err}"
        );
    }
}

#[test]
fn recording_is_off_by_default_and_dual_puts_the_notice_before_the_greeting() {
    let off = Config::from_map(&map(&[("GREETING", "Hi.")])).unwrap();
    assert_eq!(off.recording.mode, RecordingMode::Off);
    assert_eq!(off.recording.greeting("Hi."), "Hi.");

    let dual = Config::from_map(&map(&[("RECORDING", "dual")])).unwrap();
    assert_eq!(dual.recording.mode, RecordingMode::Dual);
    assert_eq!(
        dual.recording.greeting("Hi."),
        format!("{DEFAULT_RECORDING_NOTICE} Hi.")
    );
    let custom = Config::from_map(&map(&[
        ("RECORDING", "dual"),
        ("RECORDING_NOTICE", "Cette conversation est enregistrée."),
    ]))
    .unwrap();
    assert_eq!(
        custom.recording.greeting("Bonjour."),
        "Cette conversation est enregistrée. Bonjour."
    );
    let err = Config::from_map(&map(&[("RECORDING", "yes")])).unwrap_err();
    assert!(err.to_string().contains("RECORDING"));
}

#[test]
fn keypad_settings_default_to_three_seconds_and_sixteen_keys_and_are_bounded() {
    let config = Config::from_map(&BTreeMap::new()).unwrap();
    assert_eq!(config.stream.keypad_timeout, Duration::from_secs(3));
    assert_eq!(config.stream.keypad_max_keys, 16);
    let config = Config::from_map(&map(&[
        ("KEYPAD_TIMEOUT_MS", "1500"),
        ("KEYPAD_MAX_KEYS", "4"),
    ]))
    .unwrap();
    assert_eq!(config.stream.keypad_timeout, Duration::from_millis(1500));
    assert_eq!(config.stream.keypad_max_keys, 4);
    for (key, value) in [
        ("KEYPAD_TIMEOUT_MS", "100"),
        ("KEYPAD_TIMEOUT_MS", "60000"),
        ("KEYPAD_MAX_KEYS", "0"),
        ("KEYPAD_MAX_KEYS", "33"),
    ] {
        let err = Config::from_map(&map(&[(key, value)])).unwrap_err();
        assert!(err.to_string().contains(key), "{err}");
    }
}

#[test]
fn outbound_settings_have_defaults_and_ranges() {
    let config = Config::from_map(&map(&[])).unwrap();
    assert_eq!(config.outbound.policy.window.to_string(), "08:00-21:00");
    assert_eq!(config.outbound.policy.max_retries, 2);
    assert_eq!(config.outbound.policy.max_calls_per_day, 20);
    assert_eq!(config.outbound.ring_timeout_secs, 30);
    assert_eq!(config.assistant.name, "Ava");
    let set = Config::from_map(&map(&[
        ("OUTBOUND_CALL_WINDOW", "09:00-17:30"),
        ("OUTBOUND_MAX_RETRIES", "0"),
        ("OUTBOUND_RETRY_BACKOFF_SECS", "60"),
        ("OUTBOUND_CALLS_PER_DAY", "3"),
        ("OWNER_NAME", "Sam"),
    ]))
    .unwrap();
    assert_eq!(set.outbound.policy.window.to_string(), "09:00-17:30");
    assert_eq!(set.outbound.policy.max_retries, 0);
    assert_eq!(set.outbound.policy.retry_backoff.as_secs(), 60);
    assert_eq!(set.assistant.owner_name.as_deref(), Some("Sam"));
    for (key, bad) in [
        ("OUTBOUND_CALL_WINDOW", "21:00-08:00"),
        ("OUTBOUND_MAX_RETRIES", "11"),
        ("OUTBOUND_RETRY_BACKOFF_SECS", "0"),
        ("OUTBOUND_RING_TIMEOUT_SECS", "700"),
    ] {
        let err = Config::from_map(&map(&[(key, bad)])).unwrap_err();
        assert!(err.to_string().contains(key), "{err}");
    }
}
