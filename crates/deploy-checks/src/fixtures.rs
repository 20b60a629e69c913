//! Requests and configuration shared by the entry-point tests and the cold-start benchmark.

use std::path::PathBuf;
use std::process::Command;

use phone_test_support::lambda_runtime::{API_DOMAIN, ApiGatewayV2Request};
use serde_json::Value;

/// The Twilio auth token the functions are configured with (webhook signatures).
pub const AUTH_TOKEN: &str = "deploy-checks-auth-token";
/// The REST API key the functions are configured with.
pub const API_KEY: &str = "deploy-checks-api-key";
/// A well-formed call id.
pub const CALL_SID: &str = "CA0123456789abcdef0123456789abcdef";

/// The configuration every function is started with: no `TABLE_NAME` (the embedded in-memory
/// store), no secret, and the public URLs a deployment would have.
pub fn function_env() -> Vec<(&'static str, String)> {
    vec![
        ("PUBLIC_BASE_URL", format!("https://{API_DOMAIN}")),
        (
            "STREAM_PUBLIC_URL",
            "wss://stream.example.test/voice/stream".into(),
        ),
        (
            "TWILIO_ACCOUNT_SID",
            "AC0123456789abcdef0123456789abcdef".into(),
        ),
        ("TWILIO_AUTH_TOKEN", AUTH_TOKEN.into()),
        ("API_KEY", API_KEY.into()),
        ("TIME_ZONE", "Europe/Paris".into()),
        // Google client credentials (no refresh token yet): the auth function can start a
        // consent flow; no function calls Google here.
        (
            "GOOGLE_CLIENT_ID",
            "client.apps.googleusercontent.com".into(),
        ),
        ("GOOGLE_CLIENT_SECRET", "client-secret".into()),
        (
            "OAUTH_STATE_SECRET",
            "deploy-checks-state-key-0123456789abcdef".into(),
        ),
        ("LOG_FORMAT", "json".into()),
        ("RUST_LOG", "warn".into()),
    ]
}

/// The form of an incoming call webhook for `call_sid`.
pub fn incoming_call_form(call_sid: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AccountSid", "AC0123456789abcdef0123456789abcdef".into()),
        ("CallSid", call_sid.into()),
        ("CallStatus", "ringing".into()),
        ("Direction", "inbound".into()),
        ("From", "+15551230001".into()),
        ("To", "+15551230002".into()),
    ]
}

/// Twilio's incoming-call webhook for `call_sid` to `path`, signed.
pub fn signed_call_webhook(path: &str, call_sid: &str) -> ApiGatewayV2Request {
    let form = incoming_call_form(call_sid);
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    signed_form(path, &fields)
}

/// The same webhook with no `X-Twilio-Signature`: must be refused.
pub fn unsigned_call_webhook(path: &str) -> ApiGatewayV2Request {
    let form = incoming_call_form(CALL_SID);
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ApiGatewayV2Request::post_form(path, &fields)
}

/// A webhook signed as Twilio signs it: over the public URL it called and the form fields.
pub fn signed_form(path: &str, fields: &[(&str, &str)]) -> ApiGatewayV2Request {
    let params: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let url = format!("https://{API_DOMAIN}{path}");
    let signature = phone_twilio::signature::compute_signature(AUTH_TOKEN, &url, &params);
    ApiGatewayV2Request::post_form(path, fields).header("x-twilio-signature", &signature)
}

/// `request` with the API key as a bearer token.
pub fn with_key(request: ApiGatewayV2Request) -> ApiGatewayV2Request {
    request.header("authorization", &format!("Bearer {API_KEY}"))
}

/// The event EventBridge Scheduler sends the email processor.
pub fn scheduled_event() -> Value {
    serde_json::json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": "2026-11-24T08:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/poll"],
        "detail": {}
    })
}

/// A build profile of the function binaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `dev`, as `cargo build --workspace --bins` already produced it.
    Debug,
    /// `release`, as deployed (for the host's architecture).
    Release,
}

/// Builds the function binaries in `profile` (usually nothing to do) and returns the directory
/// they are in.
///
/// # Panics
/// When cargo fails: these are test and benchmark fixtures.
pub fn build_functions(names: &[&str], profile: Profile) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = phone_test_support::paths::workspace_root();
    let mut build = Command::new(&cargo);
    build.current_dir(&root).arg("build").arg("--quiet");
    if profile == Profile::Release {
        build.arg("--release");
    }
    for name in names {
        build.args(["-p", name]);
    }
    let status = build.status().expect("running cargo build");
    assert!(status.success(), "cargo build of {names:?} failed");
    // `cargo metadata` knows the target directory whatever sets it (CARGO_TARGET_DIR,
    // .cargo/config.toml, the default).
    let metadata = Command::new(&cargo)
        .current_dir(&root)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .expect("running cargo metadata");
    assert!(metadata.status.success(), "cargo metadata failed");
    let metadata: Value = serde_json::from_slice(&metadata.stdout).expect("metadata JSON");
    PathBuf::from(
        metadata["target_directory"]
            .as_str()
            .expect("target_directory"),
    )
    .join(match profile {
        Profile::Debug => "debug",
        Profile::Release => "release",
    })
}
