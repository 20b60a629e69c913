use phone_core::ports::{CallControl, HangUpOutcome, Messaging, PortError, SmsQuery};
use phone_core::{CallSid, PhoneNumber};
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{basic_auth, body_string_contains, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::TwilioRest;

const ACCOUNT: &str = "AC00000000000000000000000000000001";
const CALL: &str = "CA00000000000000000000000000000001";

fn client(server: &MockServer) -> TwilioRest {
    TwilioRest::new(
        &server.uri(),
        ACCOUNT,
        ACCOUNT,
        SecretString::from("auth-token"),
        Some(PhoneNumber::parse("+14155550999").unwrap()),
    )
    .unwrap()
}

#[tokio::test]
async fn send_sms_posts_the_form_with_basic_auth() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/2010-04-01/Accounts/{ACCOUNT}/Messages.json")))
        .and(basic_auth(ACCOUNT, "auth-token"))
        .and(body_string_contains("To=%2B14155550123"))
        .and(body_string_contains("From=%2B14155550999"))
        .and(body_string_contains("Body=See+you+at+3"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "sid": "SM123", "to": "+14155550123", "from": "+14155550999", "body": "See you at 3",
            "status": "queued", "direction": "outbound-api", "num_segments": "1", "error_code": null,
            "date_created": "Tue, 24 Nov 2026 10:00:00 +0000"})))
        .expect(1)
        .mount(&server)
        .await;
    let sent = client(&server)
        .send_sms(&PhoneNumber::parse("+14155550123").unwrap(), "See you at 3")
        .await
        .unwrap();
    assert_eq!(sent.sid, "SM123");
    assert_eq!(sent.num_segments, Some(1));
    assert!(sent.sent_at.is_some());
}

#[tokio::test]
async fn twilio_errors_map_to_port_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/2010-04-01/Accounts/{ACCOUNT}/Messages.json")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400})))
        .mount(&server)
        .await;
    let err = client(&server)
        .send_sms(&PhoneNumber::parse("+14155550123").unwrap(), "x")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        PortError::Invalid("The 'To' number is not a valid phone number. (code 21211)".into())
    );
    let missing = client(&server).get_sms("SMnope").await.unwrap_err();
    assert!(matches!(missing, PortError::NotFound(_)), "{missing:?}");
}

#[tokio::test]
async fn list_passes_filters_and_page_size() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
        )))
        .and(query_param("To", "+14155550123"))
        .and(query_param("PageSize", "5"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"messages": [{"sid": "SM1"}, {"sid": "SM2"}], "next_page_uri": null}),
        ))
        .mount(&server)
        .await;
    let query = SmsQuery {
        to: Some(PhoneNumber::parse("+14155550123").unwrap()),
        from: None,
        limit: 5,
    };
    let listed = client(&server).list_sms(&query).await.unwrap();
    assert_eq!(
        listed.iter().map(|m| m.sid.as_str()).collect::<Vec<_>>(),
        ["SM1", "SM2"]
    );
}

#[tokio::test]
async fn hang_up_completes_the_call_and_a_404_means_already_over() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/2010-04-01/Accounts/{ACCOUNT}/Calls/{CALL}.json"
        )))
        .and(body_string_contains("Status=completed"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"sid": CALL, "status": "completed"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/2010-04-01/Accounts/{ACCOUNT}/Calls/{CALL}.json"
        )))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"code": 20404, "message": "not found", "status": 404})),
        )
        .mount(&server)
        .await;
    let twilio = client(&server);
    let call = CallSid::parse(CALL).unwrap();
    assert_eq!(twilio.hang_up(&call).await.unwrap(), HangUpOutcome::Ended);
    assert_eq!(
        twilio.hang_up(&call).await.unwrap(),
        HangUpOutcome::AlreadyEnded
    );
}

#[tokio::test]
async fn transfer_redirects_the_call_to_dial_twiml() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/2010-04-01/Accounts/{ACCOUNT}/Calls/{CALL}.json"
        )))
        .and(body_string_contains("Twiml="))
        .and(body_string_contains(
            "%3CDial+timeout%3D%2230%22%3E%3CNumber%3E%2B14155550100%3C%2FNumber%3E%3C%2FDial%3E",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"sid": CALL})))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .transfer(
            &CallSid::parse(CALL).unwrap(),
            &PhoneNumber::parse("+14155550100").unwrap(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_slow_twilio_is_a_timeout_not_a_hang() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(15)))
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let err = client(&server).get_sms("SM1").await.unwrap_err();
    assert_eq!(err, PortError::Timeout("twilio"));
    assert!(started.elapsed() < std::time::Duration::from_secs(12));
}

#[tokio::test]
async fn place_posts_the_call_with_amd_and_status_callbacks() {
    use phone_core::ports::{OutboundCallRequest, OutboundCalls};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/2010-04-01/Accounts/{ACCOUNT}/Calls.json")))
        .and(basic_auth(ACCOUNT, "auth-token"))
        .and(body_string_contains("To=%2B14155550123"))
        .and(body_string_contains("From=%2B14155550999"))
        .and(body_string_contains("MachineDetection=DetectMessageEnd"))
        .and(body_string_contains("AsyncAmd=true"))
        .and(body_string_contains(
            "StatusCallbackEvent=initiated&StatusCallbackEvent=ringing&StatusCallbackEvent=answered&StatusCallbackEvent=completed",
        ))
        .and(body_string_contains("Timeout=25"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"sid": CALL, "status": "queued"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let placed = client(&server)
        .place(&OutboundCallRequest {
            to: PhoneNumber::parse("+14155550123").unwrap(),
            voice_url: "https://h.example/voice/outbound?outbound=OB1".into(),
            status_callback: "https://h.example/voice/outbound/status?outbound=OB1".into(),
            amd_callback: "https://h.example/voice/outbound/amd?outbound=OB1".into(),
            ring_timeout_secs: 25,
        })
        .await
        .unwrap();
    assert_eq!(placed.call_sid.as_str(), CALL);
    assert_eq!(placed.status, phone_core::CallStatus::Queued);
}
