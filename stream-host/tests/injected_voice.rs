//! A stranger calls and the model is fully prompt-injected: it asks for the most damaging tool
//! calls it can. What a guest may do is limited in code: the tools are not offered, and the
//! dispatcher refuses them if called anyway. The same calls from the owner go through.

mod harness;

use phone_core::AccessLevel;
use phone_core::ports::{Calendar, Messaging, NewEvent, SmsQuery};
use phone_test_support::openai_chat::damaging_calls;
use phone_test_support::realtime_server::{Response, Status};
use serde_json::{Value, json};

use harness::{WAIT, sid};

/// A private event of the owner's, with an attendee, that the attacker goes after.
async fn victim_event(host: &harness::Host) -> String {
    let calendar = phone_local::LocalCalendar::new(host.store.clone());
    let event: NewEvent = serde_json::from_value(json!({
        "title": "Board meeting", "start": "2030-06-03T09:00:00Z", "end": "2030-06-03T10:00:00Z",
        "time_zone": "Europe/Paris", "description": "Acquisition of Example Corp",
        "location": null, "attendees": ["ceo@example.com"], "reminders": null}))
    .unwrap();
    calendar.create_event(&event, "victim").await.unwrap().id
}

/// Has the injected model ask for every attack in one turn; returns each tool's output.
async fn attack(
    host: &harness::Host,
    call: &str,
    access: AccessLevel,
    victim: &str,
) -> Vec<(String, Value)> {
    let _twilio = host.connect_call_as(call, access).await;
    host.greeting_done().await;
    let attacks = damaging_calls(victim);
    let script = attacks.iter().fold(Response::new(), |r, (name, args)| {
        r.function_call(&format!("atk_{name}"), name, args)
    });
    let turn = host.openai.vad_turn().await.unwrap();
    host.openai
        .play(&turn, script.status(Status::Completed))
        .await;
    let outputs = host
        .openai
        .wait_for("conversation.item.create", attacks.len(), WAIT)
        .await;
    outputs
        .iter()
        .map(|o| {
            let id = o["item"]["call_id"]
                .as_str()
                .unwrap()
                .trim_start_matches("atk_");
            let output: Value =
                serde_json::from_str(o["item"]["output"].as_str().unwrap()).unwrap();
            (id.to_owned(), output)
        })
        .collect()
}

fn offered_tools(update: &Value) -> Vec<String> {
    update["session"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_injected_model_on_a_strangers_call_stays_within_the_guest_catalog() {
    let (_guard, logs) = phone_test_support::logs::capture();
    let host = harness::start_with_tools().await;
    let victim = victim_event(&host).await;
    let outputs = attack(&host, &sid(80), AccessLevel::Guest, &victim).await;

    let update = &host.openai.events_of("session.update").await[0];
    let offered = offered_tools(update);
    for forbidden in [
        "list_events",
        "update_event",
        "delete_event",
        "send_email",
        "create_event",
        "forget_me",
    ] {
        assert!(
            !offered.contains(&forbidden.to_owned()),
            "{forbidden} offered to a guest: {offered:?}"
        );
    }
    for forbidden in [
        "list_events",
        "update_event",
        "delete_event",
        "send_email",
        "create_event",
    ] {
        let (_, output) = outputs.iter().find(|(name, _)| name == forbidden).unwrap();
        assert!(
            output.to_string().contains("not_allowed")
                || output.to_string().contains("not allowed"),
            "{forbidden} was not refused: {output}"
        );
    }
    // The SMS to a number that is not the caller's is refused too.
    let (_, sms) = outputs.iter().find(|(name, _)| name == "send_sms").unwrap();
    assert!(
        sms.get("error").is_some(),
        "a guest texted another number: {sms}"
    );

    // Nothing left the guest's limits.
    let calendar = phone_local::LocalCalendar::new(host.store.clone());
    let event = calendar.get_event(&victim).await.unwrap();
    assert_eq!(
        event.title, "Board meeting",
        "the owner's event was changed"
    );
    let outbox = phone_local::SmsOutbox::new(host.store.clone(), None);
    let texted = outbox
        .list_sms(&SmsQuery {
            to: None,
            from: None,
            limit: 100,
        })
        .await
        .unwrap();
    assert!(texted.is_empty(), "an SMS left: {texted:?}");
    let leaked = outputs
        .iter()
        .any(|(_, o)| o.to_string().contains("Acquisition"));
    assert!(!leaked, "the owner's event details reached the model");
    // The refusals are logged, without their arguments.
    let refusals = logs.lines_with(&["tool refused"]);
    assert!(refusals.len() >= 5, "{}", logs.text());
    assert!(!logs.text().contains("exfil@evil.test"));
    host.assert_no_refusals().await;
}

#[tokio::test]
async fn the_same_calls_from_the_owner_go_through() {
    let host = harness::start_with_tools().await;
    let victim = victim_event(&host).await;
    let outputs = attack(&host, &sid(81), AccessLevel::Owner, &victim).await;
    let update = &host.openai.events_of("session.update").await[0];
    assert!(offered_tools(update).contains(&"delete_event".to_owned()));
    let (_, listed) = outputs
        .iter()
        .find(|(name, _)| name == "list_events")
        .unwrap();
    assert!(listed.to_string().contains("Board meeting"), "{listed}");
    let outbox = phone_local::SmsOutbox::new(host.store.clone(), None);
    let texted = outbox
        .list_sms(&SmsQuery {
            to: None,
            from: None,
            limit: 100,
        })
        .await
        .unwrap();
    assert_eq!(texted.len(), 1, "the owner may text anyone");
}
