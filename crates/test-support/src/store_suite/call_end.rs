//! How a call's stream ended: recorded once on the call row, read back by the `<Connect action>`
//! webhook to decide whether the caller hears an apology.

use std::sync::Arc;

use phone_core::call::{CallSession, StreamEnd};
use phone_core::store::{Created, Records, StoreError};

use super::{T0, TestClock, at, phone, sid, store};

/// The first recorded end stays; a second gets it back; other fields survive; an unknown call
/// is NotFound; a row written before the field existed reads as "no end recorded".
pub async fn stream_end_is_recorded_once(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    let call = CallSession::new(sid(7), Some(phone("+14155550123")), None, at(T0));
    s.create_call(&call, "h", at(T0 + 120)).await.unwrap();
    assert_eq!(s.get_call(&sid(7)).await.unwrap().stream_end, None);

    assert_eq!(
        s.record_stream_end(&sid(7), StreamEnd::OpenAiUnreachable)
            .await
            .unwrap(),
        Created::New
    );
    assert_eq!(
        s.record_stream_end(&sid(7), StreamEnd::CallerHungUp)
            .await
            .unwrap(),
        Created::Existing(StreamEnd::OpenAiUnreachable)
    );
    let row = s.get_call(&sid(7)).await.unwrap();
    assert_eq!(row.stream_end, Some(StreamEnd::OpenAiUnreachable));
    assert_eq!(row.from, call.from);
    // The stream token is untouched by it.
    assert!(s.consume_stream_token(&sid(7), "h").await.is_ok());

    assert!(matches!(
        s.record_stream_end(&sid(8), StreamEnd::Idle).await,
        Err(StoreError::NotFound)
    ));
}
