//! Configuration from Secrets Manager, against moto on loopback.

use phone_aws::secrets::{SecretError, load_secret_map, put_secret_key};
use phone_test_support::moto;

async fn client_with(secret: Option<&str>) -> Option<(aws_sdk_secretsmanager::Client, String)> {
    let endpoint = moto::endpoint()?;
    let client = moto::secrets_client(&endpoint).await;
    let name = moto::unique_name("phone-agent-config");
    if let Some(text) = secret {
        client
            .create_secret()
            .name(&name)
            .secret_string(text)
            .send()
            .await
            .expect("create secret");
    }
    Some((client, name))
}

#[tokio::test]
async fn secret_json_becomes_a_key_value_map() {
    let json = r#"{"TWILIO_AUTH_TOKEN":"tok","RETENTION_CALLS_DAYS":30,"FLAG":true,"EMPTY":null}"#;
    let Some((client, name)) = client_with(Some(json)).await else {
        return;
    };
    let map = load_secret_map(&client, &name).await.unwrap();
    assert_eq!(map["TWILIO_AUTH_TOKEN"], "tok");
    assert_eq!(map["RETENTION_CALLS_DAYS"], "30");
    assert_eq!(map["FLAG"], "true");
    assert!(!map.contains_key("EMPTY"));
    let config = phone_config::Config::from_map(&map).unwrap();
    assert!(config.require_twilio_auth_token().is_ok());
}

#[tokio::test]
async fn missing_secret_is_named() {
    let Some((client, name)) = client_with(None).await else {
        return;
    };
    let err = load_secret_map(&client, &name).await.unwrap_err();
    assert!(matches!(err, SecretError::NotFound(_)), "{err:?}");
    assert!(err.to_string().contains(&name));
}

#[tokio::test]
async fn malformed_secret_names_the_problem_but_not_the_value() {
    let Some((client, name)) = client_with(Some("[\"sk-secret-value\"]")).await else {
        return;
    };
    let err = load_secret_map(&client, &name)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("JSON object") && !err.contains("sk-secret-value"),
        "{err}"
    );

    let Some((client, name)) = client_with(Some("{\"OPENAI_API_KEY\": sk-unquoted}")).await else {
        return;
    };
    let err = load_secret_map(&client, &name)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not valid JSON") && !err.contains("sk-unquoted"),
        "{err}"
    );

    let Some((client, name)) = client_with(Some(r#"{"API_KEY": {"nested": "x"}}"#)).await else {
        return;
    };
    let err = load_secret_map(&client, &name)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("API_KEY"), "{err}");
}

#[tokio::test]
async fn put_secret_key_keeps_the_other_keys() {
    let Some((client, name)) = client_with(Some(r#"{"A":"1"}"#)).await else {
        return;
    };
    put_secret_key(&client, &name, "GOOGLE_REFRESH_TOKEN", "1//refresh")
        .await
        .unwrap();
    let map = load_secret_map(&client, &name).await.unwrap();
    assert_eq!(map["A"], "1");
    assert_eq!(map["GOOGLE_REFRESH_TOKEN"], "1//refresh");
}
