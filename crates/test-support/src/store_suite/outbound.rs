//! Outbound call requests, the retry queue, and the outbound fields of call rows: created once,
//! updated under a version guard, queued retries listed by due time.

use std::sync::Arc;

use phone_core::call::CallSession;
use phone_core::outbound::{
    AnsweredBy, NewOutboundCall, OutboundCall, OutboundId, OutboundOutcome, OutboundStatus,
};
use phone_core::store::{Created, Records, StoreError};

use super::{T0, TestClock, at, phone, sid, store};

fn request(id: &OutboundId) -> OutboundCall {
    let new = NewOutboundCall {
        to: phone("+33612345678"),
        purpose: "the appointment".into(),
        instructions: "Confirm it.".into(),
        context: None,
        time_zone: None,
    };
    OutboundCall::new(id.clone(), new, "Europe/Paris".into(), at(T0))
}

/// A request is created once and changed atomically; its retries come out of the queue in due
/// order, only when due; an attempt's outcome is set once.
pub async fn outbound_requests_retries_and_outcomes(r: Arc<dyn Records>) {
    let clock = TestClock::at(T0);
    let s = store(r, clock.clone());
    let a = OutboundId::for_idempotency_key("a");
    let b = OutboundId::for_idempotency_key("b");
    assert_eq!(s.create_outbound(&request(&a)).await.unwrap(), Created::New);
    let Created::Existing(again) = s.create_outbound(&request(&a)).await.unwrap() else {
        panic!("a second create must find the first");
    };
    assert_eq!(again, request(&a));
    let updated = s
        .update_outbound(&a, |c| {
            c.attempts.push(sid(1));
            c.status = OutboundStatus::InProgress;
            true
        })
        .await
        .unwrap();
    assert_eq!(updated.attempts, [sid(1)]);
    let unchanged = s.update_outbound(&a, |_| false).await.unwrap();
    assert_eq!(unchanged, updated);
    assert!(matches!(
        s.update_outbound(&b, |_| true).await,
        Err(StoreError::NotFound)
    ));

    s.create_outbound(&request(&b)).await.unwrap();
    s.schedule_retry(&b, at(T0 + 120)).await.unwrap();
    s.schedule_retry(&a, at(T0 + 60)).await.unwrap();
    assert!(s.due_retries(10).await.unwrap().is_empty(), "not yet due");
    clock.advance(90);
    let due = s.due_retries(10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].id.clone(), due[0].at), (a.clone(), at(T0 + 60)));
    s.remove_retry(&due[0]).await.unwrap();
    clock.advance(60);
    let due = s.due_retries(10).await.unwrap();
    assert_eq!(due.iter().map(|d| d.id.clone()).collect::<Vec<_>>(), [b]);

    let row = CallSession::outbound(sid(1), a, None, phone("+33612345678"), at(T0));
    s.create_call(&row, "h", at(T0 + 120)).await.unwrap();
    let read = s.get_call(&sid(1)).await.unwrap();
    assert_eq!(read.direction, phone_core::outbound::Direction::Outbound);
    assert_eq!(read.outcome, None);
    s.set_call_answered_by(&sid(1), AnsweredBy::MachineEndBeep)
        .await
        .unwrap();
    assert_eq!(
        s.set_call_outcome(&sid(1), OutboundOutcome::VoicemailLeft)
            .await
            .unwrap(),
        Created::New
    );
    assert_eq!(
        s.set_call_outcome(&sid(1), OutboundOutcome::Failed)
            .await
            .unwrap(),
        Created::Existing(OutboundOutcome::VoicemailLeft)
    );
    let read = s.get_call(&sid(1)).await.unwrap();
    assert_eq!(read.answered_by, Some(AnsweredBy::MachineEndBeep));
    assert_eq!(read.outcome, Some(OutboundOutcome::VoicemailLeft));
}
