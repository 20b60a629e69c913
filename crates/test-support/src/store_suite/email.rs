//! The email processor's claim and record (`EMAIL#<id>`): one winner per message, guarded
//! completion, retries, on every adapter.

use std::sync::Arc;

use phone_core::email::ReplyPolicy;
use phone_core::email::record::{self, Claim, EmailRecord, EmailStatus, ReplyRecord};
use phone_core::store::{Records, StoreError};

use super::{T0, TestClock, at, store};

fn fresh(id: &str) -> EmailRecord {
    EmailRecord::first_claim(
        id,
        None,
        "ana@example.test".into(),
        "Meeting".into(),
        ReplyPolicy::Draft,
        at(T0),
    )
}

/// Two runs claiming one message: one owns it; completion is guarded by the claim; a
/// retryable failure is claimed again with the next attempt number.
pub async fn email_claim_has_one_winner_and_guarded_completion(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    let (a, b) = tokio::join!(
        record::claim(&s, fresh("m1")),
        record::claim(&s, fresh("m1"))
    );
    let owned: Vec<EmailRecord> = [a.unwrap(), b.unwrap()]
        .into_iter()
        .filter_map(|c| match c {
            Claim::Owned(rec) => Some(rec),
            Claim::Taken(_) => None,
        })
        .collect();
    assert_eq!(owned.len(), 1, "exactly one run owns the message");
    let claimed = owned[0].clone();

    let mut failed = claimed.clone();
    failed.status = EmailStatus::Failed;
    failed.retryable = true;
    failed.reason = Some("model: timeout".into());
    record::update(&s, &claimed, &failed).await.unwrap();
    // The claim no longer matches the stored record: a second completion is refused.
    assert!(matches!(
        record::update(&s, &claimed, &failed).await,
        Err(StoreError::Conflict(_))
    ));

    let Claim::Owned(retry) = record::claim(&s, fresh("m1")).await.unwrap() else {
        panic!("a retryable failure is claimed again");
    };
    assert_eq!(retry.attempts, 2);
    assert_eq!(retry.reason, None, "the old reason is cleared");
    let mut done = retry.clone();
    done.status = EmailStatus::Done;
    done.reply = Some(ReplyRecord {
        kind: "draft".into(),
        id: "r-1".into(),
        thread_id: Some("t1".into()),
    });
    record::update(&s, &retry, &done).await.unwrap();
    assert_eq!(record::get(&s, "m1").await.unwrap(), done);
    assert!(matches!(
        record::claim(&s, fresh("m1")).await.unwrap(),
        Claim::Taken(rec) if rec.status == EmailStatus::Done
    ));
}
