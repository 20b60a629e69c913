//! Per-turn latency rows, the call's percentiles and its recording link, on the call row.

use std::sync::Arc;

use phone_core::call::{CallRecording, CallSession};
use phone_core::latency::{LatencyPercentiles, TurnLatency};
use phone_core::store::{PageRequest, Records, StoreError};

use super::{T0, TestClock, at, phone, sid, store};

fn turn(index: u32, total_ms: u64) -> TurnLatency {
    TurnLatency {
        index,
        speech_ended_at: at(T0 + i64::from(index) * 10),
        first_audio_at: at(T0 + i64::from(index) * 10 + 1),
        total_ms,
        model_ms: total_ms.saturating_sub(30),
        tool_ms: 20,
        transport_ms: 10,
    }
}

/// Turns are written once and listed in turn order (past ten, where a string sort would
/// break); percentiles and the recording round-trip on the row without disturbing it; an
/// unknown call is NotFound.
pub async fn turn_latencies_round_trip_with_percentiles_and_recording(r: Arc<dyn Records>) {
    let s = store(r, TestClock::at(T0));
    let call = CallSession::new(sid(9), Some(phone("+14155550123")), None, at(T0));
    s.create_call(&call, "h", at(T0 + 120)).await.unwrap();
    for index in (0..12).rev() {
        s.append_turn_latency(&sid(9), &turn(index, 700 + u64::from(index)))
            .await
            .unwrap();
    }
    assert!(matches!(
        s.append_turn_latency(&sid(9), &turn(3, 1)).await,
        Err(StoreError::Conflict(_))
    ));
    let listed = s
        .list_turn_latencies(&sid(9), &PageRequest::first(100))
        .await
        .unwrap()
        .items;
    assert_eq!(listed.len(), 12);
    assert_eq!(listed[3], turn(3, 703), "the first write stays");
    assert!(listed.windows(2).all(|w| w[0].index < w[1].index));
    // Turns are not transcript turns.
    assert!(
        s.list_turns(&sid(9), &PageRequest::first(100))
            .await
            .unwrap()
            .items
            .is_empty()
    );

    assert_eq!(s.get_call(&sid(9)).await.unwrap().latency, None);
    let totals: Vec<u64> = listed.iter().map(|t| t.total_ms).collect();
    let p = LatencyPercentiles::of(&totals);
    s.save_call_latency(&sid(9), &p).await.unwrap();
    let recording = CallRecording {
        sid: format!("RE{:032x}", 9),
        url: "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1".into(),
        status: "completed".into(),
        channels: Some(2),
        duration_secs: Some(42),
    };
    s.save_call_recording(&sid(9), &recording).await.unwrap();
    let row = s.get_call(&sid(9)).await.unwrap();
    assert_eq!(row.latency, Some(p));
    assert_eq!(row.latency.and_then(|p| p.p50_ms), Some(705));
    assert_eq!(row.recording, Some(recording.clone()));
    assert_eq!(row.from, call.from);

    assert!(matches!(
        s.save_call_latency(&sid(10), &p).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.save_call_recording(&sid(10), &recording).await,
        Err(StoreError::NotFound)
    ));
}
