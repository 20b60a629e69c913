//! The append-only JSON-lines log behind a file-backed [`LocalRecords`](crate::LocalRecords).
//!
//! One line per change: `{"op":"put","pk":…,"sk":…,"ttl":…,"data":{…}}` or
//! `{"op":"delete","pk":…,"sk":…}`. Opening replays the lines in order, then compacts: the live
//! items are written to `<path>.compacting`, synced, and renamed over the log, so a crash during
//! compaction leaves either the old log or the new one, never half of each.
//!
//! One process at a time: opening takes an exclusive lock on `<path>.lock` (a separate file,
//! since compaction replaces the log's inode) and holds it as long as the log is open. A second
//! process (or a second open in the same one) gets an error naming the path instead of
//! appending to a log the first one will compact away, which would lose its writes.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use phone_core::StoreError;
use phone_core::store::Item;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Items by `(pk, sk)`: the order DynamoDB keeps a partition in.
pub(crate) type Items = BTreeMap<(String, String), Item>;

/// One line of the log, as written (borrowing the item, so a write copies nothing).
#[derive(Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub(crate) enum Entry<'a> {
    /// The item now has this content.
    Put {
        pk: &'a str,
        sk: &'a str,
        ttl: i64,
        data: &'a Map<String, Value>,
    },
    /// The item is gone.
    Delete { pk: &'a str, sk: &'a str },
}

impl<'a> Entry<'a> {
    /// The line that records `item`'s current content.
    pub(crate) fn put(item: &'a Item) -> Self {
        Entry::Put {
            pk: &item.pk,
            sk: &item.sk,
            ttl: item.ttl,
            data: &item.data,
        }
    }
}

/// One line of the log, as read back; the same shape as [`Entry`].
#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum OwnedEntry {
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

/// The open log file, positioned for appends.
#[derive(Debug)]
pub(crate) struct Log {
    path: PathBuf,
    file: File,
    /// The lock file, locked exclusively; closing it releases the lock.
    _lock: File,
    /// Length of the log up to the last complete line we wrote.
    len: u64,
    /// Set when a failed write could not be undone: appending after a partial line would make
    /// the next line unreadable too, so further writes are refused rather than silently lost.
    damaged: Option<String>,
}

impl Log {
    /// Opens the log at `path` (creating it and its parent directories), replays it, and
    /// compacts it to the items still live at `now` (epoch seconds).
    pub(crate) fn open(path: &Path, now: i64) -> Result<(Self, Items), StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        }
        let lock = lock(path)?;
        let mut items = replay(path)?;
        // Expired items are invisible to every read, so they need not survive a restart; this is
        // the local counterpart of DynamoDB's TTL deletion, and keeps the log from growing forever.
        items.retain(|_, item| !item.is_expired(now));
        let len = compact(path, &items)?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| io_error(path, e))?;
        let log = Self {
            path: path.to_path_buf(),
            file,
            _lock: lock,
            len,
            damaged: None,
        };
        Ok((log, items))
    }

    /// The log's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line with a single unbuffered write, so that when this returns the line is
    /// in the operating system's hands and survives a crash of this process.
    pub(crate) fn append(&mut self, entry: &Entry<'_>) -> Result<(), StoreError> {
        if let Some(why) = &self.damaged {
            return Err(StoreError::Unavailable(format!(
                "local store {} is damaged ({why}); restart to recover it",
                self.path.display()
            )));
        }
        let mut line = serde_json::to_vec(entry).map_err(|e| StoreError::Invalid(e.to_string()))?;
        line.push(b'\n');
        if let Err(err) = self.file.write_all(&line) {
            // Cut off whatever part of the line reached the file, so the next line starts clean.
            if let Err(trunc) = self.file.set_len(self.len) {
                self.damaged = Some(format!("write failed: {err}; truncation failed: {trunc}"));
            }
            return Err(io_error(&self.path, err));
        }
        self.len += line.len() as u64;
        Ok(())
    }
}

/// Takes the exclusive lock on `<path>.lock` without waiting.
fn lock(path: &Path) -> Result<File, StoreError> {
    let mut name = OsString::from(path.as_os_str());
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io_error(&lock_path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::Unavailable(format!(
            "local store {} is in use by another process (it holds {}); stop that process or \
             set LOCAL_STORE_PATH to another file",
            path.display(),
            lock_path.display()
        ))),
        Err(TryLockError::Error(e)) => Err(io_error(&lock_path, e)),
    }
}

/// Wraps an I/O error as "store unavailable", naming the file.
pub(crate) fn io_error(path: &Path, err: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("local store {}: {err}", path.display()))
}

/// Rebuilds the items from the log. Unreadable lines (a torn last line after a crash, which may
/// even end inside a UTF-8 character) are skipped with a warning.
fn replay(path: &Path) -> Result<Items, StoreError> {
    let mut items = Items::new();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(items),
        Err(e) => return Err(io_error(path, e)),
    };
    // Lines are read as bytes: `serde_json` checks UTF-8 itself, so a torn multi-byte character
    // is one more unreadable line rather than an I/O error that would refuse to open the store.
    for (n, line) in BufReader::new(file).split(b'\n').enumerate() {
        let line = line.map_err(|e| io_error(path, e))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<OwnedEntry>(&line) {
            Ok(OwnedEntry::Put { pk, sk, ttl, data }) => {
                items.insert((pk.clone(), sk.clone()), Item { pk, sk, ttl, data });
            }
            Ok(OwnedEntry::Delete { pk, sk }) => {
                items.remove(&(pk, sk));
            }
            Err(e) => tracing::warn!(
                path = %path.display(),
                line = n + 1,
                error = %e,
                "skipping an unreadable line of the local store log (torn write?)"
            ),
        }
    }
    Ok(items)
}

/// Rewrites the log as one `put` line per item; returns the new length in bytes.
fn compact(path: &Path, items: &Items) -> Result<u64, StoreError> {
    let mut tmp = OsString::from(path.as_os_str());
    tmp.push(".compacting");
    let tmp = PathBuf::from(tmp);
    let file = File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
    let mut out = BufWriter::new(file);
    let mut len = 0u64;
    for item in items.values() {
        let mut line = serde_json::to_vec(&Entry::put(item))
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        line.push(b'\n');
        out.write_all(&line).map_err(|e| io_error(&tmp, e))?;
        len += line.len() as u64;
    }
    let file = out
        .into_inner()
        .map_err(|e| io_error(&tmp, e.into_error()))?;
    // Synced before the rename: otherwise a power cut could leave the new name on empty data.
    file.sync_all().map_err(|e| io_error(&tmp, e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| io_error(path, e))?;
    // Make the rename itself durable; best effort, as not every platform can sync a directory.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("phone-local-log-{}", std::process::id()));
        let path = dir.join(name);
        let _ = fs::remove_file(&path);
        path
    }

    fn item(sk: &str, ttl: i64) -> Item {
        let mut data = Map::new();
        data.insert("text".into(), Value::String("é✓".into()));
        Item {
            pk: "P".into(),
            sk: sk.into(),
            ttl,
            data,
        }
    }

    #[test]
    fn replay_applies_puts_and_deletes_in_order() {
        let path = temp_path("order.jsonl");
        {
            let (mut log, items) = Log::open(&path, 0).unwrap();
            assert!(items.is_empty());
            log.append(&Entry::put(&item("a", 100))).unwrap();
            log.append(&Entry::put(&item("b", 100))).unwrap();
            log.append(&Entry::Delete { pk: "P", sk: "a" }).unwrap();
        }
        let (_, items) = Log::open(&path, 0).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[&("P".into(), "b".into())], item("b", 100));
    }

    #[test]
    fn a_line_torn_inside_a_utf8_character_is_skipped() {
        let path = temp_path("torn.jsonl");
        {
            let (mut log, _) = Log::open(&path, 0).unwrap();
            log.append(&Entry::put(&item("a", 100))).unwrap();
        }
        let full = serde_json::to_vec(&Entry::put(&item("b", 100))).unwrap();
        // Cut after the first byte of the two-byte "é".
        let cut = full.windows(2).position(|w| w == "é".as_bytes()).unwrap() + 1;
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&full[..cut]).unwrap();
        drop(f);

        let (_, items) = Log::open(&path, 0).unwrap();
        assert_eq!(
            items.keys().map(|k| k.1.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1, "compaction dropped the torn line");
    }

    #[test]
    fn a_second_open_of_the_same_file_is_refused_until_the_first_is_closed() {
        let path = temp_path("locked.jsonl");
        let (mut first, _) = Log::open(&path, 0).unwrap();
        let err = Log::open(&path, 0).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("in use by another process"), "{message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
        // The refused open changed nothing: the first still writes, and its writes survive.
        first.append(&Entry::put(&item("a", 100))).unwrap();
        drop(first);
        let (_, items) = Log::open(&path, 0).unwrap();
        assert_eq!(items.len(), 1);
    }

    #[test]
    fn compaction_keeps_only_live_items() {
        let path = temp_path("compact.jsonl");
        {
            let (mut log, _) = Log::open(&path, 0).unwrap();
            log.append(&Entry::put(&item("old", 50))).unwrap();
            log.append(&Entry::put(&item("live", 500))).unwrap();
            log.append(&Entry::put(&item("live", 600))).unwrap();
        }
        let (_, items) = Log::open(&path, 100).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[&("P".into(), "live".into())].ttl, 600);
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 1);
        let mut tmp = OsString::from(path.as_os_str());
        tmp.push(".compacting");
        assert!(!PathBuf::from(tmp).exists(), "no temporary file is left");
    }
}
