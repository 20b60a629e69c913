//! The tool catalog and dispatcher on the embedded adapters.

use std::sync::Arc;

use phone_core::ports::{Messaging, SmsQuery};
use phone_core::store::PageRequest;
use phone_core::tools::clock_time::LocalZone;
use phone_core::tools::{CallEffect, ToolContext, run_tool};
use phone_core::{PhoneNumber, Store};
use phone_local::{LocalCalendar, LocalRecords, MailOutbox, SmsOutbox};
use phone_test_support::store_suite::TestClock;
use serde_json::json;

// 2026-11-24T10:00:00Z, a Tuesday.
const NOW: i64 = 1_795_514_400;

fn context(voice: bool) -> (ToolContext, Arc<SmsOutbox>) {
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        TestClock::at(NOW),
        Default::default(),
    );
    let sms = Arc::new(SmsOutbox::new(store.clone(), None));
    let ctx = ToolContext {
        calendar: Arc::new(LocalCalendar::new(store.clone())),
        messaging: sms.clone(),
        mail: Arc::new(MailOutbox::new(store.clone())),
        store,
        zone: LocalZone::new("Europe/Paris").unwrap(),
        transfer_number: None,
        owner_pk: "CALL#CA00000000000000000000000000000001".into(),
        caller: Some(PhoneNumber::parse("+14155550123").unwrap()),
        voice,
        access: phone_core::AccessLevel::Owner,
        email_sender: None,
        owner_number: None,
        guest_quotas: Default::default(),
        events: Default::default(),
        verified_caller: true,
        reminder_alarm: std::sync::Arc::new(phone_core::ports::NoAlarm),
    };
    (ctx, sms)
}

#[tokio::test]
async fn create_list_move_remind_and_delete_an_event() {
    let (ctx, _) = context(true);
    let created = run_tool(
        &ctx,
        "create_event",
        r#"{"title":"Dentist","start":"2026-11-26T15:00","duration_minutes":30}"#,
        "c1",
    )
    .await;
    assert!(!created.is_error, "{}", created.result);
    let event = &created.result["created"];
    assert_eq!(event["start"], "2026-11-26T15:00 (Europe/Paris)");
    assert_eq!(event["end"], "2026-11-26T15:30 (Europe/Paris)");
    let id = event["id"].as_str().unwrap().to_owned();

    let listed = run_tool(&ctx, "list_events", r#"{"day":"2026-11-26"}"#, "c2").await;
    assert_eq!(listed.result["events"][0]["id"], id.as_str());
    let other_day = run_tool(&ctx, "list_events", r#"{"day":"2026-11-27"}"#, "c3").await;
    assert_eq!(other_day.result["events"], json!([]));

    let moved = run_tool(
        &ctx,
        "update_event",
        &json!({"event_id": id, "start": "2026-11-26T16:00", "reminders_minutes": [15]})
            .to_string(),
        "c4",
    )
    .await;
    assert!(!moved.is_error, "{}", moved.result);
    assert_eq!(
        moved.result["updated"]["end"], "2026-11-26T16:30 (Europe/Paris)",
        "moving keeps the length"
    );
    assert_eq!(moved.result["updated"]["reminders_minutes"], json!([15]));

    let deleted = run_tool(
        &ctx,
        "delete_event",
        &json!({"event_id": id}).to_string(),
        "c5",
    )
    .await;
    assert!(!deleted.is_error);
    let again = run_tool(
        &ctx,
        "delete_event",
        &json!({"event_id": id}).to_string(),
        "c6",
    )
    .await;
    // Deleting it again under a new id within the window is the same effect: answered with
    // the first outcome, not a "not found".
    assert!(
        !again.is_error && again.result["already_done"] == true,
        "{}",
        again.result
    );

    // The caller's memory now knows about "that meeting".
    let notes = ctx
        .store
        .list_notes(ctx.caller.as_ref().unwrap(), &PageRequest::newest(10))
        .await
        .unwrap()
        .items;
    assert_eq!(notes[0].data["event_id"], id.as_str());
    // Every call is recorded.
    let records = ctx
        .store
        .list_tool_calls(&ctx.owner_pk, &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(records.len(), 6);
}

#[tokio::test]
async fn a_retried_tool_call_sends_one_sms_not_two() {
    let (ctx, sms) = context(false);
    let args = r#"{"to":"+14155550199","body":"See you at 3"}"#;
    let first = run_tool(&ctx, "send_sms", args, "call_x").await;
    let second = run_tool(&ctx, "send_sms", args, "call_x").await;
    assert!(!first.is_error, "{}", first.result);
    assert_eq!(first.result, second.result);
    let sent = sms
        .list_sms(&SmsQuery {
            limit: 10,
            ..SmsQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(sent.len(), 1);
    // The model's retry under a new id is the same effect: answered, not sent again
    // (tests/tool_retries.rs has the rest).
    let third = run_tool(&ctx, "send_sms", args, "call_y").await;
    assert_eq!(third.result["already_done"], true, "{}", third.result);
    assert_eq!(third.result["result"], first.result);
}

#[tokio::test]
async fn bad_arguments_get_errors_the_model_can_act_on() {
    let (ctx, _) = context(true);
    let cases = [
        ("create_event", r#"{"title":"X"}"#, "start"),
        (
            "create_event",
            r#"{"title":"X","start":"tomorrow at 3"}"#,
            "2026-11-26T15:00",
        ),
        (
            "create_event",
            r#"{"title":"X","start":"2026-03-29T02:30"}"#,
            "does not exist",
        ),
        (
            "create_event",
            r#"{"title":"X","start":"2026-10-25T02:30"}"#,
            "twice",
        ),
        (
            "create_event",
            r#"{"title":"X","start":"2026-11-26T15:00","colour":"red"}"#,
            "colour",
        ),
        (
            "create_event",
            r#"{"title":"X","start":"2026-11-26T15:00","end":"2026-11-26T14:00"}"#,
            "after",
        ),
        ("send_sms", r#"{"to":"555-1234","body":"hi"}"#, "E.164"),
        ("list_events", "{not json", "invalid arguments"),
        ("teleport", "{}", "no tool named"),
    ];
    for (tool, args, expected) in cases {
        let outcome = run_tool(&ctx, tool, args, &format!("bad-{tool}-{expected}")).await;
        assert!(outcome.is_error, "{tool} {args}");
        let message = outcome.result["error"].as_str().unwrap();
        assert!(message.contains(expected), "{tool} {args}: {message}");
    }
}

#[tokio::test]
async fn free_time_avoids_busy_slots_and_working_hours() {
    let (ctx, _) = context(false);
    run_tool(
        &ctx,
        "create_event",
        r#"{"title":"Standup","start":"2026-11-26T09:00","duration_minutes":60}"#,
        "a",
    )
    .await;
    let free = run_tool(
        &ctx,
        "find_free_time",
        r#"{"start":"2026-11-26T08:00","end":"2026-11-26T12:00","duration_minutes":60}"#,
        "b",
    )
    .await;
    assert!(!free.is_error, "{}", free.result);
    assert_eq!(
        free.result["free"][0]["start"],
        "2026-11-26T10:00 (Europe/Paris)"
    );
}

#[tokio::test]
async fn call_tools_return_effects_and_exist_only_on_calls() {
    let (mut ctx, _) = context(true);
    let end = run_tool(&ctx, "end_call", "{}", "e1").await;
    assert_eq!(end.effect, Some(CallEffect::EndCall));
    let transfer = run_tool(&ctx, "transfer_call", "{}", "t1").await;
    assert!(transfer.is_error, "no transfer number configured");
    ctx.transfer_number = Some(PhoneNumber::parse("+14155550100").unwrap());
    let transfer = run_tool(&ctx, "transfer_call", "{}", "t2").await;
    assert_eq!(
        transfer.effect,
        Some(CallEffect::Transfer(
            PhoneNumber::parse("+14155550100").unwrap()
        ))
    );
    ctx.voice = false;
    assert!(
        run_tool(&ctx, "end_call", "{}", "e2").await.is_error,
        "no hanging up an SMS thread"
    );
}

/// A chat model that always asks for the same read-only tool, to exercise the step bound.
struct AlwaysCallsTools;

#[async_trait::async_trait]
impl phone_core::ports::ChatModel for AlwaysCallsTools {
    async fn complete(
        &self,
        _messages: &[phone_core::ports::ChatMessage],
        _tools: &[phone_core::ports::ToolSpec],
    ) -> Result<phone_core::ports::ChatReply, phone_core::ports::PortError> {
        let mut message =
            phone_core::ports::ChatMessage::text(phone_core::ports::ChatRole::Assistant, "");
        message.content = None;
        message.tool_calls = vec![phone_core::ports::ChatToolCall {
            id: "call_1".into(),
            name: "list_events".into(),
            arguments: r#"{"start":"2026-11-24T00:00","end":"2026-11-25T00:00"}"#.into(),
        }];
        Ok(phone_core::ports::ChatReply {
            message,
            usage: Default::default(),
        })
    }
    fn describe(&self) -> String {
        "scripted".into()
    }
}

#[tokio::test]
async fn agent_runs_tools_and_stops_at_the_step_bound() {
    let (ctx, _) = context(false);
    let mut history = Vec::new();
    let reply = phone_core::agent::run_agent(
        &ctx,
        &AlwaysCallsTools,
        "system",
        &mut history,
        "what is on today?",
        "req-1",
    )
    .await
    .unwrap();
    assert_eq!(reply.tool_calls.len(), phone_core::agent::MAX_STEPS);
    assert!(reply.tool_calls.iter().all(|c| c.name == "list_events"));
    assert!(reply.text.contains("more steps"), "{}", reply.text);
}

#[tokio::test]
async fn the_email_cap_counts_every_address_inside_each_to_string() {
    let (mut ctx, _) = context(false);
    let outbox = Arc::new(MailOutbox::new(ctx.store.clone()));
    ctx.mail = outbox.clone();
    // 11 strings of two addresses each: 22 recipients, over the cap of 20.
    let packed: Vec<String> = (0..11)
        .map(|i| format!("p{i}@x.org, Q{i} <q{i}@y.org>"))
        .collect();
    let refused = run_tool(
        &ctx,
        "send_email",
        &json!({"to": packed, "subject": "Hi", "body": "Hello"}).to_string(),
        "e1",
    )
    .await;
    assert!(refused.is_error, "{}", refused.result);
    assert!(
        refused.result["error"]
            .as_str()
            .unwrap()
            .contains("at most 20"),
        "{}",
        refused.result
    );
    let malformed = run_tool(
        &ctx,
        "send_email",
        &json!({"to": ["ann@x.org; not an address"], "subject": "Hi", "body": "Hello"}).to_string(),
        "e2",
    )
    .await;
    assert!(malformed.is_error, "{}", malformed.result);
    assert!(outbox.sent().await.unwrap().is_empty(), "nothing was sent");

    // A list inside one string is sent as its addresses, each checked.
    let sent = run_tool(
        &ctx,
        "send_email",
        &json!({"to": ["Ann <ann@x.org>; bob@y.org"], "subject": "Hi", "body": "Hello"})
            .to_string(),
        "e3",
    )
    .await;
    assert!(!sent.is_error, "{}", sent.result);
    let outgoing = outbox.sent().await.unwrap();
    assert_eq!(outgoing.len(), 1);
    assert_eq!(outgoing[0].1.to, ["ann@x.org", "bob@y.org"]);
}

#[tokio::test]
async fn update_event_bounds_description_and_location_as_create_event_does() {
    let (ctx, _) = context(false);
    let created = run_tool(
        &ctx,
        "create_event",
        r#"{"title":"Review","start":"2026-11-26T10:00","location":"Room 1"}"#,
        "u1",
    )
    .await;
    let id = created.result["created"]["id"].as_str().unwrap().to_owned();
    let long = "x".repeat(2001);
    for (n, (field, value, expected)) in [
        ("description", long.as_str(), "longer than 2000"),
        ("location", long.as_str(), "longer than 2000"),
        ("location", "   ", "must not be empty"),
    ]
    .into_iter()
    .enumerate()
    {
        let args = json!({"event_id": id, field: value}).to_string();
        for (tool, args) in [
            ("update_event", args),
            (
                "create_event",
                json!({"title": "X", "start": "2026-11-27T10:00", field: value}).to_string(),
            ),
        ] {
            let outcome = run_tool(&ctx, tool, &args, &format!("u-{tool}-{n}")).await;
            assert!(outcome.is_error, "{tool} accepted {field} {expected}");
            let message = outcome.result["error"].as_str().unwrap();
            assert!(message.contains(&format!("`{field}`")), "{message}");
            assert!(message.contains(expected), "{message}");
        }
    }
    let listed = run_tool(&ctx, "list_events", r#"{"day":"2026-11-26"}"#, "u9").await;
    assert_eq!(
        listed.result["events"][0]["location"], "Room 1",
        "unchanged"
    );
}
