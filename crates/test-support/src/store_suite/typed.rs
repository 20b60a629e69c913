//! Cases on the typed [`Store`](phone_core::Store) over each adapter: the domain guarantees
//! (create once, single-use tokens, ordered turns, forgetting a caller) that rest on the port.

use std::sync::Arc;

use phone_core::call::{CallSession, CallStats, CallStatus};
use phone_core::memory::{CallerMemory, MemoryNote};
use phone_core::store::{Created, Keys, PageRequest, PutMode, Records, StoreError, ToolCallRecord};
use phone_core::transcript::{Role, Turn};
use phone_core::usage::{Cost, Usage};
use serde_json::{Value, json};

use super::{T0, TestClock, at, phone, sid, store};

fn call(n: u8, started: i64) -> CallSession {
    CallSession::new(
        sid(n),
        Some(phone("+14155550123")),
        Some(phone("+14155550999")),
        at(started),
    )
}

/// The second create of a call returns the first, unchanged.
pub async fn create_call_is_idempotent(r: Arc<dyn Records>) {
    let clock = TestClock::at(T0);
    let s = store(r, clock.clone());
    let first = call(1, T0);
    assert_eq!(
        s.create_call(&first, "h1", at(T0 + 120)).await.unwrap(),
        Created::New
    );
    clock.advance(5);
    let mut second = call(1, T0 + 5);
    second.status = CallStatus::InProgress;
    match s.create_call(&second, "h2", at(T0 + 120)).await.unwrap() {
        Created::Existing(existing) => assert_eq!(existing, first),
        Created::New => panic!("created twice"),
    }
    assert_eq!(s.get_call(&sid(1)).await.unwrap(), first);
    // The first token is still the valid one.
    assert!(s.consume_stream_token(&sid(1), "h1").await.is_ok());
}

/// The token works once, only with its hash, only before expiry; an unknown call is NotFound.
pub async fn stream_token_is_single_use_and_expires(r: Arc<dyn Records>) {
    let clock = TestClock::at(T0);
    let s = store(r, clock.clone());
    s.create_call(&call(2, T0), "good", at(T0 + 120))
        .await
        .unwrap();
    s.create_call(&call(3, T0), "good", at(T0 + 120))
        .await
        .unwrap();
    let wrong = s.consume_stream_token(&sid(2), "bad").await;
    assert!(
        matches!(wrong, Err(StoreError::Conflict(_))),
        "wrong hash: {wrong:?}"
    );
    let used = s.consume_stream_token(&sid(2), "good").await.unwrap();
    assert_eq!(used.call_sid, sid(2));
    let again = s.consume_stream_token(&sid(2), "good").await;
    assert!(
        matches!(again, Err(StoreError::Conflict(_))),
        "reuse: {again:?}"
    );
    clock.advance(120);
    let late = s.consume_stream_token(&sid(3), "good").await;
    assert!(
        matches!(late, Err(StoreError::Conflict(_))),
        "expired: {late:?}"
    );
    assert_eq!(
        s.consume_stream_token(&sid(9), "good").await,
        Err(StoreError::NotFound)
    );
}

/// A turn number is written once; turns list in order, across pages too.
pub async fn turns_are_written_once_and_listed_in_order(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    for seq in [2u32, 0, 11, 1, 100] {
        let turn = Turn::new(seq, Role::Caller, &format!("t{seq}"), at(T0));
        s.append_turn(&sid(4), &turn).await.unwrap();
    }
    let dup = s
        .append_turn(&sid(4), &Turn::new(1, Role::Assistant, "again", at(T0)))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let turns = s
        .list_turns(&sid(4), &PageRequest::first(100))
        .await
        .unwrap();
    let seqs: Vec<u32> = turns.items.iter().map(|t| t.seq).collect();
    assert_eq!(seqs, [0, 1, 2, 11, 100]);
    assert_eq!(
        turns.items[1].text, "t1",
        "the first write of seq 1 is kept"
    );
    let first = s.list_turns(&sid(4), &PageRequest::first(3)).await.unwrap();
    let rest = PageRequest {
        after: first.next,
        ..PageRequest::first(3)
    };
    let rest = s.list_turns(&sid(4), &rest).await.unwrap();
    let seqs: Vec<u32> = rest.items.iter().map(|t| t.seq).collect();
    assert_eq!(seqs, [11, 100]);
    assert!(
        s.list_turns(&sid(5), &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

/// A repeated tool call id gets the first record back, and nothing is overwritten.
pub async fn tool_call_is_recorded_once(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    let record = |result: Value| ToolCallRecord {
        call_id: "call_1".into(),
        name: "send_sms".into(),
        arguments: json!({"to": "+14155550123"}),
        result,
        is_error: false,
        latency_ms: 12,
        at: at(T0),
    };
    let first = record(json!({"sid": "SM1"}));
    assert_eq!(
        s.record_tool_call("CALL#x", &first).await.unwrap(),
        Created::New
    );
    match s
        .record_tool_call("CALL#x", &record(json!({"sid": "SM2"})))
        .await
        .unwrap()
    {
        Created::Existing(existing) => assert_eq!(existing, first),
        Created::New => panic!("recorded twice"),
    }
    let listed = s
        .list_tool_calls("CALL#x", &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed.items, [first]);
}

/// An idempotency key is claimed the first time only; other keys are independent; a released
/// claim can be taken again (a retry after a failure).
pub async fn idempotency_key_is_claimed_once(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    assert!(s.claim_idempotency_key("SM123").await.unwrap());
    assert!(!s.claim_idempotency_key("SM123").await.unwrap());
    assert!(s.claim_idempotency_key("SM124").await.unwrap());
    s.release_idempotency_key("SM123").await.unwrap();
    assert!(s.claim_idempotency_key("SM123").await.unwrap());
    assert!(!s.claim_idempotency_key("SM124").await.unwrap());
}

/// A key claimed until a given time is refused until then and free again afterwards.
pub async fn key_claimed_until_expires_then(r: Arc<dyn Records>) {
    let clock = TestClock::at(T0);
    let s = store(r, clock.clone());
    assert!(s.claim_key_until("oauth-state#n1", T0 + 600).await.unwrap());
    assert!(!s.claim_key_until("oauth-state#n1", T0 + 600).await.unwrap());
    clock.advance(599);
    assert!(!s.claim_key_until("oauth-state#n1", T0 + 600).await.unwrap());
    clock.advance(1);
    assert!(
        s.claim_key_until("oauth-state#n1", T0 + 1200)
            .await
            .unwrap()
    );
}

fn note(secs_after_t0: i64, text: &str) -> MemoryNote {
    MemoryNote {
        at: at(T0 + secs_after_t0),
        kind: "event_created".into(),
        text: text.into(),
        data: json!({"event_id": text}),
    }
}

/// A caller's notes list newest first (and oldest first when asked).
pub async fn notes_list_newest_first(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    let alice = phone("+14155550001");
    for (secs, text) in [(2, "second"), (1, "first"), (30, "third")] {
        s.add_note(&alice, &note(secs, text)).await.unwrap();
    }
    let texts = |notes: Vec<MemoryNote>| notes.into_iter().map(|n| n.text).collect::<Vec<_>>();
    let newest = s
        .list_notes(&alice, &PageRequest::newest(10))
        .await
        .unwrap();
    assert_eq!(texts(newest.items), ["third", "second", "first"]);
    let oldest = s.list_notes(&alice, &PageRequest::first(10)).await.unwrap();
    assert_eq!(texts(oldest.items), ["first", "second", "third"]);
}

/// Forgetting a caller erases their memory, notes and SMS history, and nothing of anyone else.
pub async fn forget_caller_erases_only_that_caller(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    let (alice, bob) = (phone("+14155550001"), phone("+14155550002"));
    for who in [&alice, &bob] {
        s.add_note(who, &note(1, "one")).await.unwrap();
        s.add_note(who, &note(2, "two")).await.unwrap();
        let memory = CallerMemory {
            summary: format!("remembers {}", who.as_str()),
            ..CallerMemory::default()
        };
        s.put_memory(who, &memory).await.unwrap();
        s.put_value(
            &Keys::sms(who),
            "MSG#1",
            &json!({"body": "hi"}),
            s.retention().sms,
            PutMode::Overwrite,
        )
        .await
        .unwrap();
    }
    s.set_sms_opt_out(&alice, true).await.unwrap();
    let call_row = s.create_call(&call(7, T0), "h", at(T0 + 60)).await.unwrap();
    assert_eq!(call_row, Created::New);

    assert_eq!(
        s.forget_caller(&alice).await.unwrap(),
        4,
        "memory, two notes, one SMS"
    );
    assert_eq!(s.get_memory(&alice).await.unwrap(), CallerMemory::default());
    assert!(
        s.list_notes(&alice, &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let sms = s
        .query_values::<Value>(&Keys::sms(&alice), "", &PageRequest::first(10))
        .await
        .unwrap();
    assert!(sms.items.is_empty());

    assert_eq!(
        s.get_memory(&bob).await.unwrap().summary,
        "remembers +14155550002"
    );
    assert_eq!(
        s.list_notes(&bob, &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    let bob_sms = s
        .query_values::<Value>(&Keys::sms(&bob), "", &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(bob_sms.items, [json!({"body": "hi"})]);
    assert!(
        s.get_call(&sid(7)).await.is_ok(),
        "call rows are not the caller's memory"
    );
    assert!(
        s.is_sms_opted_out(&alice).await.unwrap(),
        "an opt-out outlives forgetting"
    );
    assert_eq!(
        s.forget_caller(&alice).await.unwrap(),
        0,
        "forgetting twice is harmless"
    );
}

/// A late "in-progress" callback does not reopen a completed call; outcomes are saved.
pub async fn final_call_status_is_never_reopened(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    s.create_call(&call(5, T0), "h", at(T0 + 120))
        .await
        .unwrap();
    let live = s
        .set_call_status(&sid(5), CallStatus::InProgress, None)
        .await
        .unwrap();
    assert_eq!(live.status, CallStatus::InProgress);
    assert!(live.ended_at.is_none());
    let done = s
        .set_call_status(&sid(5), CallStatus::Completed, Some(30))
        .await
        .unwrap();
    assert_eq!(done.status, CallStatus::Completed);
    assert!(done.ended_at.is_some());
    for late in [CallStatus::InProgress, CallStatus::Ringing] {
        let after = s.set_call_status(&sid(5), late, None).await.unwrap();
        assert_eq!(
            after.status,
            CallStatus::Completed,
            "{late:?} reopened the call"
        );
    }
    assert_eq!(
        s.get_call(&sid(5)).await.unwrap().status,
        CallStatus::Completed
    );

    let stats = CallStats {
        frames_in: 10,
        interruptions: 1,
        ..CallStats::default()
    };
    let usage = Usage {
        input_audio_tokens: 5,
        responses: 1,
        ..Usage::default()
    };
    let cost = Cost {
        input_nano_usd: 160_000,
        output_nano_usd: 0,
    };
    let saved = s
        .save_call_outcome(&sid(5), "host-a", &stats, &usage, &cost)
        .await
        .unwrap();
    assert_eq!(
        (saved.stats, saved.usage, saved.cost, saved.host.as_deref()),
        (stats, usage, cost, Some("host-a"))
    );
    assert_eq!(saved.status, CallStatus::Completed);
    assert_eq!(
        s.set_call_status(&sid(6), CallStatus::Completed, None)
            .await,
        Err(StoreError::NotFound)
    );
}

/// Concurrent consumers of one stream token: exactly one wins, the others get `Conflict`.
pub async fn concurrent_token_consumers_have_one_winner(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    s.create_call(&call(8, T0), "h", at(T0 + 60)).await.unwrap();
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.consume_stream_token(&sid(8), "h").await })
        })
        .collect();
    let mut wins = 0;
    for attempt in attempts {
        match attempt.await.expect("task") {
            Ok(_) => wins += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wins, 1);
}

/// A call's access level is stored and read back; owner PIN attempts are counted on the row,
/// bounded, and can make the call an owner only before its stream starts.
pub async fn call_access_and_pin_attempts(r: Arc<dyn Records>) {
    use phone_core::AccessLevel;
    use phone_core::store::PinAttempt;
    let s = store(r, TestClock::at(T0));
    let owner = call(20, T0).with_access(AccessLevel::Owner);
    s.create_call(&owner, "h", at(T0 + 120)).await.unwrap();
    assert_eq!(
        s.get_call(&sid(20)).await.unwrap().access,
        AccessLevel::Owner
    );
    // A call never asked for the PIN cannot be promoted by one.
    s.create_call(&call(21, T0), "h", at(T0 + 120))
        .await
        .unwrap();
    assert_eq!(
        s.settle_pin_attempt(&sid(21), true).await.unwrap(),
        PinAttempt::NotAsked
    );
    assert_eq!(
        s.get_call(&sid(21)).await.unwrap().access,
        AccessLevel::Guest
    );
    // Wrong, wrong, wrong: exhausted; a right one after that changes nothing.
    s.create_call_awaiting_pin(&call(22, T0), "h", at(T0 + 120))
        .await
        .unwrap();
    assert_eq!(
        s.settle_pin_attempt(&sid(22), false).await.unwrap(),
        PinAttempt::Rejected { attempts: 1 }
    );
    assert_eq!(
        s.settle_pin_attempt(&sid(22), false).await.unwrap(),
        PinAttempt::Rejected { attempts: 2 }
    );
    assert_eq!(
        s.settle_pin_attempt(&sid(22), false).await.unwrap(),
        PinAttempt::Exhausted
    );
    assert_eq!(
        s.settle_pin_attempt(&sid(22), true).await.unwrap(),
        PinAttempt::Exhausted
    );
    assert_eq!(
        s.get_call(&sid(22)).await.unwrap().access,
        AccessLevel::Guest
    );
    // Right after a wrong one: owner, on the row the stream host reads.
    s.create_call_awaiting_pin(&call(23, T0), "h23", at(T0 + 120))
        .await
        .unwrap();
    s.settle_pin_attempt(&sid(23), false).await.unwrap();
    match s.settle_pin_attempt(&sid(23), true).await.unwrap() {
        PinAttempt::Accepted(row) => assert_eq!(row.access, AccessLevel::Owner),
        other => panic!("{other:?}"),
    }
    let streamed = s.consume_stream_token(&sid(23), "h23").await.unwrap();
    assert_eq!(streamed.access, AccessLevel::Owner);
    // After the stream started, the PIN step is over.
    s.create_call_awaiting_pin(&call(24, T0), "h24", at(T0 + 120))
        .await
        .unwrap();
    s.consume_stream_token(&sid(24), "h24").await.unwrap();
    assert_eq!(
        s.settle_pin_attempt(&sid(24), true).await.unwrap(),
        PinAttempt::NotAsked
    );
    assert_eq!(
        s.get_call(&sid(24)).await.unwrap().access,
        AccessLevel::Guest
    );
    // Concurrent attempts cannot exceed the limit: each is a conditional write on the count.
    s.create_call_awaiting_pin(&call(25, T0), "h", at(T0 + 120))
        .await
        .unwrap();
    let racing = sid(25);
    let tries =
        futures_util::future::join_all((0..6).map(|_| s.settle_pin_attempt(&racing, false))).await;
    // Each count is written by one attempt only: no two concurrent attempts both count as the
    // first (a lost update would give a fourth try).
    let mut counts: Vec<u32> = tries
        .iter()
        .filter_map(|t| match t {
            Ok(PinAttempt::Rejected { attempts }) => Some(*attempts),
            _ => None,
        })
        .collect();
    let before = counts.len();
    counts.dedup();
    assert_eq!(counts.len(), before, "{tries:?}");
    assert!(counts.iter().all(|c| *c < 3), "{tries:?}");
    assert!(
        tries
            .iter()
            .all(|t| !matches!(t, Ok(PinAttempt::Accepted(_)))),
        "{tries:?}"
    );
}
