//! A signed upgrade proves nothing about the call: its signature covers only the fixed stream
//! URL, the same for every call, so whoever has seen one upgrade can replay it. The single-use
//! stream token in `start` is the proof; until it is consumed, no OpenAI session (billed) may
//! be opened. Each case is tried as an attacker would.

mod harness;

use harness::{AUTH_TOKEN, WAIT, sid, start};
use phone_test_support::twilio_stream::{Signing, TwilioStream};

async fn signed_stream(host: &harness::Host) -> TwilioStream {
    TwilioStream::connect(&host.stream_url, Signing::Token(AUTH_TOKEN))
        .await
        .unwrap()
}

#[tokio::test]
async fn no_openai_session_is_opened_for_an_unproven_stream() {
    let host = start().await;
    host.ring(&sid(40)).await;
    host.ring(&sid(41)).await;

    // 1. A forged token for a real call.
    let mut forged = signed_stream(&host).await;
    forged.start(&sid(40), &[("token", "forged")]).await;
    forged.expect_closed(WAIT).await;

    // 2. No token at all.
    let mut missing = signed_stream(&host).await;
    missing.start(&sid(40), &[("caller", "+14155550123")]).await;
    missing.expect_closed(WAIT).await;

    // 3. The token of another call.
    let other = "token-for-".to_owned() + &sid(41);
    let mut crossed = signed_stream(&host).await;
    crossed.start(&sid(40), &[("token", &other)]).await;
    crossed.expect_closed(WAIT).await;

    // 4. A call nobody rang.
    let mut unknown = signed_stream(&host).await;
    unknown
        .start(
            &sid(42),
            &[("token", &("token-for-".to_owned() + &sid(42)))],
        )
        .await;
    unknown.expect_closed(WAIT).await;

    // 5. Garbage instead of `start`, then silence until the start timeout... cut short by a close.
    let mut garbage = signed_stream(&host).await;
    garbage.send_raw("{\"event\":\"media\"}").await;
    garbage.send_raw("not json").await;
    drop(garbage);

    assert_eq!(
        host.openai.connections_opened(),
        0,
        "an unproven stream opened an OpenAI session"
    );

    // 6. A replayed token: the first use is a real call (one session), the replay opens none.
    let mut real = host.connect_call(&sid(43)).await;
    host.openai.wait_for("session.update", 1, WAIT).await;
    let mut replay = signed_stream(&host).await;
    replay
        .start(
            &sid(43),
            &[("token", &("token-for-".to_owned() + &sid(43)))],
        )
        .await;
    replay.expect_closed(WAIT).await;
    assert_eq!(host.openai.connections_opened(), 1);
    real.stop(&sid(43)).await;
    host.wait_no_active_calls().await;
}
