//! The recent-calls index the console lists calls from.

use std::sync::Arc;

use phone_core::call::CallSession;
use phone_core::store::{PageRequest, Records};

use super::{T0, TestClock, at, phone, sid, store};

/// Calls list newest first and page by cursor; a retried create does not list a call twice;
/// a call whose caller was forgotten stays listed, without the number (its row stays, as the
/// REST report shows it).
pub async fn recent_calls_list_newest_first_once_each(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    for n in 1..=3u8 {
        let call = CallSession::new(
            sid(n),
            Some(phone(&format!("+1415555010{n}"))),
            None,
            at(T0 + i64::from(n)),
        );
        s.create_call(&call, "h", at(T0 + 120)).await.unwrap();
    }
    // A retried webhook for call 2, seen later: still one entry.
    let retry = CallSession::new(sid(2), Some(phone("+14155550102")), None, at(T0 + 50));
    s.create_call(&retry, "h", at(T0 + 120)).await.unwrap();

    let first = s.list_recent_calls(&PageRequest::newest(2)).await.unwrap();
    let sids: Vec<_> = first.items.iter().map(|c| c.call_sid.clone()).collect();
    assert_eq!(sids, vec![sid(3), sid(2)]);
    let cursor = first.next.expect("a third call follows");
    let second = s
        .list_recent_calls(&PageRequest {
            limit: 2,
            after: Some(cursor),
            newest_first: true,
        })
        .await
        .unwrap();
    let sids: Vec<_> = second.items.iter().map(|c| c.call_sid.clone()).collect();
    assert_eq!(sids, vec![sid(1)]);
    assert_eq!(second.next, None);

    s.forget_caller(&phone("+14155550103")).await.unwrap();
    let after = s.list_recent_calls(&PageRequest::newest(10)).await.unwrap();
    let sids: Vec<_> = after.items.iter().map(|c| c.call_sid.clone()).collect();
    assert_eq!(sids, vec![sid(3), sid(2), sid(1)]);
    assert_eq!(
        after.items[0].from, None,
        "the forgotten number is not listed"
    );
}
