//! One behavioural suite for every `Records` adapter: the embedded store and DynamoDB (moto)
//! must pass the same cases. [`store_suite!`](crate::store_suite!) expands it into tests.
//!
//! Each case is a public async function taking a fresh, empty `Arc<dyn Records>`, so an adapter
//! can also call a single case from a test of its own. Cases that use time pass `now`
//! explicitly ([`T0`]) or drive a [`Store`] with a [`TestClock`], so nothing depends on the
//! wall clock.

mod call_end;
mod email;
mod forget_and_retries;
mod latency;
mod outbound;
mod paging;
mod quota;
mod recent_calls;
mod records;
mod reminders;
mod typed;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use phone_core::call::CallSid;
use phone_core::clock::Clock;
use phone_core::phone::PhoneNumber;
use phone_core::store::{Item, Records, Retention, Store};
use serde_json::{Map, Value};
use time::OffsetDateTime;

pub use call_end::*;
pub use email::*;
pub use forget_and_retries::*;
pub use latency::*;
pub use outbound::*;
pub use paging::*;
pub use quota::*;
pub use recent_calls::*;
pub use records::*;
pub use reminders::*;
pub use typed::*;

/// A clock tests move by hand, for a [`Store`] whose expiry a test controls.
#[derive(Debug)]
pub struct TestClock(AtomicI64);

impl TestClock {
    /// A clock at `unix` seconds.
    pub fn at(unix: i64) -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(unix)))
    }

    /// Moves the clock forward by `secs`.
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

/// A scheduler sleeping on a test clock wakes when a test moves the clock past its instant
/// (checked every few real milliseconds), never after real minutes.
#[async_trait::async_trait]
impl phone_core::clock::Sleeper for TestClock {
    async fn sleep_until(&self, at: OffsetDateTime) {
        while self.now() < at {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

impl TestClock {
    /// Moves the clock to `unix` seconds (forward or back).
    pub fn set(&self, unix: i64) {
        self.0.store(unix, Ordering::SeqCst);
    }
}

/// The "now" of the suite, in epoch seconds (a fixed instant, so runs are reproducible).
pub const T0: i64 = 1_790_000_000;

fn item(pk: &str, sk: &str, ttl: i64, data: Value) -> Item {
    Item {
        pk: pk.into(),
        sk: sk.into(),
        ttl,
        data: fields(data),
    }
}

fn fields(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("the suite builds items from JSON objects, not {other}"),
    }
}

fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).expect("valid time")
}

fn sid(n: u8) -> CallSid {
    CallSid::parse(&format!("CA{n:032x}")).expect("valid sid")
}

fn phone(s: &str) -> PhoneNumber {
    PhoneNumber::parse(s).expect("valid number")
}

fn store(records: Arc<dyn Records>, clock: Arc<TestClock>) -> Store {
    Store::new(records, clock, Retention::default())
}

/// Expands the whole suite into `#[tokio::test]`s, one per case, named after the case.
///
/// `$make` is an async expression giving `Option<Arc<dyn Records>>`, evaluated once per test so
/// each case gets a fresh store; `None` skips the case (moto absent outside CI). Use it once per
/// module:
///
/// ```text
/// phone_test_support::store_suite!(async { Some(Arc::new(LocalRecords::in_memory()) as Arc<dyn Records>) });
/// ```
#[macro_export]
macro_rules! store_suite {
    ($make:expr) => {
        $crate::store_suite!(@cases $make;
            put_get_round_trips_nested_json_and_overwrite_replaces,
            create_once_conflicts_and_writes_nothing,
            concurrent_create_once_has_one_winner,
            expired_items_are_invisible_and_replaceable,
            update_guards_pass_and_fail,
            guard_only_update_checks_without_writing,
            update_of_absent_item_is_not_found,
            query_isolates_prefix_and_pages_both_ways,
            query_pages_stay_full_past_expired_items,
            query_limit_is_clamped,
            delete_is_idempotent,
            create_call_is_idempotent,
            stream_token_is_single_use_and_expires,
            concurrent_token_consumers_have_one_winner,
            turns_are_written_once_and_listed_in_order,
            tool_call_is_recorded_once,
            idempotency_key_is_claimed_once,
            key_claimed_until_expires_then,
            notes_list_newest_first,
            forget_caller_erases_only_that_caller,
            final_call_status_is_never_reopened,
            stream_end_is_recorded_once,
            email_claim_has_one_winner_and_guarded_completion,
            call_access_and_pin_attempts,
            guest_quotas_count_per_day_and_refuse_past_the_limit,
            call_seconds_are_counted_once_and_max_secs_round_trips,
            forget_caller_erases_their_calls,
            pending_tool_calls_settle_once_and_expire,
            tool_effect_claims_have_one_winner_and_expire,
            turn_latencies_round_trip_with_percentiles_and_recording,
            recent_calls_list_newest_first_once_each,
            outbound_requests_retries_and_outcomes,
            reminders_are_created_once_listed_and_cancelled_once,
            reminder_claims_have_one_winner,
            moved_reminders_never_fire_at_their_old_time,
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
