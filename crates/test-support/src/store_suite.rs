//! One behavioural suite for every `Records` adapter: the embedded store and DynamoDB (moto)
//! must pass the same cases. [`store_suite!`](crate::store_suite!) expands it into tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use phone_core::call::{CallSession, CallSid, CallStats, CallStatus};
use phone_core::clock::Clock;
use phone_core::memory::{CallerMemory, MemoryNote};
use phone_core::phone::PhoneNumber;
use phone_core::store::{
    Created, Guard, Item, PageRequest, PutMode, Records, Retention, Store, StoreError,
    ToolCallRecord,
};
use phone_core::transcript::{Role, Turn};
use phone_core::usage::{Cost, Usage};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// A clock tests move by hand.
#[derive(Debug)]
pub struct TestClock(AtomicI64);

impl TestClock {
    /// A clock at `unix` seconds.
    pub fn at(unix: i64) -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(unix)))
    }
    /// Moves the clock forward.
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.0.load(Ordering::SeqCst))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

const T0: i64 = 1_790_000_000;

fn item(pk: &str, sk: &str, ttl: i64, data: Value) -> Item {
    let data = match data {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    Item {
        pk: pk.into(),
        sk: sk.into(),
        ttl,
        data,
    }
}

fn fields(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn sid(n: u8) -> CallSid {
    CallSid::parse(&format!("CA{:032x}", n)).expect("valid sid")
}

fn phone(s: &str) -> PhoneNumber {
    PhoneNumber::parse(s).expect("valid number")
}

fn store(records: Arc<dyn Records>, clock: Arc<TestClock>) -> Store {
    Store::new(records, clock, Retention::default())
}

/// Expands the suite into `#[tokio::test]`s; `$make` is an async expression giving
/// `Option<Arc<dyn Records>>` (`None` skips, e.g. when moto is absent outside CI).
#[macro_export]
macro_rules! store_suite {
    ($make:expr) => {
        $crate::store_suite!(@cases $make;
            put_get_round_trips_nested_json,
            create_once_conflicts_and_writes_nothing,
            expired_items_are_invisible_and_replaceable,
            update_guards_pass_and_fail,
            update_of_absent_item_is_not_found,
            query_isolates_prefix_and_pages_both_ways,
            delete_is_idempotent,
            create_call_is_idempotent,
            stream_token_is_single_use_and_expires,
            turns_are_written_once_and_listed_in_order,
            tool_call_is_recorded_once,
            idempotency_key_is_claimed_once,
            notes_list_newest_first_and_forget_erases_one_caller,
            final_call_status_is_never_reopened,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                if let Some(records) = $make.await {
                    $crate::store_suite::$case(records).await;
                }
            }
        )*
    };
}

/// Items come back exactly as written, nested JSON and numbers included.
pub async fn put_get_round_trips_nested_json(r: Arc<dyn Records>) {
    let data = json!({"n": 42, "neg": -7, "f": 1.5, "s": "é✓", "b": true, "list": [1, "two", null], "nested": {"a": {"b": 3}}});
    r.put(
        item("P#1", "A", T0 + 100, data.clone()),
        PutMode::Overwrite,
        T0,
    )
    .await
    .unwrap();
    let got = r.get("P#1", "A", T0).await.unwrap().expect("item");
    assert_eq!(Value::Object(got.data), data);
    assert_eq!(got.ttl, T0 + 100);
    assert!(r.get("P#1", "B", T0).await.unwrap().is_none());
}

/// `IfAbsent` on a live item is a conflict and leaves the first write in place.
pub async fn create_once_conflicts_and_writes_nothing(r: Arc<dyn Records>) {
    r.put(
        item("P#2", "A", T0 + 100, json!({"v": 1})),
        PutMode::IfAbsent,
        T0,
    )
    .await
    .unwrap();
    let again = r
        .put(
            item("P#2", "A", T0 + 100, json!({"v": 2})),
            PutMode::IfAbsent,
            T0,
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(r.get("P#2", "A", T0).await.unwrap().unwrap().data["v"], 1);
}

/// An expired item is absent to reads and to create-once writes.
pub async fn expired_items_are_invisible_and_replaceable(r: Arc<dyn Records>) {
    r.put(
        item("P#3", "OLD", T0 - 1, json!({"v": 1})),
        PutMode::Overwrite,
        T0 - 10,
    )
    .await
    .unwrap();
    r.put(
        item("P#3", "NEW", T0 + 100, json!({"v": 2})),
        PutMode::Overwrite,
        T0,
    )
    .await
    .unwrap();
    assert!(r.get("P#3", "OLD", T0).await.unwrap().is_none());
    let page = r
        .query("P#3", "", &PageRequest::first(10), T0)
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|i| i.sk.as_str()).collect::<Vec<_>>(),
        ["NEW"]
    );
    r.put(
        item("P#3", "OLD", T0 + 100, json!({"v": 3})),
        PutMode::IfAbsent,
        T0,
    )
    .await
    .unwrap();
    assert_eq!(r.get("P#3", "OLD", T0).await.unwrap().unwrap().data["v"], 3);
}

/// Every guard kind holds or fails atomically with the update.
pub async fn update_guards_pass_and_fail(r: Arc<dyn Records>) {
    r.put(
        item("P#4", "A", T0 + 100, json!({"h": "x", "exp": T0 + 50})),
        PutMode::Overwrite,
        T0,
    )
    .await
    .unwrap();
    let ok = [
        Guard::Equals("h".into(), json!("x")),
        Guard::Missing("used".into()),
        Guard::GreaterThan("exp".into(), T0),
    ];
    let updated = r
        .update(
            "P#4",
            "A",
            fields(json!({"used": 1, "extra": {"k": [1]}})),
            &ok,
            T0,
        )
        .await
        .unwrap();
    assert_eq!(updated.data["used"], 1);
    assert_eq!(updated.data["h"], "x", "other fields are kept");
    for failing in [
        Guard::Equals("h".into(), json!("y")),
        Guard::Missing("used".into()),
        Guard::GreaterThan("exp".into(), T0 + 50),
        Guard::GreaterThan("absent".into(), 0),
    ] {
        let res = r
            .update(
                "P#4",
                "A",
                fields(json!({"z": 1})),
                std::slice::from_ref(&failing),
                T0,
            )
            .await;
        assert!(
            matches!(res, Err(StoreError::Conflict(_))),
            "{failing:?} → {res:?}"
        );
    }
    assert!(
        r.get("P#4", "A", T0)
            .await
            .unwrap()
            .unwrap()
            .data
            .get("z")
            .is_none()
    );
}

/// Updating an absent or expired item is `NotFound`, never an upsert.
pub async fn update_of_absent_item_is_not_found(r: Arc<dyn Records>) {
    let res = r.update("P#5", "A", fields(json!({"v": 1})), &[], T0).await;
    assert_eq!(res, Err(StoreError::NotFound));
    assert!(r.get("P#5", "A", T0).await.unwrap().is_none());
    r.put(
        item("P#5", "B", T0 - 1, json!({})),
        PutMode::Overwrite,
        T0 - 10,
    )
    .await
    .unwrap();
    assert_eq!(
        r.update("P#5", "B", fields(json!({"v": 1})), &[], T0).await,
        Err(StoreError::NotFound)
    );
}

/// Queries stay within the prefix and page without gaps or repeats, both directions.
pub async fn query_isolates_prefix_and_pages_both_ways(r: Arc<dyn Records>) {
    for i in 0..25 {
        r.put(
            item("P#6", &format!("X#{i:03}"), T0 + 100, json!({"i": i})),
            PutMode::Overwrite,
            T0,
        )
        .await
        .unwrap();
    }
    r.put(
        item("P#6", "Y#000", T0 + 100, json!({})),
        PutMode::Overwrite,
        T0,
    )
    .await
    .unwrap();
    r.put(
        item("P#7", "X#000", T0 + 100, json!({})),
        PutMode::Overwrite,
        T0,
    )
    .await
    .unwrap();
    for newest_first in [false, true] {
        let mut seen = Vec::new();
        let mut request = PageRequest {
            limit: 10,
            after: None,
            newest_first,
        };
        let mut pages = 0;
        loop {
            let page = r.query("P#6", "X#", &request, T0).await.unwrap();
            pages += 1;
            assert!(page.items.len() <= 10);
            seen.extend(page.items.iter().map(|i| i.data["i"].as_i64().unwrap()));
            match page.next {
                Some(cursor) => request.after = Some(cursor),
                None => break,
            }
        }
        let mut expected: Vec<i64> = (0..25).collect();
        if newest_first {
            expected.reverse();
        }
        assert_eq!(seen, expected, "newest_first={newest_first}");
        assert_eq!(pages, 3);
    }
    let clamped = r
        .query("P#6", "", &PageRequest::first(0), T0)
        .await
        .unwrap();
    assert_eq!(clamped.items.len(), 1, "a limit of 0 is clamped to 1");
}

/// Deleting twice, or deleting nothing, succeeds.
pub async fn delete_is_idempotent(r: Arc<dyn Records>) {
    r.put(
        item("P#8", "A", T0 + 100, json!({})),
        PutMode::Overwrite,
        T0,
    )
    .await
    .unwrap();
    r.delete("P#8", "A").await.unwrap();
    r.delete("P#8", "A").await.unwrap();
    assert!(r.get("P#8", "A", T0).await.unwrap().is_none());
}

fn call(n: u8, at: i64) -> CallSession {
    let now = OffsetDateTime::from_unix_timestamp(at).expect("time");
    CallSession::new(
        sid(n),
        Some(phone("+14155550123")),
        Some(phone("+14155550999")),
        now,
    )
}

/// The second create of a call returns the first, unchanged.
pub async fn create_call_is_idempotent(r: Arc<dyn Records>) {
    let clock = TestClock::at(T0);
    let s = store(r, clock.clone());
    let first = call(1, T0);
    let exp = OffsetDateTime::from_unix_timestamp(T0 + 120).expect("time");
    assert_eq!(
        s.create_call(&first, "h1", exp).await.unwrap(),
        Created::New
    );
    clock.advance(5);
    let mut second = call(1, T0 + 5);
    second.status = CallStatus::InProgress;
    match s.create_call(&second, "h2", exp).await.unwrap() {
        Created::Existing(existing) => assert_eq!(existing, first),
        Created::New => panic!("created twice"),
    }
}

/// The token works once, only with its hash, only before expiry.
pub async fn stream_token_is_single_use_and_expires(r: Arc<dyn Records>) {
    let clock = TestClock::at(T0);
    let s = store(r, clock.clone());
    let exp = OffsetDateTime::from_unix_timestamp(T0 + 120).expect("time");
    s.create_call(&call(2, T0), "good", exp).await.unwrap();
    s.create_call(&call(3, T0), "good", exp).await.unwrap();
    assert!(matches!(
        s.consume_stream_token(&sid(2), "bad").await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.consume_stream_token(&sid(2), "good")
            .await
            .unwrap()
            .call_sid,
        sid(2)
    );
    assert!(matches!(
        s.consume_stream_token(&sid(2), "good").await,
        Err(StoreError::Conflict(_))
    ));
    clock.advance(121);
    assert!(matches!(
        s.consume_stream_token(&sid(3), "good").await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.consume_stream_token(&sid(9), "good").await,
        Err(StoreError::NotFound)
    );
}

/// A turn number is written once; turns list in order.
pub async fn turns_are_written_once_and_listed_in_order(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    let at = OffsetDateTime::from_unix_timestamp(T0).expect("time");
    for seq in [2u32, 0, 11, 1] {
        s.append_turn(
            &sid(4),
            &Turn::new(seq, Role::Caller, &format!("t{seq}"), at),
        )
        .await
        .unwrap();
    }
    let dup = s
        .append_turn(&sid(4), &Turn::new(1, Role::Assistant, "again", at))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    let turns = s
        .list_turns(&sid(4), &PageRequest::first(100))
        .await
        .unwrap()
        .items;
    assert_eq!(
        turns.iter().map(|t| t.seq).collect::<Vec<_>>(),
        [0, 1, 2, 11]
    );
    assert_eq!(turns[1].text, "t1");
}

/// A repeated tool call id gets the first record back.
pub async fn tool_call_is_recorded_once(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    let at = OffsetDateTime::from_unix_timestamp(T0).expect("time");
    let record = |result: Value| ToolCallRecord {
        call_id: "call_1".into(),
        name: "send_sms".into(),
        arguments: json!({"to": "+14155550123"}),
        result,
        is_error: false,
        latency_ms: 12,
        at,
    };
    assert_eq!(
        s.record_tool_call("CALL#x", &record(json!({"sid": "SM1"})))
            .await
            .unwrap(),
        Created::New
    );
    match s
        .record_tool_call("CALL#x", &record(json!({"sid": "SM2"})))
        .await
        .unwrap()
    {
        Created::Existing(first) => assert_eq!(first.result, json!({"sid": "SM1"})),
        Created::New => panic!("recorded twice"),
    }
}

/// An idempotency key is claimed the first time only.
pub async fn idempotency_key_is_claimed_once(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    assert!(s.claim_idempotency_key("SM123").await.unwrap());
    assert!(!s.claim_idempotency_key("SM123").await.unwrap());
    assert!(s.claim_idempotency_key("SM124").await.unwrap());
}

/// Notes come newest first; forgetting a caller erases their items only.
pub async fn notes_list_newest_first_and_forget_erases_one_caller(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    let (alice, bob) = (phone("+14155550001"), phone("+14155550002"));
    for (i, who) in [(1, &alice), (2, &alice), (3, &bob)] {
        let note = MemoryNote {
            at: OffsetDateTime::from_unix_timestamp(T0 + i).expect("time"),
            kind: "event_created".into(),
            text: format!("note {i}"),
            data: json!({"event_id": format!("e{i}")}),
        };
        s.add_note(who, &note).await.unwrap();
    }
    s.put_memory(
        &alice,
        &CallerMemory {
            summary: "likes mornings".into(),
            ..CallerMemory::default()
        },
    )
    .await
    .unwrap();
    s.put_value(
        &phone_core::store::Keys::sms(&alice),
        "MSG#1",
        &json!({"body": "hi"}),
        s.retention().sms,
        PutMode::Overwrite,
    )
    .await
    .unwrap();
    let notes = s
        .list_notes(&alice, &PageRequest::newest(10))
        .await
        .unwrap()
        .items;
    assert_eq!(
        notes.iter().map(|n| n.text.as_str()).collect::<Vec<_>>(),
        ["note 2", "note 1"]
    );

    assert_eq!(s.forget_caller(&alice).await.unwrap(), 4);
    assert_eq!(s.get_memory(&alice).await.unwrap(), CallerMemory::default());
    assert!(
        s.list_notes(&alice, &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        s.list_notes(&bob, &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

/// A late "in-progress" callback does not reopen a completed call; outcomes are saved.
pub async fn final_call_status_is_never_reopened(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    let exp = OffsetDateTime::from_unix_timestamp(T0 + 120).expect("time");
    s.create_call(&call(5, T0), "h", exp).await.unwrap();
    let done = s
        .set_call_status(&sid(5), CallStatus::Completed, Some(30))
        .await
        .unwrap();
    assert_eq!(done.status, CallStatus::Completed);
    assert!(done.ended_at.is_some());
    let late = s
        .set_call_status(&sid(5), CallStatus::InProgress, None)
        .await
        .unwrap();
    assert_eq!(late.status, CallStatus::Completed);
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
    assert_eq!(
        s.set_call_status(&sid(6), CallStatus::Completed, None)
            .await,
        Err(StoreError::NotFound)
    );
}
