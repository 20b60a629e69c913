//! Reminders: created once per id, listed, and every change of state a guarded update, so two
//! schedulers racing fire a reminder once and a moved reminder never fires at its old time.

use std::sync::Arc;

use phone_core::reminders::{Reminder, ReminderChannel, ReminderId, ReminderStatus};
use phone_core::store::{Created, PageRequest, Records, ReminderClaim, StoreError};

use super::{T0, TestClock, at, phone, store};

/// A pending text reminder set by tool call `key`, due `in_secs` after [`T0`].
pub fn sample_reminder(key: &str, in_secs: i64) -> Reminder {
    let fire_at = at(T0 + in_secs);
    Reminder {
        id: ReminderId::derive("SMS#+14155550123", key),
        channel: ReminderChannel::Sms,
        to: phone("+14155550123"),
        message: format!("reminder {key}"),
        fire_at,
        due: fire_at.unix_timestamp(),
        event: None,
        status: ReminderStatus::Pending,
        created_at: at(T0),
        created_by: "SMS#+14155550123".into(),
        idempotency_key: key.into(),
        fired_at: None,
        delivery_id: None,
        error: None,
        note: None,
    }
}

/// A second create with the same id changes nothing and returns the first; the list pages in
/// id order and `pending_reminders` leaves out what is not pending.
pub async fn reminders_are_created_once_listed_and_cancelled_once(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    let first = sample_reminder("call_1", 600);
    assert_eq!(s.create_reminder(&first).await.unwrap(), Created::New);
    let mut changed = first.clone();
    changed.message = "something else".into();
    assert_eq!(
        s.create_reminder(&changed).await.unwrap(),
        Created::Existing(first.clone())
    );
    assert_eq!(s.get_reminder(&first.id).await.unwrap(), first);
    for key in ["call_2", "call_3"] {
        s.create_reminder(&sample_reminder(key, 1200))
            .await
            .unwrap();
    }
    let page = s.list_reminders(&PageRequest::first(2)).await.unwrap();
    assert_eq!(page.items.len(), 2);
    let mut ids: Vec<String> = page.items.iter().map(|r| r.id.to_string()).collect();
    let rest = s
        .list_reminders(&PageRequest {
            limit: 2,
            after: page.next.clone(),
            newest_first: false,
        })
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next.is_none());
    ids.extend(rest.items.iter().map(|r| r.id.to_string()));
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "listed in id order");

    let cancelled = s.cancel_reminder(&first.id, "by the owner").await.unwrap();
    assert_eq!(cancelled.status, ReminderStatus::Cancelled);
    assert_eq!(cancelled.note.as_deref(), Some("by the owner"));
    assert!(matches!(
        s.cancel_reminder(&first.id, "again").await,
        Err(StoreError::Conflict(_))
    ));
    let unknown = ReminderId::derive("SMS#+14155550123", "never");
    assert_eq!(
        s.cancel_reminder(&unknown, "x").await.unwrap_err(),
        StoreError::NotFound
    );
    let pending = s.pending_reminders().await.unwrap();
    assert_eq!(pending.len(), 2);
    assert!(pending.iter().all(|r| r.id != first.id));
    // A cancelled reminder cannot be claimed.
    assert_eq!(
        s.claim_reminder(&first.id, first.due, at(T0 + 600))
            .await
            .unwrap(),
        ReminderClaim::Lost
    );
}

/// Of many schedulers claiming the same due reminder at once, exactly one wins; the winner
/// records the delivery; a fired reminder can be neither claimed again nor cancelled.
pub async fn reminder_claims_have_one_winner(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    let reminder = sample_reminder("call_1", 60);
    s.create_reminder(&reminder).await.unwrap();
    let mut racers = Vec::new();
    for _ in 0..8 {
        let s = s.clone();
        let id = reminder.id.clone();
        let due = reminder.due;
        racers.push(tokio::spawn(async move {
            s.claim_reminder(&id, due, at(T0 + 60)).await.unwrap()
        }));
    }
    let mut won = 0;
    for racer in racers {
        if let ReminderClaim::Won(claimed) = racer.await.unwrap() {
            assert_eq!(claimed.status, ReminderStatus::Fired);
            assert_eq!(claimed.fired_at, Some(at(T0 + 60)));
            won += 1;
        }
    }
    assert_eq!(won, 1, "exactly one scheduler fires it");
    let done = s
        .finish_reminder(&reminder.id, Ok("SM123".into()))
        .await
        .unwrap();
    assert_eq!(done.status, ReminderStatus::Fired);
    assert_eq!(done.delivery_id.as_deref(), Some("SM123"));
    assert!(matches!(
        s.cancel_reminder(&reminder.id, "too late").await,
        Err(StoreError::Conflict(_))
    ));

    // A delivery that failed is recorded as failed, with its error.
    let other = sample_reminder("call_2", 60);
    s.create_reminder(&other).await.unwrap();
    assert!(matches!(
        s.claim_reminder(&other.id, other.due, at(T0 + 60))
            .await
            .unwrap(),
        ReminderClaim::Won(_)
    ));
    let failed = s
        .finish_reminder(&other.id, Err("not configured".into()))
        .await
        .unwrap();
    assert_eq!(failed.status, ReminderStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("not configured"));
}

/// A move is guarded on the due time it read: the old time can no longer be claimed, a move
/// from a stale read conflicts, and the new time claims.
pub async fn moved_reminders_never_fire_at_their_old_time(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    let reminder = sample_reminder("call_1", 600);
    s.create_reminder(&reminder).await.unwrap();
    let moved = s
        .move_reminder(
            &reminder.id,
            reminder.due,
            at(T0 + 3600),
            None,
            "moved with its event",
        )
        .await
        .unwrap();
    assert_eq!(moved.fire_at, at(T0 + 3600));
    assert_eq!(moved.due, T0 + 3600);
    assert_eq!(moved.status, ReminderStatus::Pending);
    assert_eq!(moved.note.as_deref(), Some("moved with its event"));
    assert!(matches!(
        s.move_reminder(&reminder.id, reminder.due, at(T0 + 60), None, "stale")
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.claim_reminder(&reminder.id, reminder.due, at(T0 + 600))
            .await
            .unwrap(),
        ReminderClaim::Lost,
        "not at its old time"
    );
    assert!(matches!(
        s.claim_reminder(&reminder.id, moved.due, at(T0 + 3600))
            .await
            .unwrap(),
        ReminderClaim::Won(_)
    ));
}
