//! Cases on the `Records` port itself: round trips, conditional writes, expiry, guards.

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

/// Concurrent create-once writes of one key: exactly one succeeds, and its content stays.
pub async fn concurrent_create_once_has_one_winner(r: Arc<dyn Records>) {
    let writers: Vec<_> = (0..8)
        .map(|n| {
            let r = Arc::clone(&r);
            tokio::spawn(async move {
                let it = item("P#12", "A", T0 + 100, json!({"writer": n}));
                (n, r.put(it, PutMode::IfAbsent, T0).await)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for writer in writers {
        match writer.await.expect("task") {
            (n, Ok(())) => winners.push(n),
            (_, Err(StoreError::Conflict(_))) => {}
            (_, Err(other)) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let stored = r.get("P#12", "A", T0).await.unwrap().unwrap();
    assert_eq!(stored.data["writer"], winners[0]);
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
