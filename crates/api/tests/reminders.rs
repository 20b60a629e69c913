//! Reminders over REST (`GET /reminders` paged, `DELETE /reminders/{id}`, with the API key) on
//! loopback, and the AWS path end to end on moto: `schedule_reminder` with REMINDER_* set
//! creates an EventBridge Scheduler schedule whose input, handed to the reminders function's
//! handler, texts the reminder once.

use std::collections::BTreeMap;
use std::sync::Arc;

use phone_api::AppState;
use phone_config::Config;
use phone_core::ports::SmsQuery;
use phone_core::reminders::{Reminder, ReminderChannel, ReminderId, ReminderStatus};
use phone_core::{PhoneNumber, Store};
use phone_local::LocalRecords;
use phone_test_support::moto;
use phone_test_support::store_suite::TestClock;
use serde_json::{Value, json};
use time::OffsetDateTime;

const API_KEY: &str = "reminders-test-key";
const NOW: i64 = 1_795_514_400; // 2026-11-24T10:00:00Z

fn reminder(key: &str) -> Reminder {
    let fire_at = OffsetDateTime::from_unix_timestamp(NOW + 3600).unwrap();
    Reminder {
        id: ReminderId::derive("AGENT#test", key),
        channel: ReminderChannel::Sms,
        to: PhoneNumber::parse("+14155550123").unwrap(),
        message: format!("reminder {key}"),
        fire_at,
        due: fire_at.unix_timestamp(),
        event: None,
        status: ReminderStatus::Pending,
        created_at: OffsetDateTime::from_unix_timestamp(NOW).unwrap(),
        created_by: "AGENT#test".into(),
        idempotency_key: key.into(),
        fired_at: None,
        delivery_id: None,
        error: None,
        note: None,
    }
}

async fn serve(env: &[(&str, &str)]) -> (String, AppState) {
    let mut map = BTreeMap::from([
        ("API_KEY".to_owned(), API_KEY.to_owned()),
        ("TIME_ZONE".to_owned(), "Europe/Paris".to_owned()),
    ]);
    map.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config = Config::from_map(&map).unwrap();
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        TestClock::at(NOW),
        config.retention,
    );
    let tools = phone_wiring::tool_ports(&config, &store).unwrap();
    let state = AppState::new(config, store).with_tools(tools);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = phone_api::routes::all(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), state)
}

async fn call(method: reqwest::Method, url: String, key: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn reminders_are_listed_in_pages_and_cancelled_with_the_api_key() {
    let (base, state) = serve(&[]).await;
    for key in ["a", "b", "c"] {
        state.store.create_reminder(&reminder(key)).await.unwrap();
    }
    let get = reqwest::Method::GET;
    let (status, _) = call(get.clone(), format!("{base}/reminders"), None).await;
    assert_eq!(status, 401);
    let (status, _) = call(get.clone(), format!("{base}/reminders"), Some("wrong")).await;
    assert_eq!(status, 401);

    let (status, first) = call(
        get.clone(),
        format!("{base}/reminders?limit=2"),
        Some(API_KEY),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["reminders"].as_array().unwrap().len(), 2);
    assert_eq!(first["reminders"][0]["status"], "pending");
    assert_eq!(first["reminders"][0]["channel"], "sms");
    let next = first["next"].as_str().expect("a next cursor").to_owned();
    let url = reqwest::Url::parse_with_params(
        &format!("{base}/reminders"),
        &[("limit", "2"), ("after", next.as_str())],
    )
    .unwrap();
    let (status, second) = call(get.clone(), url.to_string(), Some(API_KEY)).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["reminders"].as_array().unwrap().len(), 1);
    assert!(second["next"].is_null());
    for bad in ["limit=0", "limit=101", "limit=x", "after=", "color=red"] {
        let (status, body) = call(
            get.clone(),
            format!("{base}/reminders?{bad}"),
            Some(API_KEY),
        )
        .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }

    let id = reminder("a").id;
    let delete = reqwest::Method::DELETE;
    let (status, _) = call(delete.clone(), format!("{base}/reminders/{id}"), None).await;
    assert_eq!(status, 401);
    let (status, cancelled) = call(
        delete.clone(),
        format!("{base}/reminders/{id}"),
        Some(API_KEY),
    )
    .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["note"], "cancelled by the owner");
    let (status, again) = call(
        delete.clone(),
        format!("{base}/reminders/{id}"),
        Some(API_KEY),
    )
    .await;
    assert_eq!(status, 409, "{again}");
    let unknown = ReminderId::derive("AGENT#test", "never");
    let (status, _) = call(
        delete.clone(),
        format!("{base}/reminders/{unknown}"),
        Some(API_KEY),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(delete, format!("{base}/reminders/not-an-id"), Some(API_KEY)).await;
    assert_eq!(status, 400);
    assert_eq!(state.store.pending_reminders().await.unwrap().len(), 2);
}

#[test]
fn reminder_scheduler_settings_come_together_or_not_at_all() {
    let partial = BTreeMap::from([("REMINDER_SCHEDULE_GROUP".to_owned(), "g".to_owned())]);
    let err = Config::from_map(&partial).unwrap_err();
    assert!(err.to_string().contains("REMINDER_TARGET_ARN"), "{err}");
    assert!(
        Config::from_map(&BTreeMap::new())
            .unwrap()
            .reminder_scheduler
            .is_none()
    );
}

/// The AWS path on moto: the tool creates the schedule through the configured alarm, and the
/// reminders function's handler, given the schedule's input, fires it once.
#[tokio::test]
async fn on_aws_a_reminder_is_an_eventbridge_schedule_whose_input_fires_it_once() {
    let Some(endpoint) = moto::shared_endpoint() else {
        return;
    };
    let scheduler = moto::scheduler_client(&endpoint);
    let group = moto::unique_name("reminders");
    scheduler
        .create_schedule_group()
        .name(&group)
        .send()
        .await
        .unwrap();
    let target = "arn:aws:lambda:us-east-1:123456789012:function:stack-reminders";
    let role = "arn:aws:iam::123456789012:role/stack-reminder-scheduler";
    // The alarm loads the SDK's default chain (credentials and region from the environment, as
    // in AWS); moto takes any credentials.
    // SAFETY: no other test in this binary reads or writes the environment.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        std::env::set_var("AWS_REGION", "us-east-1");
    }
    let (_, state) = serve(&[
        ("REMINDER_SCHEDULE_GROUP", &group),
        ("REMINDER_TARGET_ARN", target),
        ("REMINDER_SCHEDULER_ROLE_ARN", role),
        ("REMINDER_SCHEDULER_ENDPOINT", &endpoint),
        ("OWNER_NUMBERS", "+14155550123"),
    ])
    .await;
    let tools = state.tools.clone().unwrap();
    assert_eq!(
        tools.reminder_alarm.describe(),
        format!("eventbridge-scheduler:{group}")
    );
    let ctx = tools.context(&state.store, "AGENT#aws".into(), None, false);
    let set = phone_core::tools::run_tool(
        &ctx,
        "schedule_reminder",
        r#"{"channel":"sms","message":"renew the parking permit","at":"2026-11-25T09:00"}"#,
        "call_1",
    )
    .await;
    assert!(!set.is_error, "{}", set.result);
    let id = set.result["scheduled"]["id"].as_str().unwrap().to_owned();

    let reminder = state
        .store
        .get_reminder(&ReminderId::parse(&id).unwrap())
        .await
        .unwrap();
    let schedule = scheduler
        .get_schedule()
        .name(phone_aws::schedule_name(&reminder))
        .group_name(&group)
        .send()
        .await
        .expect("the schedule exists");
    assert_eq!(
        schedule.schedule_expression(),
        Some("at(2026-11-25T08:00:00)")
    );
    let input: Value = serde_json::from_str(schedule.target().unwrap().input().unwrap()).unwrap();
    assert_eq!(input, json!({"reminder_id": id}));

    // EventBridge invokes the function with that input at 08:00 UTC.
    let firer = phone_wiring::reminder_firer(&tools, &state.store, state.dialer.clone());
    let early = phone_api::reminder_event::fire_event(&firer, input.clone())
        .await
        .unwrap();
    assert_eq!(early["outcome"], "not_due", "{early}");
    let clock = TestClock::at(1_795_593_600);
    let store = Store::new(state.store.records().clone(), clock, Default::default());
    let firer = phone_core::reminders::ReminderFirer {
        store: store.clone(),
        ..firer
    };
    let fired = phone_api::reminder_event::fire_event(&firer, input.clone())
        .await
        .unwrap();
    assert_eq!(fired["outcome"], "delivered", "{fired}");
    let again = phone_api::reminder_event::fire_event(&firer, input)
        .await
        .unwrap();
    assert_eq!(again["outcome"], "already_done", "{again}");
    let texts = tools
        .messaging
        .list_sms(&SmsQuery {
            to: None,
            from: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(texts.len(), 1);
    assert_eq!(texts[0].body, "Reminder: renew the parking permit");
    assert_eq!(texts[0].to, "+14155550123");
    let bad = phone_api::reminder_event::fire_event(&firer, json!({"reminder_id": "../x"})).await;
    assert!(bad.is_err());

    // Cancelled over REST's path: the schedule is deleted.
    let other = phone_core::tools::run_tool(
        &ctx,
        "schedule_reminder",
        r#"{"channel":"sms","message":"x","at":"2026-11-26T09:00"}"#,
        "call_2",
    )
    .await;
    let other_id = ReminderId::parse(other.result["scheduled"]["id"].as_str().unwrap()).unwrap();
    phone_core::reminders::cancel_by_owner(&state.store, &*tools.reminder_alarm, &other_id)
        .await
        .unwrap();
    let gone = scheduler
        .get_schedule()
        .name(other_id.as_str())
        .group_name(&group)
        .send()
        .await;
    assert!(
        gone.is_err(),
        "the cancelled reminder's schedule is deleted"
    );
}
