//! Capturing what the code under test logs, to assert that something was (or was not) logged.
//!
//! The subscriber is the current thread's default while the guard lives: a `#[tokio::test]`
//! (single-threaded runtime) sees the logs of everything it spawns, servers included.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;

/// The captured log lines (plain text, no colours).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// The lines containing every one of `parts`.
    pub fn lines_with(&self, parts: &[&str]) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| parts.iter().all(|p| l.contains(p)))
            .map(str::to_owned)
            .collect()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Starts capturing this thread's logs at `info` and above until the guard is dropped.
pub fn capture() -> (tracing::subscriber::DefaultGuard, Logs) {
    keep_a_second_dispatcher();
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    (tracing::subscriber::set_default(subscriber), logs)
}

/// Keeps one more dispatcher registered for the life of the process.
///
/// tracing-core (0.1.36) caches each callsite's interest once, when the callsite is first hit.
/// With a single registered dispatcher it asks only the *registering thread's* default: a
/// sibling test thread with no subscriber that hits a `warn!` first caches "never", and the
/// capturing test then never sees that line (tokio-rs/tracing#3611). With two registered
/// dispatchers the interest is taken over all of them, the capture's included.
fn keep_a_second_dispatcher() {
    static SECOND: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
    SECOND.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
}
