//! Where the files tests read are, found when the test runs, from the `CARGO_MANIFEST_DIR`
//! cargo gives the test process rather than the one compiled in.
//!
//! Why: one target directory serves checkouts at different paths (CI's clone and a developer's
//! tree share `~/.cache/phone-agent/target`), and cargo's fingerprints of workspace crates are
//! relative to the workspace, so a test binary built in one checkout is reused in the other.
//! A path compiled in with `env!("CARGO_MANIFEST_DIR")` then names the other checkout's file.

use std::path::{Path, PathBuf};

/// The directory of the package under test (`cargo test`, `cargo bench` and `cargo run` set
/// `CARGO_MANIFEST_DIR` for the process); this crate's when run otherwise.
pub fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The workspace root: the nearest directory above the package with a `Cargo.lock`.
pub fn workspace_root() -> PathBuf {
    let package = package_dir();
    package
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
        .unwrap_or(package)
}

/// `relative` (to the workspace root) as a path.
pub fn workspace_file(relative: &str) -> PathBuf {
    workspace_root().join(relative)
}
