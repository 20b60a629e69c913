//! What the oracle tests of this crate share. Not every test binary uses every helper.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// This package's directory as cargo gives it to the test process, not the one compiled in: a
/// shared target directory reuses test binaries across checkouts (`phone_test_support::paths`
/// explains; this crate cannot depend on test-support, which depends on it).
#[allow(dead_code)]
pub fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// Whether the PyPI `twilio` library can be imported. When it cannot, says so loudly and
/// returns `false` (the oracle is skipped); under `CI` it fails instead.
#[allow(dead_code)]
pub fn python_twilio_available() -> bool {
    let available = Command::new("python3")
        .args(["-c", "import twilio"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 -m pip install twilio (CI must install it)"
        );
        eprintln!(
            "\n==== SKIPPED: the twilio Python library is not installed; oracle not run ====\n"
        );
    }
    available
}
