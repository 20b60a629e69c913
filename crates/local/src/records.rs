//! The embedded store: an ordered in-memory map, optionally persisted as a JSON-lines log.
//!
//! Why a file at all: the local server keeps the local calendar, caller memory and call history
//! in this store, and a developer who restarts `phone-agent serve` expects the meeting they
//! booked and what the assistant learnt about a caller to still be there.
//!
//! Why an append-only log rather than a database: it is simple (no native dependency, readable
//! with `jq`), and crash-safe enough for local use. Each change is one line, written with a
//! single unbuffered write before the call returns, so a crash of the process loses nothing that
//! was acknowledged; a crash in the middle of a write leaves at most a torn last line, which the
//! next open skips with a warning (never a panic). Lines are not `fsync`ed one by one: a power
//! cut may lose the last writes, an accepted trade for a development store. The log is compacted
//! on open (live items rewritten to a temporary file, synced, renamed over the log), so it does
//! not grow without bound across restarts. The `log` module describes the format.
//!
//! Semantics match the DynamoDB adapter, and both pass the same suite: expired items are
//! invisible and count as absent for create-once writes; updating an absent item is
//! `NotFound`; a failed guard is `Conflict`; queries page by the last returned sort key.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use phone_core::StoreError;
use phone_core::store::{Guard, Item, Page, PageRequest, PutMode, Records};
use serde_json::{Map, Value};

use crate::log::{Entry, Items, Log};

/// The map and, when file-backed, its log: locked together so the file and the map never
/// disagree about the order of writes.
#[derive(Debug)]
struct Inner {
    items: Items,
    log: Option<Log>,
}

impl Inner {
    /// Logs `item` first, then applies it: a write that could not be logged does not happen.
    fn write(&mut self, item: Item) -> Result<(), StoreError> {
        if let Some(log) = self.log.as_mut() {
            log.append(&Entry::put(&item))?;
        }
        self.items.insert((item.pk.clone(), item.sk.clone()), item);
        Ok(())
    }

    fn live(&self, pk: &str, sk: &str, now: i64) -> Option<&Item> {
        self.items
            .get(&(pk.to_owned(), sk.to_owned()))
            .filter(|item| !item.is_expired(now))
    }
}

/// The embedded [`Records`] store: [`LocalRecords::in_memory`] for tests and throw-away runs,
/// [`LocalRecords::open`] for a local deployment whose data must survive a restart.
#[derive(Debug)]
pub struct LocalRecords {
    // A std mutex, not an async one: it is never held across an `.await`, and the work under it
    // is a map operation plus at most one small append, cheaper than a hop to a blocking thread.
    inner: Mutex<Inner>,
    path: Option<PathBuf>,
}

impl LocalRecords {
    /// A store that lives only as long as the process.
    pub fn in_memory() -> Self {
        Self {
            inner: Mutex::new(Inner {
                items: Items::new(),
                log: None,
            }),
            path: None,
        }
    }

    /// Opens (or creates, with its parent directories) the store logged at `path`, replaying the
    /// log and compacting it to the items that have not expired by the wall clock.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_at(path.as_ref(), wall_clock_now())
    }

    /// [`LocalRecords::open`] with "now" given, so tests can decide what has expired.
    fn open_at(path: &Path, now: i64) -> Result<Self, StoreError> {
        let (log, items) = Log::open(path, now)?;
        tracing::debug!(path = %log.path().display(), items = items.len(), "local store opened");
        Ok(Self {
            path: Some(log.path().to_path_buf()),
            inner: Mutex::new(Inner {
                items,
                log: Some(log),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock means a panic elsewhere while it was held. Every change is logged
        // before it is applied with a single insert or remove, so the state is still
        // consistent: keep serving rather than fail every later request.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn wall_clock_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Equality as DynamoDB sees it: numbers compare by value (`1` equals `1.0`), the rest by
/// structure.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        _ => a == b,
    }
}

/// Whether a stored number is greater than `n`; anything that is not a number is not.
fn greater_than(value: &Value, n: i64) -> bool {
    let Value::Number(number) = value else {
        return false;
    };
    if let Some(v) = number.as_i64() {
        v > n
    } else if number.as_u64().is_some() {
        // Only numbers above i64::MAX fail `as_i64` and pass `as_u64`.
        true
    } else {
        number.as_f64().is_some_and(|v| v > n as f64)
    }
}

fn guard_holds(data: &Map<String, Value>, guard: &Guard) -> bool {
    match guard {
        Guard::Equals(field, value) => data.get(field).is_some_and(|v| same_value(v, value)),
        Guard::Missing(field) => !data.contains_key(field),
        Guard::GreaterThan(field, n) => data.get(field).is_some_and(|v| greater_than(v, *n)),
    }
}

#[async_trait]
impl Records for LocalRecords {
    async fn put(&self, item: Item, mode: PutMode, now: i64) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if mode == PutMode::IfAbsent && inner.live(&item.pk, &item.sk, now).is_some() {
            return Err(StoreError::Conflict(format!(
                "{} / {} already exists",
                item.pk, item.sk
            )));
        }
        inner.write(item)
    }

    async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError> {
        Ok(self.lock().live(pk, sk, now).cloned())
    }

    async fn update(
        &self,
        pk: &str,
        sk: &str,
        fields: Map<String, Value>,
        guards: &[Guard],
        now: i64,
    ) -> Result<Item, StoreError> {
        let mut inner = self.lock();
        let current = inner.live(pk, sk, now).ok_or(StoreError::NotFound)?;
        if let Some(failed) = guards.iter().find(|g| !guard_holds(&current.data, g)) {
            return Err(StoreError::Conflict(format!(
                "{pk} / {sk}: condition {failed:?} does not hold"
            )));
        }
        let mut updated = current.clone();
        if fields.is_empty() {
            // Only the guards were asked about: nothing to log.
            return Ok(updated);
        }
        updated.data.extend(fields);
        inner.write(updated.clone())?;
        Ok(updated)
    }

    async fn query(
        &self,
        pk: &str,
        sk_prefix: &str,
        page: &PageRequest,
        now: i64,
    ) -> Result<Page<Item>, StoreError> {
        let inner = self.lock();
        let limit = page.clamped_limit() as usize;
        // Keys sharing the partition and prefix are contiguous in the ordered map.
        let mut scope: Vec<&Item> = inner
            .items
            .range((pk.to_owned(), sk_prefix.to_owned())..)
            .take_while(|((p, s), _)| p == pk && s.starts_with(sk_prefix))
            .map(|(_, item)| item)
            .filter(|item| !item.is_expired(now))
            .collect();
        if page.newest_first {
            scope.reverse();
        }
        let after = page.after.as_deref();
        // One more than the page, to know whether a next page exists.
        let mut items: Vec<Item> = scope
            .into_iter()
            .filter(|item| match after {
                None => true,
                Some(a) if page.newest_first => item.sk.as_str() < a,
                Some(a) => item.sk.as_str() > a,
            })
            .take(limit + 1)
            .cloned()
            .collect();
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|item| item.sk.clone())
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let key = (pk.to_owned(), sk.to_owned());
        if !inner.items.contains_key(&key) {
            return Ok(());
        }
        if let Some(log) = inner.log.as_mut() {
            log.append(&Entry::Delete { pk, sk })?;
        }
        inner.items.remove(&key);
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let inner = self.lock();
        // A file store is healthy while its log exists (someone may have removed the directory).
        match inner.log.as_ref() {
            Some(log) if !log.path().exists() => Err(StoreError::Unavailable(format!(
                "local store {} has disappeared",
                log.path().display()
            ))),
            _ => Ok(()),
        }
    }

    fn describe(&self) -> String {
        match &self.path {
            Some(p) => format!("local:{}", p.display()),
            None => "local:memory".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use serde_json::json;

    use super::*;

    fn item(sk: &str, ttl: i64, data: Value) -> Item {
        let Value::Object(data) = data else {
            panic!("object expected")
        };
        Item {
            pk: "A".into(),
            sk: sk.into(),
            ttl,
            data,
        }
    }

    #[tokio::test]
    async fn file_store_keeps_puts_updates_and_deletes_across_a_restart() {
        let dir = std::env::temp_dir().join(format!("phone-local-{}", std::process::id()));
        let path = dir.join("nested").join("store.jsonl");
        let _ = fs::remove_dir_all(&dir);
        {
            let store = LocalRecords::open_at(&path, 0).unwrap();
            assert_eq!(store.describe(), format!("local:{}", path.display()));
            let put = |sk, ttl, data| store.put(item(sk, ttl, data), PutMode::Overwrite, 0);
            put("1", 1_000, json!({"n": 1})).await.unwrap();
            put("2", 1_000, json!({"n": 2})).await.unwrap();
            put("short", 10, json!({})).await.unwrap();
            let fields = json!({"seen": true}).as_object().cloned().unwrap();
            store.update("A", "2", fields, &[], 0).await.unwrap();
            store.delete("A", "1").await.unwrap();
            store.ping().await.unwrap();
        }
        let store = LocalRecords::open_at(&path, 100).unwrap();
        assert!(store.get("A", "1", 0).await.unwrap().is_none());
        let two = store.get("A", "2", 100).await.unwrap().unwrap();
        assert_eq!(Value::Object(two.data), json!({"n": 2, "seen": true}));
        assert!(
            store.get("A", "short", 0).await.unwrap().is_none(),
            "expired by the time of the reopen, so compacted away"
        );
        let _ = fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_second_store_on_the_same_file_is_refused_naming_it() {
        let dir = std::env::temp_dir().join(format!("phone-local-lock-{}", std::process::id()));
        let path = dir.join("store.jsonl");
        let _ = fs::remove_dir_all(&dir);
        let first = LocalRecords::open(&path).unwrap();
        let err = LocalRecords::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("in use by another process"), "{message}");
        first
            .put(item("kept", i64::MAX, json!({})), PutMode::Overwrite, 0)
            .await
            .unwrap();
        drop(first);
        let second = LocalRecords::open(&path).unwrap();
        assert!(second.get("A", "kept", 0).await.unwrap().is_some());
        drop(second);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn numbers_compare_by_value_like_dynamodb() {
        assert!(same_value(&json!(1), &json!(1.0)));
        assert!(!same_value(&json!(1), &json!("1")));
        assert!(greater_than(&json!(5.5), 5));
        assert!(greater_than(&json!(u64::MAX), i64::MAX));
        assert!(!greater_than(&json!("9"), 5));
        assert!(!greater_than(&json!(5), 5));
    }

    #[tokio::test]
    async fn in_memory_store_describes_itself() {
        let store = LocalRecords::in_memory();
        assert_eq!(store.describe(), "local:memory");
        store.ping().await.unwrap();
    }
}
