//! Configuration from Secrets Manager, against moto on loopback.

use phone_aws::secrets::{SecretError, load_secret_map, load_secret_map_cached, put_secret_key};
use phone_test_support::moto;

async fn client_with(secret: Option<&str>) -> Option<(aws_sdk_secretsmanager::Client, String)> {
    let endpoint = moto::shared_endpoint()?;
    let client = moto::secrets_client(&endpoint);
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

/// The error text of loading a secret whose SecretString is `text`.
async fn load_error(text: &str) -> Option<(String, String)> {
    let (client, name) = client_with(Some(text)).await?;
    let err = load_secret_map(&client, &name).await.unwrap_err();
    assert!(matches!(err, SecretError::Malformed { .. }), "{err:?}");
    Some((err.to_string(), name))
}

#[tokio::test]
async fn a_secret_that_is_not_an_object_is_refused_without_echoing_it() {
    let Some((err, name)) = load_error(r#"["sk-secret-value"]"#).await else {
        return;
    };
    assert!(err.contains(&name) && err.contains("JSON object"), "{err}");
    assert!(!err.contains("sk-secret-value"), "{err}");
}

#[tokio::test]
async fn a_secret_that_is_not_json_is_refused_without_echoing_it() {
    let Some((err, name)) = load_error(r#"{"OPENAI_API_KEY": sk-unquoted}"#).await else {
        return;
    };
    assert!(
        err.contains(&name) && err.contains("not valid JSON"),
        "{err}"
    );
    assert!(!err.contains("sk-unquoted"), "{err}");
}

#[tokio::test]
async fn a_value_of_the_wrong_type_names_its_key_but_not_its_value() {
    let Some((err, name)) = load_error(r#"{"OK":"1","API_KEY": {"nested": "sk-nested"}}"#).await
    else {
        return;
    };
    assert!(err.contains(&name) && err.contains("API_KEY"), "{err}");
    assert!(!err.contains("sk-nested"), "{err}");
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

#[tokio::test]
async fn cached_secret_is_read_once_per_id() {
    let Some((client, first)) = client_with(Some(r#"{"K":"v1"}"#)).await else {
        return;
    };
    let Some((_, second)) = client_with(Some(r#"{"K":"other"}"#)).await else {
        return;
    };
    assert_eq!(
        load_secret_map_cached(&client, &first).await.unwrap()["K"],
        "v1"
    );
    // Changed behind this process's back: the cache does not notice.
    client
        .put_secret_value()
        .secret_id(&first)
        .secret_string(r#"{"K":"v2"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        load_secret_map_cached(&client, &first).await.unwrap()["K"],
        "v1",
        "served from the cache"
    );
    assert_eq!(load_secret_map(&client, &first).await.unwrap()["K"], "v2");
    // Changed through `put_secret_key`: the cached copy is dropped.
    put_secret_key(&client, &first, "K", "v3").await.unwrap();
    assert_eq!(
        load_secret_map_cached(&client, &first).await.unwrap()["K"],
        "v3"
    );
    assert_eq!(
        load_secret_map_cached(&client, &second).await.unwrap()["K"],
        "other",
        "another id is not answered with the first one's values"
    );
}

#[tokio::test]
async fn a_failed_load_is_not_cached() {
    let Some((client, name)) = client_with(None).await else {
        return;
    };
    assert!(load_secret_map_cached(&client, &name).await.is_err());
    client
        .create_secret()
        .name(&name)
        .secret_string(r#"{"K":"now"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        load_secret_map_cached(&client, &name).await.unwrap()["K"],
        "now"
    );
}
