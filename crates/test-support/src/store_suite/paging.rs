//! Paging cases: prefix isolation, order both ways, cursors, expired items, limit clamping.

use std::sync::Arc;

use phone_core::store::{PageRequest, PutMode, Records};
use serde_json::json;

use super::{T0, item};

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
