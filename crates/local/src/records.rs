//! The embedded store: an ordered in-memory map, optionally persisted as a JSON-lines log.
//!
//! Why a log file rather than memory only: the local server keeps a calendar, caller memory and
//! call history in the store, and a developer restarting `phone-agent serve` expects them to be
//! there afterwards. Why a log rather than a database: every write is one appended, flushed line
//! (crash-safe enough for local use: a torn last line is skipped with a warning on the next
//! open), the format is readable with `jq`, and no native dependency is needed. The log is
//! compacted on open (live items rewritten to a temporary file, then renamed over the log).
//!
//! Semantics match the DynamoDB adapter: expired items are invisible and count as absent for
//! create-once writes; updates of absent items are `NotFound`; failed guards are `Conflict`.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use phone_core::StoreError;
use phone_core::store::{Guard, Item, Page, PageRequest, PutMode, Records};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One line of the log.
#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum LogEntry {
    Put {
        pk: String,
        sk: String,
        ttl: i64,
        data: Map<String, Value>,
    },
    Delete {
        pk: String,
        sk: String,
    },
}

type Key = (String, String);

struct Inner {
    items: BTreeMap<Key, Item>,
    log: Option<BufWriter<File>>,
}

/// The embedded `Records` store. Cheap enough for tests (`in_memory`) and durable enough for a
/// local deployment (`open`).
pub struct LocalRecords {
    inner: Mutex<Inner>,
    path: Option<PathBuf>,
}

impl LocalRecords {
    /// A store that lives only as long as the process.
    pub fn in_memory() -> Self {
        Self {
            inner: Mutex::new(Inner {
                items: BTreeMap::new(),
                log: None,
            }),
            path: None,
        }
    }

    /// Opens (or creates) a store backed by the log at `path`, replaying and compacting it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| io_error(&path, e))?;
        }
        let items = replay(&path)?;
        compact(&path, &items)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io_error(&path, e))?;
        tracing::debug!(path = %path.display(), items = items.len(), "local store opened");
        Ok(Self {
            inner: Mutex::new(Inner {
                items,
                log: Some(BufWriter::new(file)),
            }),
            path: Some(path),
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, StoreError> {
        // A poisoned lock means a panic mid-write elsewhere; the map is still consistent
        // because every mutation is a single insert/remove, so keep serving.
        Ok(self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    fn append(&self, inner: &mut Inner, entry: &LogEntry) -> Result<(), StoreError> {
        let Some(log) = inner.log.as_mut() else {
            return Ok(());
        };
        let line = serde_json::to_string(entry).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let path = self.path.as_deref().unwrap_or(Path::new("?"));
        writeln!(log, "{line}")
            .and_then(|_| log.flush())
            .map_err(|e| io_error(path, e))
    }

    fn write_item(&self, inner: &mut Inner, item: Item) -> Result<(), StoreError> {
        self.append(
            inner,
            &LogEntry::Put {
                pk: item.pk.clone(),
                sk: item.sk.clone(),
                ttl: item.ttl,
                data: item.data.clone(),
            },
        )?;
        inner.items.insert((item.pk.clone(), item.sk.clone()), item);
        Ok(())
    }
}

fn io_error(path: &Path, err: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("local store {}: {err}", path.display()))
}

fn replay(path: &Path) -> Result<BTreeMap<Key, Item>, StoreError> {
    let mut items = BTreeMap::new();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(items),
        Err(e) => return Err(io_error(path, e)),
    };
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| io_error(path, e))?;
        match serde_json::from_str::<LogEntry>(&line) {
            Ok(LogEntry::Put { pk, sk, ttl, data }) => {
                items.insert((pk.clone(), sk.clone()), Item { pk, sk, ttl, data });
            }
            Ok(LogEntry::Delete { pk, sk }) => {
                items.remove(&(pk, sk));
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), line = n + 1, error = %e, "skipping unreadable store log line")
            }
        }
    }
    Ok(items)
}

fn compact(path: &Path, items: &BTreeMap<Key, Item>) -> Result<(), StoreError> {
    let tmp = path.with_extension("compacting");
    let mut out = BufWriter::new(File::create(&tmp).map_err(|e| io_error(&tmp, e))?);
    for item in items.values() {
        let entry = LogEntry::Put {
            pk: item.pk.clone(),
            sk: item.sk.clone(),
            ttl: item.ttl,
            data: item.data.clone(),
        };
        let line = serde_json::to_string(&entry).map_err(|e| StoreError::Invalid(e.to_string()))?;
        writeln!(out, "{line}").map_err(|e| io_error(&tmp, e))?;
    }
    out.flush().map_err(|e| io_error(&tmp, e))?;
    drop(out);
    fs::rename(&tmp, path).map_err(|e| io_error(path, e))
}

fn guard_holds(data: &Map<String, Value>, guard: &Guard) -> bool {
    match guard {
        Guard::Equals(field, value) => data.get(field) == Some(value),
        Guard::Missing(field) => !data.contains_key(field),
        Guard::GreaterThan(field, n) => data
            .get(field)
            .and_then(Value::as_i64)
            .is_some_and(|v| v > *n),
    }
}

#[async_trait]
impl Records for LocalRecords {
    async fn put(&self, item: Item, mode: PutMode, now: i64) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        if mode == PutMode::IfAbsent {
            let key = (item.pk.clone(), item.sk.clone());
            if inner
                .items
                .get(&key)
                .is_some_and(|existing| !existing.is_expired(now))
            {
                return Err(StoreError::Conflict(format!(
                    "{} / {} already exists",
                    item.pk, item.sk
                )));
            }
        }
        self.write_item(&mut inner, item)
    }

    async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .items
            .get(&(pk.to_owned(), sk.to_owned()))
            .filter(|i| !i.is_expired(now))
            .cloned())
    }

    async fn update(
        &self,
        pk: &str,
        sk: &str,
        fields: Map<String, Value>,
        guards: &[Guard],
        now: i64,
    ) -> Result<Item, StoreError> {
        let mut inner = self.lock()?;
        let key = (pk.to_owned(), sk.to_owned());
        let Some(current) = inner.items.get(&key).filter(|i| !i.is_expired(now)) else {
            return Err(StoreError::NotFound);
        };
        if let Some(failed) = guards.iter().find(|g| !guard_holds(&current.data, g)) {
            return Err(StoreError::Conflict(format!(
                "{pk} / {sk}: condition {failed:?} does not hold"
            )));
        }
        let mut updated = current.clone();
        updated.data.extend(fields);
        self.write_item(&mut inner, updated.clone())?;
        Ok(updated)
    }

    async fn query(
        &self,
        pk: &str,
        sk_prefix: &str,
        page: &PageRequest,
        now: i64,
    ) -> Result<Page<Item>, StoreError> {
        let inner = self.lock()?;
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
        let mut selected: Vec<Item> = scope
            .into_iter()
            .filter(|i| match after {
                None => true,
                Some(a) if page.newest_first => i.sk.as_str() < a,
                Some(a) => i.sk.as_str() > a,
            })
            .take(limit + 1)
            .cloned()
            .collect();
        let next = if selected.len() > limit {
            selected.truncate(limit);
            selected.last().map(|i| i.sk.clone())
        } else {
            None
        };
        Ok(Page {
            items: selected,
            next,
        })
    }

    async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        if inner
            .items
            .remove(&(pk.to_owned(), sk.to_owned()))
            .is_some()
        {
            self.append(
                &mut inner,
                &LogEntry::Delete {
                    pk: pk.to_owned(),
                    sk: sk.to_owned(),
                },
            )?;
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.lock().map(|_| ())
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
    use super::*;

    fn item(pk: &str, sk: &str, n: i64) -> Item {
        let mut data = Map::new();
        data.insert("n".into(), n.into());
        Item {
            pk: pk.into(),
            sk: sk.into(),
            ttl: 10_000,
            data,
        }
    }

    #[tokio::test]
    async fn file_store_survives_reopen_and_skips_a_torn_line() {
        let dir = std::env::temp_dir().join(format!("phone-local-{}", std::process::id()));
        let path = dir.join("store.jsonl");
        let _ = fs::remove_file(&path);
        {
            let store = LocalRecords::open(&path).unwrap();
            store
                .put(item("A", "1", 1), PutMode::Overwrite, 0)
                .await
                .unwrap();
            store
                .put(item("A", "2", 2), PutMode::Overwrite, 0)
                .await
                .unwrap();
            store.delete("A", "1").await.unwrap();
        }
        // Simulate a crash in the middle of writing a line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        write!(f, "{{\"op\":\"put\",\"pk\":\"A\",\"sk\":\"3\"").unwrap();
        drop(f);

        let store = LocalRecords::open(&path).unwrap();
        assert!(store.get("A", "1", 0).await.unwrap().is_none());
        assert_eq!(store.get("A", "2", 0).await.unwrap().unwrap().data["n"], 2);
        assert!(store.get("A", "3", 0).await.unwrap().is_none());
        // Compaction rewrote the log to the live items only.
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 1);
        let _ = fs::remove_dir_all(dir);
    }
}
