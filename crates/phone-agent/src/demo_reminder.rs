//! `phone-agent demo --scenario reminder`: a reminder call end to end on the embedded stack.
//!
//! 1. The owner asks to be called a few seconds from now about the dentist, through the real
//!    REST tool route (`POST /agent`, action `schedule_reminder`, channel `call`).
//! 2. `serve`'s local scheduler fires the reminder at its time; its delivery places the call
//!    through the outbound dialer (the call policy applies), here the local dialer.
//! 3. The simulated owner answers as Twilio would put them through: signed status callbacks,
//!    the signed outbound voice webhook, the AMD verdict `human` after their "Hello?", and the
//!    media stream, where the assistant greets them with the reminder as the call's purpose.
//!
//! The demo checks every step from the store and the REST API, and prints where the call is
//! in the console. Nothing in the server is shortened for the demo: the reminder is simply set
//! a few seconds ahead (reminder times take seconds).

use std::time::{Duration, Instant};

use anyhow::Context;
use phone_config::keys;
use phone_core::outbound::{OutboundId, OutboundOutcome};
use phone_core::reminders::{ReminderId, ReminderStatus};
use phone_simulator::caller::OutboundTarget;
use phone_simulator::caller::callee::Callee;
use serde_json::{Value, json};

use crate::call::{self, field, local_secrets};
use crate::demo::{DEMO_CALLER, DemoArgs, LocalStack, check, open_console};

/// How far ahead the owner asks to be called.
const AHEAD: Duration = Duration::from_secs(8);
/// What the owner asks to be reminded of.
const MESSAGE: &str = "the dentist appointment tomorrow at 15:00";
/// The assistant's number, as the call's `From` (the local dialer has none).
const ASSISTANT_NUMBER: &str = "+15550100999";
/// Longest wait for the scheduler to fire after the reminder's time.
const FIRE_GRACE: Duration = Duration::from_secs(20);

/// Runs the scenario; fails unless every step worked.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let t0 = Instant::now();
    println!(
        "phone-agent demo --scenario reminder: the assistant calls the owner back, no accounts, no network\n"
    );
    let stack = LocalStack::start_adjusted(args.engine, |map| {
        // Calls go through the local dialer, never a real carrier.
        for key in [
            keys::TWILIO_ACCOUNT_SID,
            keys::TWILIO_API_KEY_SID,
            keys::TWILIO_API_KEY_SECRET,
        ] {
            map.remove(key);
        }
        // A demo may run at any hour: the calling window is the whole day unless set.
        map.entry(keys::OUTBOUND_CALL_WINDOW.into())
            .or_insert_with(|| "00:00-24:00".into());
        map.entry(keys::OWNER_NAME.into())
            .or_insert_with(|| "Sam".into());
    })
    .await?;
    println!("{}", stack.describe());
    let c = &stack.server.config;
    println!(
        "policy:   calling window {} ({}), {} calls a day; dialer: local (the simulated callee answers)",
        c.outbound.policy.window, c.assistant.time_zone, c.outbound.policy.max_calls_per_day
    );
    let base = format!("http://{}", stack.server.addr);
    let (auth_token, api_key) = local_secrets(&stack.server.config);
    let api_key = api_key.context("the demo's server has no API key")?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;

    // 1. The owner asks.
    let at = local_time_in(&c.assistant.time_zone, AHEAD)?;
    let params = json!({"channel": "call", "message": MESSAGE, "at": at});
    println!(
        "\nowner:    \"call me in a few seconds about {MESSAGE}\"\n          POST /agent {{\"action\": \"schedule_reminder\", \"params\": {params}}}"
    );
    let response = http
        .post(format!("{base}/agent"))
        .bearer_auth(&api_key)
        .header(
            "Idempotency-Key",
            format!("demo-reminder-{}", std::process::id()),
        )
        .json(&json!({"action": "schedule_reminder", "params": params}))
        .send()
        .await
        .context("POST /agent")?;
    let status = response.status();
    let answer: Value = response.json().await.context("POST /agent answer")?;
    anyhow::ensure!(status.is_success(), "POST /agent -> {status}: {answer}");
    let scheduled = &answer["scheduled"];
    println!(
        "          -> {status}: reminder {} by {} at {} ({})",
        scheduled["id"], scheduled["channel"], scheduled["at"], scheduled["status"]
    );
    let id = ReminderId::parse(scheduled["id"].as_str().unwrap_or_default())
        .context("the reminder's id")?;

    // 2. The scheduler fires it.
    println!("\nscheduler: waiting for the local scheduler to fire it...");
    let store = &stack.server.store;
    let deadline = Instant::now() + AHEAD + FIRE_GRACE;
    let fired = loop {
        let reminder = store.get_reminder(&id).await?;
        if reminder.status != ReminderStatus::Pending {
            break reminder;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the reminder was not fired {} s after its time",
            FIRE_GRACE.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let late_ms = fired
        .fired_at
        .map(|f| (f - fired.fire_at).whole_milliseconds())
        .unwrap_or_default();
    println!(
        "scheduler: reminder {} {:?} {late_ms} ms after its time; delivery {}",
        fired.id,
        fired.status,
        fired
            .delivery_id
            .as_deref()
            .or(fired.error.as_deref())
            .unwrap_or("-")
    );
    anyhow::ensure!(
        fired.status == ReminderStatus::Fired,
        "the reminder was not delivered: {}",
        fired.error.as_deref().unwrap_or("no error recorded")
    );
    let ob = OutboundId::parse(fired.delivery_id.as_deref().unwrap_or_default())
        .context("the reminder's delivery is not an outbound call")?;
    let request = store.get_outbound(&ob).await?;
    println!(
        "dialer:   outbound call {ob} to {} placed through the local dialer (attempt {}); purpose \"{}\"",
        request.to.masked(),
        request
            .attempts
            .last()
            .map(ToString::to_string)
            .unwrap_or_default(),
        request.purpose
    );

    // 3. The owner's phone rings; the simulated owner answers.
    println!("\nlive call log (the simulated owner answers as Twilio would connect them):");
    let target = OutboundTarget {
        server: base.clone(),
        public_url: None,
        auth_token,
        api_key: api_key.clone(),
        outbound_id: Some(ob.to_string()),
        wait: Duration::from_secs(5),
        callee: Callee::Human,
        assistant_number: ASSISTANT_NUMBER.into(),
    };
    let plan = call::plan(vec![Callee::Human.opening().await], Duration::from_secs(60));
    let record = args
        .record
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("phone-agent-demo-reminder-heard.wav"));
    let summary = call::answer_outbound(target, plan, record).await?;
    call::print_summary(&summary);

    // Checks.
    let expected = request.greeting(&c.assistant.name, c.assistant.owner_name.as_deref());
    let transcript = field(&summary.server_report, &["transcript"])
        .and_then(|t| t.as_array())
        .cloned()
        .unwrap_or_default();
    let first = transcript.first();
    let request = store.get_outbound(&ob).await?;
    let reminder = store.get_reminder(&id).await?;
    println!("\nchecks:");
    let mut ok = true;
    ok &= check(
        reminder.status == ReminderStatus::Fired
            && reminder.delivery_id.as_deref() == Some(ob.as_str()),
        "reminder delivered by a call",
        format!("{} {:?}, delivery {ob}", reminder.id, reminder.status),
    );
    ok &= check(
        request.to.as_str() == DEMO_CALLER,
        "the owner is called",
        format!("to {} (OWNER_NUMBERS)", request.to.masked()),
    );
    ok &= check(
        summary.frames_sent > 0 && summary.media_received > 0,
        "signed webhooks, AMD, stream, bridge",
        format!(
            "{} frames sent, {} media messages received",
            summary.frames_sent, summary.media_received
        ),
    );
    ok &= check(
        first.is_some_and(|t| t["role"] == "assistant" && t["text"] == expected.as_str()),
        "greeting with the purpose",
        first
            .map(|t| t["text"].to_string())
            .unwrap_or_else(|| "no assistant turn".into()),
    );
    ok &= check(
        request.outcome == Some(OutboundOutcome::Human),
        "outcome",
        format!("{:?} ({:?})", request.outcome, request.status),
    );
    println!("\ndemo took {:.1} s", t0.elapsed().as_secs_f64());
    if ok {
        println!("every step worked.");
    } else {
        println!("the demo found a broken step (see FAILED above)");
    }
    open_console(&stack, &summary.call_sid, args.keep_serving).await;
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}

/// Local wall time `ahead` from now in `zone`, to the second, as the tool takes it
/// (`2026-11-26T15:00:08`, no offset).
fn local_time_in(zone: &str, ahead: Duration) -> anyhow::Result<String> {
    let tz = jiff::tz::TimeZone::get(zone).with_context(|| format!("time zone {zone}"))?;
    let at = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::try_from(ahead)?)
        .context("time overflow")?;
    Ok(at
        .to_zoned_datetime(tz)
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string())
}
