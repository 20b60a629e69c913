//! The host's drain on SIGTERM, through the real server loop: it stops at once when no call is
//! in progress, waits for the calls that are, and the request timeout never cuts a call.

mod harness;

use std::time::Duration;

use harness::{WAIT, sid, start};
use phone_core::CallStatus;
use phone_test_support::realtime_server::Mode;

#[tokio::test]
async fn a_drain_with_no_call_in_progress_stops_the_host_at_once() {
    let host = start().await;
    // A long grace: the host must not sit it out when there is nothing to wait for.
    host.drain.drain(Duration::from_secs(600));
    let served = tokio::time::timeout(Duration::from_secs(2), host.serving)
        .await
        .expect("the host stops at once")
        .unwrap();
    assert!(served.is_ok(), "{served:?}");
}

#[tokio::test]
async fn a_drain_waits_for_the_call_in_progress_then_stops() {
    let host = start().await;
    let mut twilio = host.connect_call(&sid(40)).await;
    host.greeting_done().await;
    host.drain.drain(Duration::from_secs(600));
    let health = reqwest::get(format!("{}/health", host.base)).await.unwrap();
    assert_eq!(health.status(), 503);
    // The call goes on, and so does the host.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!host.serving.is_finished(), "the host waits for the call");
    assert_eq!(host.state.active_calls(), 1);
    // The caller hangs up: the call ends, and the host stops.
    twilio.stop(&sid(40)).await;
    twilio.expect_closed(WAIT).await;
    let served = tokio::time::timeout(WAIT, host.serving)
        .await
        .expect("the host stops once the call has ended")
        .unwrap();
    assert!(served.is_ok(), "{served:?}");
    assert_eq!(host.state.active_calls(), 0);
    assert_eq!(
        host.store
            .get_call(&phone_core::CallSid::parse(&sid(40)).unwrap())
            .await
            .unwrap()
            .status,
        CallStatus::Completed
    );
}

#[tokio::test]
async fn a_call_outlives_the_request_timeout() {
    let host = harness::start_with(Mode::Strict, |c| {
        c.request_timeout = Duration::from_millis(200);
    })
    .await;
    let mut twilio = host.connect_call(&sid(41)).await;
    host.greeting_done().await;
    // Five times the request timeout later the call is still up, and the caller's audio still
    // reaches OpenAI.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(host.state.active_calls(), 1);
    twilio.media(&harness::b64(&[0xFF; 160])).await;
    host.openai
        .wait_for("input_audio_buffer.append", 1, WAIT)
        .await;
    twilio.stop(&sid(41)).await;
    twilio.expect_closed(WAIT).await;
    host.wait_no_active_calls().await;
    assert_eq!(host.call_row(&sid(41)).await.status, CallStatus::Completed);
    host.assert_no_refusals().await;
}
