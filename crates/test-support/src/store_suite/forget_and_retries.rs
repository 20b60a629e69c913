//! Cases for "forget me" across a caller's calls, and for write tools' retries: pending records
//! settled once, and effect markers claimed once per window.

use std::sync::Arc;

use phone_core::call::{CallSession, CallStats};
use phone_core::memory::CallerMemory;
use phone_core::store::{
    Created, EffectClaim, Keys, PageRequest, Records, TOOL_EFFECT_WINDOW, TOOL_PENDING_EXPIRY,
    ToolCallRecord,
};
use phone_core::transcript::{Role, Turn};
use phone_core::usage::{Cost, Usage};
use serde_json::{Value, json};

use super::{T0, TestClock, at, phone, sid, store};

fn tool(call_id: &str, result: Value) -> ToolCallRecord {
    ToolCallRecord {
        call_id: call_id.into(),
        name: "send_sms".into(),
        arguments: json!({"body": "hi"}),
        result,
        is_error: false,
        latency_ms: 0,
        at: at(T0),
    }
}

/// Forgetting a number erases the transcripts, tool records and effect markers of every call
/// it made (found through the pointer rows `create_call` writes) and removes the number from
/// those call rows, whose cost stays; another caller's call is untouched.
pub async fn forget_caller_erases_their_calls(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    let (alice, bob) = (phone("+14155550001"), phone("+14155550002"));
    let cost = Cost {
        input_nano_usd: 1_000,
        output_nano_usd: 2_000,
    };
    for (n, who) in [(30, &alice), (31, &alice), (32, &bob)] {
        let call = CallSession::new(sid(n), Some(who.clone()), None, at(T0));
        s.create_call(&call, "h", at(T0 + 60)).await.unwrap();
        // A retried webhook: still one pointer.
        s.create_call(&call, "h", at(T0 + 60)).await.unwrap();
        for seq in 0..2 {
            let turn = Turn::new(seq, Role::Caller, "my card is 4111", at(T0));
            s.append_turn(&sid(n), &turn).await.unwrap();
        }
        let pk = Keys::call(&sid(n));
        s.record_tool_call(&pk, &tool("c1", json!({"sent": true})))
            .await
            .unwrap();
        s.claim_tool_effect(&pk, "effect", "c1").await.unwrap();
        s.save_call_outcome(
            &sid(n),
            "host",
            &CallStats::default(),
            &Usage::default(),
            &cost,
        )
        .await
        .unwrap();
    }
    s.put_memory(&alice, &CallerMemory::default())
        .await
        .unwrap();

    // Per call: two turns, one tool record, one effect marker, and its pointer; then memory.
    assert_eq!(s.forget_caller(&alice).await.unwrap(), 2 * 5 + 1);
    for n in [30, 31] {
        let pk = Keys::call(&sid(n));
        let everything = s
            .query_values::<Value>(&pk, "", &PageRequest::first(100))
            .await
            .unwrap()
            .items;
        assert_eq!(
            everything.len(),
            1,
            "only the call row is left: {everything:?}"
        );
        let row = s.get_call(&sid(n)).await.unwrap();
        assert_eq!(row.from, None, "the number is gone from the call row");
        assert_eq!(row.cost, cost, "the cost stays");
        assert_eq!(everything[0]["forgotten_at"], "2026-09-21T14:13:20Z");
        // The effect is no longer claimed: it was erased with the call.
        assert_eq!(
            s.claim_tool_effect(&pk, "effect", "c2").await.unwrap(),
            EffectClaim::Won
        );
    }
    let bob_pk = Keys::call(&sid(32));
    assert_eq!(
        s.list_turns(&sid(32), &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    assert_eq!(
        s.list_tool_calls(&bob_pk, &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(s.get_call(&sid(32)).await.unwrap().from, Some(bob.clone()));
    assert_eq!(
        s.forget_caller(&alice).await.unwrap(),
        0,
        "forgetting twice is harmless"
    );
}

/// A pending tool record is settled once (the tool's own result, or "outcome unknown", whichever
/// comes first); past its expiry it reads as unknown, and the end-of-conversation sweep settles
/// only what is still pending.
pub async fn pending_tool_calls_settle_once_and_expire(r: Arc<dyn Records>) {
    let clock = TestClock::at(T0);
    let s = store(r, clock.clone());
    let pk = "CALL#CA000000000000000000000000000000aa";
    let pending = json!(ToolCallRecord::PENDING);
    for id in ["c1", "c2", "c3"] {
        s.record_tool_call(pk, &tool(id, pending.clone()))
            .await
            .unwrap();
    }
    assert_eq!(
        s.settle_tool_call(pk, "c1", json!({"sent": true}), false)
            .await
            .unwrap(),
        Created::New
    );
    match s
        .settle_tool_call(pk, "c1", ToolCallRecord::unknown_outcome("send_sms"), true)
        .await
        .unwrap()
    {
        Created::Existing(first) => assert_eq!(first.result, json!({"sent": true})),
        Created::New => panic!("settled twice"),
    }
    let listed = s
        .list_tool_calls(pk, &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert!(
        listed[1].is_pending(),
        "young pending records read as pending"
    );

    clock.advance(TOOL_PENDING_EXPIRY.as_secs() as i64);
    let listed = s
        .list_tool_calls(pk, &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(listed[0].result, json!({"sent": true}));
    for stale in &listed[1..] {
        assert!(
            stale.is_error && stale.result["outcome"] == "unknown",
            "{stale:?}"
        );
    }
    assert_eq!(s.settle_pending_tool_calls(pk).await.unwrap(), 2);
    assert_eq!(s.settle_pending_tool_calls(pk).await.unwrap(), 0);
    let c2 = s.get_tool_call(pk, "c2").await.unwrap().unwrap();
    assert!(!c2.is_pending() && c2.is_error);
    assert_eq!(
        s.get_tool_call(pk, "c1").await.unwrap().unwrap().result,
        json!({"sent": true}),
        "the sweep leaves settled records alone"
    );
}

/// Of concurrent claims of one effect exactly one wins and the others learn who holds it; a
/// take-over is conditional on the holder; the claim lapses after the window; conversations
/// are separate.
pub async fn tool_effect_claims_have_one_winner_and_expire(r: Arc<dyn Records>) {
    let clock = TestClock::at(T0);
    let s = store(r, clock.clone());
    let pk = "SMS#+14155550001";
    let claims: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let id = format!("c{i}");
                (
                    id.clone(),
                    s.claim_tool_effect(pk, "h1", &id).await.unwrap(),
                )
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut holders = Vec::new();
    for claim in claims {
        match claim.await.expect("task") {
            (id, EffectClaim::Won) => winners.push(id),
            (_, EffectClaim::Taken { call_id }) => holders.push(call_id),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert!(holders.iter().all(|h| *h == winners[0]), "{holders:?}");
    let winner = winners[0].clone();

    assert!(
        !s.take_over_tool_effect(pk, "h1", "not-the-holder", "r1")
            .await
            .unwrap()
    );
    let takeovers: Vec<_> = (0..4)
        .map(|i| {
            let (s, winner) = (s.clone(), winner.clone());
            tokio::spawn(async move {
                s.take_over_tool_effect(pk, "h1", &winner, &format!("r{i}"))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut took = 0;
    for t in takeovers {
        took += usize::from(t.await.expect("task"));
    }
    assert_eq!(took, 1);
    assert!(matches!(
        s.claim_tool_effect(pk, "h1", "late").await.unwrap(),
        EffectClaim::Taken { call_id } if call_id.starts_with('r')
    ));
    assert_eq!(
        s.claim_tool_effect("SMS#+14155550002", "h1", "other")
            .await
            .unwrap(),
        EffectClaim::Won,
        "another conversation"
    );
    clock.advance(TOOL_EFFECT_WINDOW.as_secs() as i64);
    assert_eq!(
        s.claim_tool_effect(pk, "h1", "after-the-window")
            .await
            .unwrap(),
        EffectClaim::Won
    );
}
