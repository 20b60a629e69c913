//! Cases on the `Records` port itself: conditional writes, expiry, guards, paging.

use std::sync::Arc;

use phone_core::store::{Guard, PageRequest, PutMode, Records, StoreError};
use serde_json::{Value, json};

use super::{T0, fields, item};

/// Items come back exactly as written, nested JSON and numbers included; an overwrite replaces
/// the whole item rather than merging fields.
pub async fn put_get_round_trips_nested_json_and_overwrite_replaces(r: Arc<dyn Records>) {
    let data = json!({
        "n": 42, "neg": -7, "big": 9_007_199_254_740_993_i64, "f": 1.5, "s": "é✓", "empty": "",
        "b": true, "null": null, "list": [1, "two", null, {"x": []}], "nested": {"a": {"b": 3}},
    });
    r.put(
        item("P#1", "A", T0 + 100, data.clone()),
        PutMode::Overwrite,
        T0,
    )
    .await
    .unwrap();
    let got = r.get("P#1", "A", T0).await.unwrap().expect("item");
    assert_eq!(Value::Object(got.data), data);
    assert_eq!(
        (got.pk.as_str(), got.sk.as_str(), got.ttl),
        ("P#1", "A", T0 + 100)
    );
    assert!(r.get("P#1", "B", T0).await.unwrap().is_none());
    assert!(r.get("P#2", "A", T0).await.unwrap().is_none());

    r.put(
        item("P#1", "A", T0 + 200, json!({"only": 1})),
        PutMode::Overwrite,
        T0,
    )
    .await
    .unwrap();
    let got = r.get("P#1", "A", T0).await.unwrap().expect("item");
    assert_eq!(Value::Object(got.data), json!({"only": 1}));
    assert_eq!(got.ttl, T0 + 200);
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
            item("P#2", "A", T0 + 500, json!({"v": 2})),
            PutMode::IfAbsent,
            T0,
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let kept = r.get("P#2", "A", T0).await.unwrap().unwrap();
    assert_eq!((kept.data["v"].as_i64(), kept.ttl), (Some(1), T0 + 100));
}

/// An expired item is absent to reads, queries and create-once writes.
pub async fn expired_items_are_invisible_and_replaceable(r: Arc<dyn Records>) {
    r.put(
        item("P#3", "OLD", T0, json!({"v": 1})),
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
    assert!(
        r.get("P#3", "OLD", T0 - 1).await.unwrap().is_some(),
        "live before its ttl"
    );
    assert!(
        r.get("P#3", "OLD", T0).await.unwrap().is_none(),
        "a ttl equal to now has expired"
    );
    let page = r
        .query("P#3", "", &PageRequest::first(10), T0)
        .await
        .unwrap();
    let sks: Vec<&str> = page.items.iter().map(|i| i.sk.as_str()).collect();
    assert_eq!(sks, ["NEW"]);
    assert_eq!(page.next, None);
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
        item(
            "P#4",
            "A",
            T0 + 100,
            json!({"h": "x", "exp": T0 + 50, "n": 1}),
        ),
        PutMode::Overwrite,
        T0,
    )
    .await
    .unwrap();
    let passing = [
        Guard::Equals("h".into(), json!("x")),
        Guard::Missing("used".into()),
        Guard::GreaterThan("exp".into(), T0),
    ];
    for (i, guard) in passing.iter().enumerate() {
        let res = r
            .update(
                "P#4",
                "A",
                fields(json!({"n": i + 2})),
                std::slice::from_ref(guard),
                T0,
            )
            .await;
        assert!(res.is_ok(), "{guard:?} should hold: {res:?}");
    }
    let updated = r
        .update(
            "P#4",
            "A",
            fields(json!({"used": 1, "extra": {"k": [1]}})),
            &passing,
            T0,
        )
        .await
        .unwrap();
    assert_eq!(updated.data["used"], 1);
    assert_eq!(updated.data["extra"], json!({"k": [1]}));
    assert_eq!(updated.data["h"], "x", "other fields are kept");
    assert_eq!(updated.data["n"], 4);
    assert_eq!(updated.ttl, T0 + 100, "an update keeps the ttl");
    for failing in [
        Guard::Equals("h".into(), json!("y")),
        Guard::Equals("absent".into(), json!("x")),
        Guard::Missing("used".into()),
        Guard::GreaterThan("exp".into(), T0 + 50),
        Guard::GreaterThan("h".into(), 0),
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
    let stored = r.get("P#4", "A", T0).await.unwrap().unwrap();
    assert_eq!(Value::Object(stored.data), Value::Object(updated.data));
}

/// An update with guards and no fields reports whether the guards hold and changes nothing.
pub async fn guard_only_update_checks_without_writing(r: Arc<dyn Records>) {
    r.put(
        item("P#9", "A", T0 + 100, json!({"h": "x"})),
        PutMode::Overwrite,
        T0,
    )
    .await
    .unwrap();
    let same = r
        .update(
            "P#9",
            "A",
            fields(json!({})),
            &[Guard::Equals("h".into(), json!("x"))],
            T0,
        )
        .await
        .unwrap();
    assert_eq!(Value::Object(same.data), json!({"h": "x"}));
    assert_eq!(same.ttl, T0 + 100);
    let res = r
        .update(
            "P#9",
            "A",
            fields(json!({})),
            &[Guard::Missing("h".into())],
            T0,
        )
        .await;
    assert!(matches!(res, Err(StoreError::Conflict(_))), "{res:?}");
    let res = r.update("P#9", "B", fields(json!({})), &[], T0).await;
    assert_eq!(res, Err(StoreError::NotFound));
}

/// Updating an absent or expired item is `NotFound`, never an upsert, whatever the guards.
pub async fn update_of_absent_item_is_not_found(r: Arc<dyn Records>) {
    let res = r.update("P#5", "A", fields(json!({"v": 1})), &[], T0).await;
    assert_eq!(res, Err(StoreError::NotFound));
    assert!(r.get("P#5", "A", T0).await.unwrap().is_none());
    let guard = [Guard::Equals("v".into(), json!(0))];
    let res = r
        .update("P#5", "A", fields(json!({"v": 1})), &guard, T0)
        .await;
    assert_eq!(
        res,
        Err(StoreError::NotFound),
        "absent wins over a failed guard"
    );
    r.put(
        item("P#5", "B", T0 - 1, json!({"v": 0})),
        PutMode::Overwrite,
        T0 - 10,
    )
    .await
    .unwrap();
    assert_eq!(
        r.update("P#5", "B", fields(json!({"v": 1})), &[], T0).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        r.update("P#5", "B", fields(json!({"v": 1})), &guard, T0)
            .await,
        Err(StoreError::NotFound)
    );
}

/// Reads every page of a query, checking each page's size; returns the `i` fields in order.
async fn read_all(r: &dyn Records, pk: &str, prefix: &str, mut request: PageRequest) -> Vec<i64> {
    let mut seen = Vec::new();
    for _ in 0..100 {
        let page = r.query(pk, prefix, &request, T0).await.unwrap();
        assert!(page.items.len() <= request.clamped_limit() as usize);
        for got in &page.items {
            assert_eq!(got.pk, pk);
            assert!(got.sk.starts_with(prefix), "{} outside {prefix}", got.sk);
            assert!(!got.is_expired(T0), "expired {} returned", got.sk);
            seen.push(got.data["i"].as_i64().expect("i"));
        }
        match page.next {
            Some(cursor) => {
                assert_eq!(
                    page.items.len(),
                    request.clamped_limit() as usize,
                    "only the last page is short"
                );
                request.after = Some(cursor);
            }
            None => return seen,
        }
    }
    panic!("query never ended");
}

/// Queries stay within the partition and prefix, and page without gaps or repeats both ways.
pub async fn query_isolates_prefix_and_pages_both_ways(r: Arc<dyn Records>) {
    // Written out of order: the store, not the writer, orders them.
    for i in (0..25).rev() {
        let it = item("P#6", &format!("X#{i:03}"), T0 + 100, json!({"i": i}));
        r.put(it, PutMode::Overwrite, T0).await.unwrap();
    }
    for (pk, sk) in [
        ("P#6", "Y#000"),
        ("P#6", "X"),
        ("P#6", "W#999"),
        ("P#60", "X#000"),
        ("P#", "X#000"),
    ] {
        let it = item(pk, sk, T0 + 100, json!({"i": -1}));
        r.put(it, PutMode::Overwrite, T0).await.unwrap();
    }
    for newest_first in [false, true] {
        let request = PageRequest {
            limit: 10,
            after: None,
            newest_first,
        };
        let seen = read_all(r.as_ref(), "P#6", "X#", request).await;
        let mut expected: Vec<i64> = (0..25).collect();
        if newest_first {
            expected.reverse();
        }
        assert_eq!(seen, expected, "newest_first={newest_first}");
    }
    let all = read_all(r.as_ref(), "P#6", "", PageRequest::first(7)).await;
    assert_eq!(all.len(), 28, "an empty prefix is the whole partition");
    let none = r
        .query("P#6", "Z#", &PageRequest::first(10), T0)
        .await
        .unwrap();
    assert!(none.items.is_empty() && none.next.is_none());
}

/// Expired items do not count towards a page: pages stay full, and there is no next page when
/// only expired items remain (DynamoDB's `Limit` applies before the ttl filter).
pub async fn query_pages_stay_full_past_expired_items(r: Arc<dyn Records>) {
    for i in 0..30 {
        // Even numbers below 20 are live; odd numbers and everything from 20 on have expired.
        let ttl = if i < 20 && i % 2 == 0 {
            T0 + 100
        } else {
            T0 - 5
        };
        let it = item("P#10", &format!("K#{i:02}"), ttl, json!({"i": i}));
        r.put(it, PutMode::Overwrite, T0 - 10).await.unwrap();
    }
    let live: Vec<i64> = (0..20).step_by(2).collect();
    for newest_first in [false, true] {
        let request = PageRequest {
            limit: 5,
            after: None,
            newest_first,
        };
        let seen = read_all(r.as_ref(), "P#10", "K#", request.clone()).await;
        let mut expected = live.clone();
        if newest_first {
            expected.reverse();
        }
        assert_eq!(seen, expected, "newest_first={newest_first}");
        let first = r.query("P#10", "K#", &request, T0).await.unwrap();
        assert_eq!(first.items.len(), 5, "newest_first={newest_first}");
        let second = PageRequest {
            after: first.next.clone(),
            ..request
        };
        let second = r.query("P#10", "K#", &second, T0).await.unwrap();
        assert_eq!(second.items.len(), 5);
        assert_eq!(
            second.next, None,
            "only expired items remain (newest_first={newest_first})"
        );
    }
}

/// A limit of 0 reads one item; a limit beyond the maximum is clamped, not an error.
pub async fn query_limit_is_clamped(r: Arc<dyn Records>) {
    for i in 0..3 {
        let it = item("P#11", &format!("X#{i}"), T0 + 100, json!({"i": i}));
        r.put(it, PutMode::Overwrite, T0).await.unwrap();
    }
    let one = r
        .query("P#11", "", &PageRequest::first(0), T0)
        .await
        .unwrap();
    assert_eq!(one.items.len(), 1, "a limit of 0 is clamped to 1");
    assert_eq!(one.next.as_deref(), Some("X#0"));
    let all = r
        .query("P#11", "", &PageRequest::newest(u32::MAX), T0)
        .await
        .unwrap();
    assert_eq!(all.items.len(), 3);
    assert_eq!(all.next, None);
}

/// Deleting twice, or deleting what never existed, succeeds; other items stay.
pub async fn delete_is_idempotent(r: Arc<dyn Records>) {
    r.put(
        item("P#8", "A", T0 + 100, json!({})),
        PutMode::Overwrite,
        T0,
    )
    .await
    .unwrap();
    r.put(
        item("P#8", "B", T0 + 100, json!({})),
        PutMode::Overwrite,
        T0,
    )
    .await
    .unwrap();
    r.delete("P#8", "A").await.unwrap();
    r.delete("P#8", "A").await.unwrap();
    r.delete("P#8", "never").await.unwrap();
    assert!(r.get("P#8", "A", T0).await.unwrap().is_none());
    assert!(r.get("P#8", "B", T0).await.unwrap().is_some());
    r.put(item("P#8", "A", T0 + 100, json!({})), PutMode::IfAbsent, T0)
        .await
        .unwrap();
}
