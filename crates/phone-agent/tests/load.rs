//! `phone-agent load` end to end, small: a few calls for a few seconds through `serve`.

#[test]
fn load_runs_a_few_calls_through_serve_without_loss() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_phone-agent"))
        .args(["load", "--calls", "3", "--seconds", "2"])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("round trip through the bridge: p50"),
        "{stdout}"
    );
    assert!(stdout.contains("lost 0; calls failed 0"), "{stdout}");
}
