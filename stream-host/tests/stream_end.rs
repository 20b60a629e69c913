//! How a stream ended is on the call row before Twilio's socket closes, because Twilio asks the
//! `<Connect action>` what to play next as soon as it does.

mod harness;

use harness::{AUTH_TOKEN, WAIT, sid};
use phone_core::{CallStatus, StreamEnd};
use phone_test_support::realtime_server::Mode;
use phone_test_support::twilio_stream::{Signing, TwilioStream};

#[tokio::test]
async fn openai_unreachable_is_recorded_before_twilio_hears_the_close() {
    // Port 1 on loopback refuses connections: OpenAI is down.
    let host = harness::start_with(Mode::Scripted, |c| {
        c.openai_url = "ws://127.0.0.1:1/v1/realtime?model=gpt-realtime".into();
    })
    .await;
    let mut twilio = host.connect_call(&sid(1)).await;
    twilio.expect_closed(WAIT).await;
    // Read the moment the close arrived: no waiting for the host to finish the call.
    assert_eq!(
        host.call_row(&sid(1)).await.stream_end,
        Some(StreamEnd::OpenAiUnreachable)
    );
    host.wait_no_active_calls().await;
    assert_eq!(host.call_row(&sid(1)).await.status, CallStatus::Completed);
}

#[tokio::test]
async fn a_refused_stream_token_marks_nothing_on_the_call() {
    // A forged or stale `start` naming a real call must not decide what that caller hears.
    let host = harness::start_with(Mode::Scripted, |c| {
        c.openai_url = "ws://127.0.0.1:1/v1/realtime?model=gpt-realtime".into();
    })
    .await;
    host.ring(&sid(2)).await;
    let mut forged = TwilioStream::connect(&host.stream_url, Signing::Token(AUTH_TOKEN))
        .await
        .unwrap();
    forged.start(&sid(2), &[("token", "guessed")]).await;
    forged.expect_closed(WAIT).await;
    host.wait_no_active_calls().await;
    assert_eq!(host.call_row(&sid(2)).await.stream_end, None);
}
