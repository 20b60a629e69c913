//! Runs an oracle: a Python script that checks what a test recorded with an official package
//! (`openai`, `standardwebhooks`, …). The script reads JSON lines on stdin and exits 0 when it
//! accepts them, 3 when it cannot run (the package is missing or too old), anything else when
//! it rejects them, with the reasons on stderr.
//!
//! A check that cannot run is skipped loudly, and fails instead when `CI` is set, so that CI
//! cannot silently lose it.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// An oracle: its name in messages, and how to install what it needs.
#[derive(Debug, Clone, Copy)]
pub struct Oracle {
    /// What the messages call it (`"openai oracle"`).
    pub name: &'static str,
    /// What to do when it cannot run (`"pip install openai"`).
    pub install: &'static str,
}

/// What an oracle said.
#[derive(Debug)]
pub enum Verdict {
    /// It accepted the input; its stdout.
    Accepted(String),
    /// It rejected the input; its stderr (the reasons).
    Rejected(String),
    /// It could not run (outside `CI` only: under `CI` that panics).
    Skipped,
}

impl Verdict {
    /// The oracle's stdout when it accepted, `None` when it was skipped; panics with `context`
    /// and its reasons when it rejected.
    pub fn accepted_or_panic(self, context: &str) -> Option<String> {
        match self {
            Self::Accepted(stdout) => Some(stdout),
            Self::Rejected(stderr) => panic!("{context}:\n{stderr}"),
            Self::Skipped => None,
        }
    }
}

impl Oracle {
    /// Runs `script` (a path) with `args`, `input` on its stdin.
    ///
    /// # Panics
    /// When the script cannot run and `CI` is set, or when its pipes fail: a test fixture.
    pub fn run(&self, script: &Path, args: &[&str], input: &str) -> Verdict {
        let child = Command::new("python3")
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(e) => return self.skip(&format!("python3 not runnable: {e}")),
        };
        // Written from another thread: a script that answers line by line fills stdout while
        // the input is still being written, and one thread doing both would deadlock.
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let input = input.to_owned();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let output = child.wait_with_output().expect("python3 finishes");
        let written = writer.join().expect("the writer thread ends");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        match output.status.code() {
            Some(0) => {
                written.expect("python3 reads all its input");
                Verdict::Accepted(stdout)
            }
            Some(3) => self.skip(&stderr),
            _ => Verdict::Rejected(stderr),
        }
    }

    /// Runs `script` on `lines`, one JSON document per line.
    pub fn run_lines(&self, script: &Path, args: &[&str], lines: &[String]) -> Verdict {
        self.run(script, args, &lines.join("\n"))
    }

    fn skip(&self, reason: &str) -> Verdict {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} unavailable in CI: {reason}",
            self.name
        );
        eprintln!(
            "\n!!! SKIPPED {}: {reason}\n!!! {}\n",
            self.name, self.install
        );
        Verdict::Skipped
    }
}
