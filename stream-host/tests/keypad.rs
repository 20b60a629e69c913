//! The keypad on calls, over real sockets on loopback: keys the caller presses (Twilio `dtmf`
//! messages) reach the engine as one caller input with one reply asked for, on the strict
//! Realtime double (one active response at a time) and on the strict GPT-Live double; keys the
//! assistant presses (`press_digits`) reach Twilio as tones, decoded here in order.

mod harness;

use std::time::Duration;

use base64::Engine;
use harness::{WAIT, b64, sid};
use phone_core::keypad::Key;
use phone_test_support::live_server::LiveTestServer;
use phone_test_support::realtime_server::{Mode, Response, Status};
use phone_twilio::dtmf::Detector;

fn input_text(item_create: &serde_json::Value) -> &str {
    assert_eq!(item_create["item"]["role"], "user", "{item_create}");
    item_create["item"]["content"][0]["text"].as_str().unwrap()
}

#[tokio::test]
async fn pressed_keys_reach_realtime_as_one_input_answered_after_the_running_response() {
    let host = harness::start().await;
    let mut twilio = host.connect_call(&sid(70)).await;
    // The greeting is still speaking when the caller types.
    let greeting = host.openai.next_response().await;
    twilio.dtmf("x").await; // not a key: dropped
    for digit in ["1", "2", "3", "4", "#"] {
        twilio.dtmf(digit).await;
    }
    let items = host
        .openai
        .wait_for("conversation.item.create", 1, WAIT)
        .await;
    assert_eq!(
        input_text(&items[0]),
        "The caller pressed 1 2 3 4 # on their phone's keypad."
    );
    assert_eq!(items[0]["item"]["content"][0]["type"], "input_text");
    // One active response per conversation: the reply waits for the greeting to end.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(host.openai.events_of("response.create").await.len(), 1);
    host.openai.finish(&greeting, Status::Completed).await;
    let creates = host.openai.wait_for("response.create", 2, WAIT).await;
    assert_eq!(
        creates[1]["response"]["metadata"]["purpose"],
        "keypad_reply"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        host.openai
            .events_of("conversation.item.create")
            .await
            .len(),
        1,
        "one input for the whole entry"
    );
    host.assert_no_refusals().await;
    host.openai.assert_client_events_valid().await;

    twilio.stop(&sid(70)).await;
    host.wait_no_active_calls().await;
    let turns = host
        .store
        .list_turns(
            &phone_core::CallSid::parse(&sid(70)).unwrap(),
            &phone_core::store::PageRequest::first(10),
        )
        .await
        .unwrap()
        .items;
    assert!(
        turns.iter().any(|t| t.text == "[keypad] 1234#"),
        "{turns:?}"
    );
}

#[tokio::test]
async fn an_entry_without_pound_goes_in_after_the_keypad_timeout() {
    let host = harness::start_with(Mode::Strict, |c| {
        c.keypad.timeout = Duration::from_millis(500);
    })
    .await;
    let mut twilio = host.connect_call(&sid(71)).await;
    host.greeting_done().await;
    twilio.dtmf("4").await;
    twilio.dtmf("2").await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(
        host.openai
            .events_of("conversation.item.create")
            .await
            .is_empty(),
        "the caller may still be typing"
    );
    let items = host
        .openai
        .wait_for("conversation.item.create", 1, WAIT)
        .await;
    assert_eq!(
        input_text(&items[0]),
        "The caller pressed 4 2 on their phone's keypad."
    );
    host.openai.wait_for("response.create", 2, WAIT).await;
    host.assert_no_refusals().await;
    twilio.stop(&sid(71)).await;
}

#[tokio::test]
async fn pressed_keys_reach_gpt_live_as_speakable_context() {
    let live = LiveTestServer::start().await;
    let host = harness::start_live(live.url()).await;
    let mut twilio = host.connect_call(&sid(72)).await;
    live.wait_for("session.commentary.append", 1, WAIT).await;
    for i in 0..5u8 {
        twilio.media(&b64(&[0x70 + i; 160])).await;
    }
    twilio.dtmf("9").await;
    twilio.dtmf("#").await;
    let commentary = live.wait_for("session.commentary.append", 2, WAIT).await;
    let content = commentary[1]["content"].as_str().unwrap();
    assert!(
        content.starts_with("The caller pressed 9 # on their phone's keypad."),
        "{content}"
    );
    assert!(commentary[1]["delegation_id"].is_null());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        live.errors_sent().await.is_empty(),
        "{:?}",
        live.errors_sent().await
    );
    assert_eq!(live.events_of("session.commentary.append").await.len(), 2);
    live.assert_client_events_valid().await;
    twilio.stop(&sid(72)).await;
}

#[tokio::test]
async fn press_digits_sends_tones_twilio_plays_after_the_speech_already_queued() {
    let host = harness::start_with_tools().await;
    let mut twilio = host.connect_call(&sid(73)).await;
    let update = &host.openai.wait_for("session.update", 1, WAIT).await[0];
    let tools = update["session"]["tools"].as_array().unwrap();
    assert!(tools.iter().any(|t| t["name"] == "press_digits"));
    host.greeting_done().await;
    let turn = host.openai.vad_turn().await.unwrap();
    let speech = vec![0x2au8; 1600];
    host.openai
        .play(
            &turn,
            Response::new()
                .audio("item_a", &speech)
                .transcript("item_a", "Pressing one for sales.")
                .function_call("call_k", "press_digits", r#"{"digits":"1w23#"}"#)
                .status(Status::Completed),
        )
        .await;

    // What Twilio receives, in order: the speech, then the tones.
    let mut heard = Vec::new();
    let mut detector = Detector::new();
    let mut keys: Vec<Key> = Vec::new();
    while keys.len() < 4 {
        let media = twilio.recv_event("media", WAIT).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(media["media"]["payload"].as_str().unwrap())
            .unwrap();
        keys.extend(detector.push(&bytes));
        heard.extend(bytes);
    }
    assert_eq!(keys.iter().map(|k| k.as_char()).collect::<String>(), "123#");
    assert_eq!(
        &heard[..speech.len()],
        &speech[..],
        "the speech plays first"
    );

    let outputs = host
        .openai
        .wait_for("conversation.item.create", 1, WAIT)
        .await;
    assert_eq!(outputs[0]["item"]["call_id"], "call_k");
    assert!(
        outputs[0]["item"]["output"]
            .as_str()
            .unwrap()
            .contains(r#""pressed":"1w23#""#)
    );
    host.openai.wait_for("response.create", 2, WAIT).await;
    host.assert_no_refusals().await;
    twilio.stop(&sid(73)).await;
    host.wait_no_active_calls().await;
}
