//! Tools during calls, over real sockets on loopback with a strict Realtime server (one active
//! response per conversation, tool outputs only for calls it made): a tool call runs and the model gets one
//! follow-up, `end_call` waits for the goodbye, memory carries to the next call, an event is
//! booked in Google Calendar (a loopback Google server), and a slow tool gets a "one moment".

mod harness;

use std::sync::Arc;
use std::time::Duration;

use harness::{SlowCalendar, WAIT, sid};
use phone_core::tools::clock_time::LocalZone;
use phone_google::GoogleCalendar;
use phone_google::oauth::{ClientCredentials, TokenSource};
use phone_test_support::google_server::{self, GoogleTestServer};
use phone_test_support::realtime_server::{Response, Status};
use secrecy::SecretString;

#[tokio::test]
async fn a_tool_call_creates_the_event_and_the_model_gets_one_follow_up() {
    let host = harness::start_with_tools().await;
    let mut twilio = host.connect_call(&sid(15)).await;
    let update = &host.openai.wait_for("session.update", 1, WAIT).await[0];
    let tools = update["session"]["tools"].as_array().unwrap();
    assert!(
        tools
            .iter()
            .any(|t| t["name"] == "create_event" && t["type"] == "function")
    );
    host.greeting_done().await;
    let turn = host.openai.vad_turn().await.unwrap();
    host.openai
        .play(
            &turn,
            Response::new()
                .function_call(
                    "call_1",
                    "create_event",
                    r#"{"title":"Dentist","start":"2026-11-26T15:00","duration_minutes":30}"#,
                )
                .function_call("call_2", "list_events", r#"{"day":"2026-11-26"}"#),
        )
        .await;
    // Nothing runs before the response completes: it could still be cancelled.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        host.openai
            .events_of("conversation.item.create")
            .await
            .is_empty(),
        "no tool ran before its response completed"
    );
    host.openai.finish(&turn, Status::Completed).await;
    let outputs = host
        .openai
        .wait_for("conversation.item.create", 2, WAIT)
        .await;
    let created: serde_json::Value =
        serde_json::from_str(outputs[0]["item"]["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        created["created"]["start"],
        "2026-11-26T15:00 (Europe/Paris)"
    );
    // One follow-up for both outputs.
    host.openai.wait_for("response.create", 2, WAIT).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(host.openai.events_of("response.create").await.len(), 2);

    twilio.stop(&sid(15)).await;
    host.wait_no_active_calls().await;
    let records = host
        .store
        .list_tool_calls(
            &format!("CALL#{}", sid(15)),
            &phone_core::store::PageRequest::first(10),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| !r.is_error));
    host.assert_no_refusals().await;
    host.openai.assert_client_events_valid().await;
}

#[tokio::test]
async fn end_call_waits_for_the_goodbye_to_play_then_hangs_up_once() {
    let host = harness::start_with_tools().await;
    let mut twilio = host.connect_call(&sid(16)).await;
    host.greeting_done().await;
    let turn = host.openai.vad_turn().await.unwrap();
    host.openai
        .play(
            &turn,
            Response::new()
                .function_call("end_1", "end_call", "{}")
                .status(Status::Completed),
        )
        .await;
    // The goodbye plays; the call must stay up until its mark comes back.
    host.openai
        .respond(
            Response::new()
                .audio("item_bye", &[5; 1600])
                .status(Status::Completed),
        )
        .await;
    let mark = twilio.recv_event("mark", WAIT).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        host.state.active_calls(),
        1,
        "not hung up before the goodbye was heard"
    );
    twilio.mark(mark["mark"]["name"].as_str().unwrap()).await;
    twilio.expect_closed(WAIT).await;
    host.wait_no_active_calls().await;
    host.assert_no_refusals().await;
}

#[tokio::test]
async fn a_second_call_from_the_same_number_knows_what_the_first_did() {
    let host = harness::start_with_tools().await;
    let mut first = host.connect_call(&sid(17)).await;
    host.greeting_done().await;
    let turn = host.openai.vad_turn().await.unwrap();
    host.openai
        .caller_said("Book the team sync Friday at 4")
        .await;
    host.openai
        .play(
            &turn,
            Response::new()
                .function_call(
                    "c1",
                    "create_event",
                    r#"{"title":"Team sync","start":"2026-11-27T16:00"}"#,
                )
                .status(Status::Completed),
        )
        .await;
    host.openai
        .wait_for("conversation.item.create", 1, WAIT)
        .await;
    first.stop(&sid(17)).await;
    host.wait_no_active_calls().await;

    let _second = host.connect_call(&sid(18)).await;
    let updates = host.openai.wait_for("session.update", 2, WAIT).await;
    let instructions = updates[1]["session"]["instructions"].as_str().unwrap();
    assert!(
        instructions.contains("Book the team sync Friday at 4"),
        "{instructions}"
    );
    assert!(
        instructions.contains("Team sync") && instructions.contains("event_id"),
        "{instructions}"
    );
    assert!(
        instructions.contains("2026-11-27T16:00 (Europe/Paris)"),
        "{instructions}"
    );
    host.assert_no_refusals().await;
}

#[tokio::test]
async fn a_voice_call_books_the_event_in_google_calendar() {
    let google = GoogleTestServer::start().await.unwrap();
    let creds = ClientCredentials {
        client_id: google_server::CLIENT_ID.into(),
        client_secret: SecretString::from(google_server::CLIENT_SECRET),
        token_url: google.token_url(),
    };
    let tokens = Arc::new(TokenSource::new(
        reqwest::Client::new(),
        creds,
        SecretString::from(google_server::REFRESH_TOKEN),
    ));
    let zone = LocalZone::new("Europe/Paris").unwrap();
    let calendar =
        GoogleCalendar::new(&google.calendar_base_url(), "primary", tokens, zone).unwrap();
    let host = harness::start_with_calendar(Arc::new(calendar)).await;
    let mut twilio = host.connect_call(&sid(19)).await;
    host.greeting_done().await;
    let turn = host.openai.vad_turn().await.unwrap();
    host.openai
        .play(
            &turn,
            Response::new().function_call(
                "call_g1",
                "create_event",
                r#"{"title":"Dentist","start":"2026-12-03T15:00","duration_minutes":30}"#,
            ),
        )
        .await;
    host.openai.finish(&turn, Status::Completed).await;
    let output = &host
        .openai
        .wait_for("conversation.item.create", 1, WAIT)
        .await[0];
    let result: serde_json::Value =
        serde_json::from_str(output["item"]["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        result["created"]["start"],
        "2026-12-03T15:00 (Europe/Paris)"
    );

    // The event exists in Google's calendar afterwards, in Google's wire shape.
    let events = google.live_events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["summary"], "Dentist");
    assert_eq!(events[0]["start"]["dateTime"], "2026-12-03T14:00:00Z");
    assert_eq!(events[0]["start"]["timeZone"], "Europe/Paris");
    assert_eq!(events[0]["end"]["dateTime"], "2026-12-03T14:30:00Z");
    assert_eq!(result["created"]["id"], events[0]["id"]);

    twilio.stop(&sid(19)).await;
    host.wait_no_active_calls().await;
    let records = host
        .store
        .list_tool_calls(
            &format!("CALL#{}", sid(19)),
            &phone_core::store::PageRequest::first(10),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(records.len(), 1, "the tool call is recorded on the call");
    assert!(!records[0].is_error);
    host.assert_no_refusals().await;
}

#[tokio::test]
async fn a_slow_tool_gets_a_one_moment_and_the_follow_up_waits_for_it() {
    let host = harness::start_with_calendar(SlowCalendar::new(Duration::from_millis(3500))).await;
    let _twilio = host.connect_call(&sid(20)).await;
    host.greeting_done().await;
    let before = host.openai.events_of("response.create").await.len();
    let turn = host.openai.vad_turn().await.unwrap();
    host.openai
        .play(
            &turn,
            Response::new()
                .function_call("call_s1", "list_events", r#"{"day":"2026-12-03"}"#)
                .status(Status::Completed),
        )
        .await;

    // After 2.5 s of silence: an out-of-band "one moment", outside the conversation, no tools.
    let notice = host.openai.next_response().await;
    assert!(notice.out_of_band, "{notice:?}");
    assert_eq!(notice.purpose(), Some("tool_wait"));
    assert_eq!(
        notice.request.as_ref().unwrap()["response"]["tool_choice"],
        "none"
    );
    assert_eq!(
        host.openai.events_of("response.create").await.len(),
        before + 1
    );

    // The tool finishes while the notice is still speaking: its output goes in, but the
    // follow-up waits for the notice to end.
    host.openai
        .wait_for("conversation.item.create", 1, WAIT)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        host.openai.events_of("response.create").await.len(),
        before + 1
    );
    host.openai.finish(&notice, Status::Completed).await;
    let creates = host
        .openai
        .wait_for("response.create", before + 2, WAIT)
        .await;
    assert!(
        creates[before + 1]["response"]["conversation"].is_null(),
        "the follow-up is an ordinary response: {}",
        creates[before + 1]
    );
    host.assert_no_refusals().await;
    host.openai.assert_client_events_valid().await;
}
