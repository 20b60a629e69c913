//! Guests' daily counters: counted up to the limit and no further, per identity, kind and UTC
//! day, also under concurrency; a call's seconds are counted once; a call row keeps its own
//! longest duration.

use std::sync::Arc;

use phone_core::call::CallSession;
use phone_core::quota::{QuotaKind, QuotaTake};
use phone_core::store::{Keys, Records, StoreError};

use super::{T0, TestClock, at, phone, sid, store};

/// Counts stop at the limit (a refusal counts nothing), each identity, kind and day apart; a
/// counter item expires a couple of days after its day; concurrent takers never pass the limit.
pub async fn guest_quotas_count_per_day_and_refuse_past_the_limit(r: Arc<dyn Records>) {
    let clock = TestClock::at(T0);
    let s = store(r.clone(), clock.clone());
    let guest = "+14155550123";
    for n in 1..=3 {
        assert_eq!(
            s.take_quota(guest, QuotaKind::Calls, 1, 3).await.unwrap(),
            QuotaTake::Taken { used: n }
        );
    }
    assert_eq!(
        s.take_quota(guest, QuotaKind::Calls, 1, 3).await.unwrap(),
        QuotaTake::Refused { used: 3 }
    );
    assert_eq!(s.quota_used(guest, QuotaKind::Calls).await.unwrap(), 3);
    // Other kinds and other identities have counters of their own.
    assert_eq!(s.quota_used(guest, QuotaKind::Sms).await.unwrap(), 0);
    assert!(
        s.take_quota("+14155550999", QuotaKind::Calls, 1, 3)
            .await
            .unwrap()
            .is_taken()
    );
    // An amount that would pass the limit is refused whole.
    assert!(
        s.take_quota(guest, QuotaKind::CallSeconds, 100, 150)
            .await
            .unwrap()
            .is_taken()
    );
    assert_eq!(
        s.take_quota(guest, QuotaKind::CallSeconds, 60, 150)
            .await
            .unwrap(),
        QuotaTake::Refused { used: 100 }
    );
    assert_eq!(
        s.quota_used(guest, QuotaKind::CallSeconds).await.unwrap(),
        100
    );

    // The counter item: `QUOTA#<number>` / `DAY#<yyyy-mm-dd>#calls`, kept a couple of days.
    let day = at(T0).date();
    let raw = r
        .get(
            &Keys::quota(guest),
            &Keys::quota_day(day, QuotaKind::Calls),
            T0,
        )
        .await
        .unwrap()
        .expect("the counter is stored");
    assert_eq!(raw.sk, "DAY#2026-09-21#calls");
    assert!(
        raw.ttl > T0 + 2 * 86_400 && raw.ttl <= T0 + 3 * 86_400,
        "{}",
        raw.ttl
    );

    // The next UTC day starts from zero; yesterday's counter is still there until it expires.
    clock.advance(86_400);
    assert_eq!(s.quota_used(guest, QuotaKind::Calls).await.unwrap(), 0);
    assert_eq!(
        s.take_quota(guest, QuotaKind::Calls, 1, 3).await.unwrap(),
        QuotaTake::Taken { used: 1 }
    );

    // Twenty concurrent takers of a limit of 5: exactly 5 are counted.
    let takers = (0..20).map(|_| {
        let s = s.clone();
        tokio::spawn(async move { s.take_quota("anonymous", QuotaKind::ToolWrites, 1, 5).await })
    });
    let mut taken = 0;
    for taker in takers {
        if taker.await.unwrap().unwrap().is_taken() {
            taken += 1;
        }
    }
    assert_eq!(taken, 5);
    assert_eq!(
        s.quota_used("anonymous", QuotaKind::ToolWrites)
            .await
            .unwrap(),
        5
    );
}

/// A call's seconds are claimed for counting once; an unknown call is NotFound; the call row
/// keeps the webhook's `max_call_secs`, and a row without it reads as `None`.
pub async fn call_seconds_are_counted_once_and_max_secs_round_trips(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    let call = CallSession::new(sid(9), Some(phone("+14155550123")), None, at(T0))
        .with_max_call_secs(Some(420));
    s.create_call(&call, "h", at(T0 + 120)).await.unwrap();
    assert_eq!(s.get_call(&sid(9)).await.unwrap().max_call_secs, Some(420));
    assert!(s.claim_call_seconds(&sid(9)).await.unwrap());
    assert!(!s.claim_call_seconds(&sid(9)).await.unwrap());
    assert_eq!(s.get_call(&sid(9)).await.unwrap(), call);
    assert!(matches!(
        s.claim_call_seconds(&sid(10)).await,
        Err(StoreError::NotFound)
    ));
    let plain = CallSession::new(sid(11), None, None, at(T0));
    s.create_call(&plain, "h", at(T0 + 120)).await.unwrap();
    assert_eq!(s.get_call(&sid(11)).await.unwrap().max_call_secs, None);
}
