//! The Media Streams upgrade signed the newer way: a Webhooks Rule's SharedKey with
//! HMAC-SHA256 and the `X-Twilio-Webhooks-Signature-Settings` header.

mod harness;

use harness::{AUTH_TOKEN, WAIT, sid, start, start_with};
use phone_test_support::realtime_server::Mode;
use phone_test_support::twilio_stream::{Signing, TwilioStream};
use phone_twilio::signature::Algorithm;
use secrecy::SecretString;

const SHARED: &str = "stream-shared-key-secret";

fn shared_key(secret: &str) -> Signing<'_> {
    Signing::SharedKey {
        key_id: "webhooks_sharedkey_0001",
        secret,
        algorithm: Algorithm::HmacSha256,
    }
}

#[tokio::test]
async fn upgrade_signed_with_sha256_and_the_shared_key_runs_the_call() {
    let host = start_with(Mode::Scripted, |config| {
        config.twilio_webhook_shared_key = Some(SecretString::from(SHARED));
    })
    .await;

    for wrong in [shared_key("not-the-shared-key"), shared_key(AUTH_TOKEN)] {
        let refused = TwilioStream::connect(&host.stream_url, wrong).await.err();
        assert_eq!(refused.as_deref(), Some("HTTP 403"));
    }
    assert_eq!(host.openai.connections_opened(), 0);

    let token = host.ring(&sid(1)).await;
    let mut twilio = TwilioStream::connect(&host.stream_url, shared_key(SHARED))
        .await
        .expect("a SharedKey HMAC-SHA256 upgrade is accepted");
    twilio
        .start(&sid(1), &[("token", &token), ("caller", "+14155550123")])
        .await;
    host.openai.wait_for("session.update", 1, WAIT).await;
    twilio.stop(&sid(1)).await;
    host.wait_no_active_calls().await;

    // Without the settings header the auth token still signs, as in Twilio's Node library.
    let token = host.ring(&sid(2)).await;
    let mut twilio = TwilioStream::connect(&host.stream_url, Signing::Token(AUTH_TOKEN))
        .await
        .expect("an auth-token upgrade is still accepted");
    twilio.start(&sid(2), &[("token", &token)]).await;
    host.openai.wait_for("session.update", 2, WAIT).await;
    twilio.stop(&sid(2)).await;
    host.wait_no_active_calls().await;
}

#[tokio::test]
async fn sha256_upgrade_is_refused_when_no_shared_key_is_configured() {
    let host = start().await;
    let refused = TwilioStream::connect(&host.stream_url, shared_key(SHARED))
        .await
        .err();
    assert_eq!(refused.as_deref(), Some("HTTP 403"));
    // Not even a signature the auth token made is tried once the header names a SharedKey.
    let refused = TwilioStream::connect(&host.stream_url, shared_key(AUTH_TOKEN))
        .await
        .err();
    assert_eq!(refused.as_deref(), Some("HTTP 403"));
    assert_eq!(host.openai.connections_opened(), 0);
}
