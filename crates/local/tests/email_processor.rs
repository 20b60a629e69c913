//! The email processor on the embedded adapters (local inbox and outbox, local calendar) with
//! a scripted chat model: reply policies, retries, refused tools, automated senders.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use phone_core::Store;
use phone_core::email::record::{self, Decision, EmailRecord, EmailStatus};
use phone_core::email::{EMAIL_TOOLS, EmailOptions, Outcome, ReplyPolicy, process_inbox};
use phone_core::ports::{
    ChatMessage, ChatModel, ChatReply, ChatRole, ChatToolCall, ChatUsage, EmailMessage, PortError,
    ToolSpec,
};
use phone_core::tools::ToolPorts;
use phone_core::tools::clock_time::LocalZone;
use phone_local::{LocalCalendar, LocalCallControl, LocalRecords, MailOutbox, SmsOutbox};
use phone_test_support::store_suite::TestClock;

// 2026-11-24T10:00:00Z, a Tuesday.
const NOW: i64 = 1_795_514_400;

enum Step {
    Tool(&'static str, &'static str),
    Text(&'static str),
    Fail,
}

/// A chat model answering from a script, recording what it was offered and shown.
#[derive(Default)]
struct Scripted {
    steps: Mutex<VecDeque<Step>>,
    seen: Mutex<Vec<(Vec<ChatMessage>, Vec<String>)>>,
}

impl Scripted {
    fn new(steps: Vec<Step>) -> Arc<Self> {
        Arc::new(Self {
            steps: Mutex::new(steps.into()),
            seen: Mutex::default(),
        })
    }

    fn calls(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

#[async_trait]
impl ChatModel for Scripted {
    async fn complete(
        &self,
        messages: &[ChatMessage],
        tools: &[ToolSpec],
    ) -> Result<ChatReply, PortError> {
        let names = tools.iter().map(|t| t.name.clone()).collect();
        self.seen.lock().unwrap().push((messages.to_vec(), names));
        let step = self.steps.lock().unwrap().pop_front();
        let message = match step {
            Some(Step::Tool(name, arguments)) => ChatMessage {
                role: ChatRole::Assistant,
                content: None,
                tool_calls: vec![ChatToolCall {
                    id: "call_1".into(),
                    name: name.into(),
                    arguments: arguments.into(),
                }],
                tool_call_id: None,
            },
            Some(Step::Text(text)) => ChatMessage::text(ChatRole::Assistant, text),
            Some(Step::Fail) | None => {
                return Err(PortError::Upstream {
                    service: "openai",
                    status: Some(500),
                    message: "scripted failure".into(),
                });
            }
        };
        Ok(ChatReply {
            message,
            usage: ChatUsage::default(),
        })
    }

    fn describe(&self) -> String {
        "scripted".into()
    }
}

struct World {
    store: Store,
    clock: Arc<TestClock>,
    mail: Arc<MailOutbox>,
    ports: ToolPorts,
}

async fn world(from: &str) -> World {
    let clock = TestClock::at(NOW);
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        clock.clone(),
        Default::default(),
    );
    let mail = Arc::new(MailOutbox::new(store.clone()));
    mail.deliver(&EmailMessage {
        id: "m1".into(),
        thread_id: Some("t1".into()),
        from: from.into(),
        to: "owner@example.test".into(),
        subject: "Meeting".into(),
        message_id: Some("<m1@mail.example.test>".into()),
        date: Some(time::OffsetDateTime::from_unix_timestamp(NOW - 600).unwrap()),
        body: "Can we meet Thursday at 3pm?".into(),
    })
    .await
    .unwrap();
    let ports = ToolPorts {
        calendar: Arc::new(LocalCalendar::new(store.clone())),
        messaging: Arc::new(SmsOutbox::new(store.clone(), None)),
        mail: mail.clone(),
        call_control: Arc::new(LocalCallControl::default()),
        zone: LocalZone::new("Europe/Paris").unwrap(),
        transfer_number: None,
        owners: Default::default(),
        guest_quotas: Default::default(),
        events: Default::default(),
        reminder_alarm: Arc::new(phone_core::ports::NoAlarm),
    };
    World {
        store,
        clock,
        mail,
        ports,
    }
}

fn options(policy: ReplyPolicy) -> EmailOptions {
    EmailOptions {
        policy,
        ..EmailOptions::default()
    }
}

const CREATE: &str = r#"{"title":"Meeting with Ana","start":"2026-11-26T15:00","duration_minutes":30,"attendees":["ana@example.test"]}"#;

async fn run(w: &World, model: &Scripted, policy: ReplyPolicy) -> Vec<Outcome> {
    let summary = process_inbox(&w.ports, &w.store, Some(model), &options(policy))
        .await
        .unwrap();
    summary.messages.iter().map(|m| m.outcome).collect()
}

async fn record_of(w: &World) -> EmailRecord {
    record::get(&w.store, "m1").await.unwrap()
}

#[tokio::test]
async fn send_policy_sends_the_reply_in_the_thread() {
    let w = world("Ana <ana@example.test>").await;
    let model = Scripted::new(vec![
        Step::Tool("create_event", CREATE),
        Step::Text("Thursday at 3pm works, see you then."),
    ]);
    assert_eq!(run(&w, &model, ReplyPolicy::Send).await, [Outcome::Replied]);
    let out = w.mail.sent().await.unwrap();
    assert_eq!(out.len(), 1, "{out:?}");
    let (kind, email) = &out[0];
    assert_eq!(kind, "sent");
    assert_eq!(email.to, ["ana@example.test"]);
    assert_eq!(email.subject, "Re: Meeting");
    assert_eq!(email.in_reply_to.as_deref(), Some("<m1@mail.example.test>"));
    assert_eq!(email.thread_id.as_deref(), Some("t1"));
    let rec = record_of(&w).await;
    assert_eq!(rec.status, EmailStatus::Done);
    assert_eq!(rec.reply.as_ref().map(|r| r.kind.as_str()), Some("sent"));
    assert!(rec.tool_calls[0].event_id.is_some(), "{rec:?}");
}

#[tokio::test]
async fn off_policy_neither_drafts_nor_sends_but_keeps_the_text() {
    let w = world("ana@example.test").await;
    let model = Scripted::new(vec![Step::Text("Thursday at 3pm works.")]);
    assert_eq!(run(&w, &model, ReplyPolicy::Off).await, [Outcome::Replied]);
    assert!(w.mail.sent().await.unwrap().is_empty());
    let rec = record_of(&w).await;
    assert_eq!(rec.policy, ReplyPolicy::Off);
    assert_eq!(rec.decision, Some(Decision::Reply));
    assert_eq!(rec.reply, None);
    assert_eq!(rec.reply_text.as_deref(), Some("Thursday at 3pm works."));
}

#[tokio::test]
async fn only_calendar_tools_are_offered_and_others_are_refused() {
    let w = world("ana@example.test").await;
    let model = Scripted::new(vec![
        Step::Tool(
            "send_email",
            r#"{"to":["evil@example.test"],"subject":"x","body":"y"}"#,
        ),
        Step::Text("NO_REPLY"),
    ]);
    assert_eq!(run(&w, &model, ReplyPolicy::Send).await, [Outcome::NoReply]);
    assert!(w.mail.sent().await.unwrap().is_empty(), "nothing sent");
    let seen = model.seen.lock().unwrap().clone();
    let mut offered = seen[0].1.clone();
    offered.sort();
    // A stranger's mail: free/busy and a meeting with the sender, nothing that reads titles.
    assert_eq!(offered, ["create_event", "find_free_time"]);
    assert!(offered.iter().all(|t| EMAIL_TOOLS.contains(&t.as_str())));
    let tool_answer = seen[1].0.last().unwrap().content.clone().unwrap();
    assert!(
        tool_answer.contains("send_email is not available"),
        "{tool_answer}"
    );
    // The email reaches the model framed as untrusted data, with its text.
    let user = seen[0].0[1].content.clone().unwrap();
    assert!(user.contains("untrusted") && user.contains("Can we meet Thursday at 3pm?"));
    // The refused attempt is recorded, as a failure.
    let calls = record_of(&w).await.tool_calls;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        (calls[0].name.as_str(), calls[0].is_error),
        ("send_email", true)
    );
}

#[tokio::test]
async fn a_failure_before_any_write_is_retried_by_the_next_run() {
    let w = world("ana@example.test").await;
    let model = Scripted::new(vec![Step::Fail, Step::Text("Thursday at 3pm works.")]);
    assert_eq!(run(&w, &model, ReplyPolicy::Draft).await, [Outcome::Failed]);
    let failed = record_of(&w).await;
    assert_eq!(failed.status, EmailStatus::Failed);
    assert!(failed.retryable);
    assert!(
        failed
            .reason
            .as_deref()
            .unwrap()
            .contains("scripted failure"),
        "{failed:?}"
    );
    assert_eq!(
        run(&w, &model, ReplyPolicy::Draft).await,
        [Outcome::Replied]
    );
    let done = record_of(&w).await;
    assert_eq!((done.status, done.attempts), (EmailStatus::Done, 2));
    assert_eq!(w.mail.sent().await.unwrap()[0].0, "draft");
    // Finished: a third run leaves it alone.
    assert_eq!(
        run(&w, &model, ReplyPolicy::Draft).await,
        [Outcome::AlreadyHandled]
    );
    assert_eq!(model.calls(), 2);
}

#[tokio::test]
async fn a_failure_after_an_event_was_created_is_not_retried() {
    let w = world("ana@example.test").await;
    let model = Scripted::new(vec![Step::Tool("create_event", CREATE), Step::Fail]);
    assert_eq!(run(&w, &model, ReplyPolicy::Draft).await, [Outcome::Failed]);
    let rec = record_of(&w).await;
    assert!(!rec.retryable, "a retry could create the event twice");
    assert_eq!(rec.tool_calls.len(), 1);
    assert!(rec.tool_calls[0].event_id.is_some());
    assert_eq!(
        run(&w, &model, ReplyPolicy::Draft).await,
        [Outcome::AlreadyHandled]
    );
    assert_eq!(model.calls(), 2, "the model is not asked again");
}

#[tokio::test]
async fn automated_senders_are_skipped_without_the_model() {
    let w = world("Bank <no-reply@bank.example.test>").await;
    let model = Scripted::new(vec![]);
    assert_eq!(run(&w, &model, ReplyPolicy::Send).await, [Outcome::Skipped]);
    assert_eq!(model.calls(), 0);
    let rec = record_of(&w).await;
    assert_eq!(rec.decision, Some(Decision::Skipped));
    assert_eq!(rec.reason.as_deref(), Some("automated sender"));
}

#[tokio::test]
async fn a_claim_left_by_a_dead_run_becomes_a_visible_failure() {
    let w = world("ana@example.test").await;
    let rec = EmailRecord::first_claim(
        "m1",
        None,
        "ana@example.test".into(),
        "Meeting".into(),
        ReplyPolicy::Draft,
        w.store.clock().now(),
    );
    assert!(matches!(
        record::claim(&w.store, rec).await.unwrap(),
        record::Claim::Owned(_)
    ));
    let model = Scripted::new(vec![Step::Text("hello")]);
    // Within the lease another run is still working on it.
    assert_eq!(
        run(&w, &model, ReplyPolicy::Draft).await,
        [Outcome::AlreadyHandled]
    );
    assert_eq!(record_of(&w).await.status, EmailStatus::Processing);
    w.clock.advance(record::LEASE.as_secs() as i64 + 1);
    assert_eq!(
        run(&w, &model, ReplyPolicy::Draft).await,
        [Outcome::AlreadyHandled]
    );
    let failed = record_of(&w).await;
    assert_eq!(failed.status, EmailStatus::Failed);
    assert!(!failed.retryable);
    assert!(failed.reason.unwrap().contains("interrupted"));
    assert_eq!(model.calls(), 0);
}

#[tokio::test]
async fn without_a_model_new_mail_is_left_unclaimed_and_the_run_fails() {
    let w = world("ana@example.test").await;
    let err = process_inbox(&w.ports, &w.store, None, &EmailOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("OPENAI_API_KEY"), "{err}");
    assert!(matches!(
        record::get(&w.store, "m1").await,
        Err(phone_core::StoreError::NotFound)
    ));
}
