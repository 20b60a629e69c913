//! A stream host on loopback with an embedded store and a strict Realtime server (the real API's
//! rules; see `phone_test_support::realtime_server`).

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use phone_core::AccessLevel;
use phone_core::ports::Calendar;
use phone_core::token::hash_stream_token;
use phone_core::tools::ToolPorts;
use phone_core::tools::clock_time::LocalZone;
use phone_core::{CallSession, CallSid, PhoneNumber, PriceTable, Store, SystemClock};
use phone_local::LocalRecords;
use phone_test_support::realtime_server::{Mode, RealtimeTestServer, Response, Status};
use phone_test_support::twilio_stream::{Signing, TwilioStream};
use secrecy::SecretString;
use stream_host::drain::{self, DrainController};
use stream_host::{HostState, StreamHostConfig};

mod slow_calendar;
#[allow(unused_imports)] // Used by some test files only.
pub use slow_calendar::SlowCalendar;

pub const AUTH_TOKEN: &str = "stream-test-auth-token";
pub const WAIT: Duration = Duration::from_secs(5);

pub struct Host {
    pub base: String,
    pub stream_url: String,
    pub store: Store,
    pub state: HostState,
    pub drain: DrainController,
    pub openai: RealtimeTestServer,
    /// The server task: it ends once a drain has run its course.
    pub serving: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub fn config(stream_url: &str, openai_url: &str) -> StreamHostConfig {
    StreamHostConfig {
        stream_url: stream_url.to_owned(),
        twilio_auth_token: SecretString::from(AUTH_TOKEN),
        twilio_webhook_shared_key: None,
        openai_url: openai_url.to_owned(),
        engine: phone_config::VoiceEngine::Realtime,
        live_url: phone_config::DEFAULT_LIVE_URL.into(),
        live_backend_model: phone_config::DEFAULT_TEXT_MODEL.into(),
        openai_api_key: Some(SecretString::from("sk-test-key")),
        model: phone_config::DEFAULT_REALTIME_MODEL.into(),
        reasoning_effort: phone_config::ReasoningEffort::default(),
        voice: "marin".into(),
        greeting: "Hello from the test line".into(),
        assistant_name: "Ava".into(),
        owner_name: Some("Sam".into()),
        instructions: "Test assistant.".into(),
        time_zone: "Europe/Paris".into(),
        semantic_vad: false,
        transcription_model: Some(phone_config::DEFAULT_TRANSCRIPTION_MODEL.into()),
        max_calls: 10,
        max_call: Duration::from_secs(60),
        max_cost_nano_usd: None,
        idle_timeout: Duration::from_secs(60),
        keypad: Default::default(),
        drain: Duration::from_secs(10),
        start_timeout: Duration::from_secs(5),
        openai_connect_timeout: Duration::from_secs(5),
        session_timeout: Duration::from_secs(3),
        reconnect_attempts: 3,
        max_frame_bytes: 64 * 1024,
        host_id: "test-host".into(),
        prices: PriceTable::default(),
        header_read_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(10),
    }
}

/// Starts a host; `tweak` adjusts the configuration.
pub async fn start_with(mode: Mode, tweak: impl FnOnce(&mut StreamHostConfig)) -> Host {
    start_full(mode, tweak, false, None, Reminders::default()).await
}

/// A host whose calls have the tools and go to GPT-Live at `live_url` (`VOICE_ENGINE=live`).
pub async fn start_live(live_url: &str) -> Host {
    let live_url = live_url.to_owned();
    start_full(
        Mode::Strict,
        move |c| {
            c.engine = phone_config::VoiceEngine::Live;
            c.live_url = live_url;
            c.model = phone_config::DEFAULT_LIVE_MODEL.into();
        },
        true,
        None,
        Reminders::default(),
    )
    .await
}

/// A host whose calls have the tools, on the embedded adapters.
pub async fn start_with_tools() -> Host {
    start_full(Mode::Strict, |_| {}, true, None, Reminders::default()).await
}

/// A host whose calls have the tools, with this calendar (e.g. Google's adapter on a loopback
/// Google server) and the embedded adapters for the rest.
pub async fn start_with_calendar(calendar: Arc<dyn Calendar>) -> Host {
    start_full(
        Mode::Strict,
        |_| {},
        true,
        Some(calendar),
        Reminders::default(),
    )
    .await
}

/// The store's clock and the tools' reminder alarm.
pub struct Reminders {
    pub clock: Arc<dyn phone_core::Clock>,
    pub alarm: Arc<dyn phone_core::ports::ReminderAlarm>,
}

impl Default for Reminders {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            alarm: Arc::new(phone_core::ports::NoAlarm),
        }
    }
}

/// A host whose calls have the tools, its store on `clock` and reminders set on `alarm`.
pub async fn start_with_reminders(
    clock: Arc<dyn phone_core::Clock>,
    alarm: Arc<dyn phone_core::ports::ReminderAlarm>,
) -> Host {
    start_full(Mode::Strict, |_| {}, true, None, Reminders { clock, alarm }).await
}

async fn start_full(
    mode: Mode,
    tweak: impl FnOnce(&mut StreamHostConfig),
    tools: bool,
    calendar: Option<Arc<dyn Calendar>>,
    reminders: Reminders,
) -> Host {
    let openai = RealtimeTestServer::start(mode).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stream_url = format!("ws://{addr}/voice/stream");
    let mut config = config(&stream_url, openai.url());
    tweak(&mut config);
    let store = Store::new(
        Arc::new(LocalRecords::in_memory()),
        reminders.clock,
        Default::default(),
    );
    let (drain, signal) = drain::channel();
    let ports = tools.then(|| ToolPorts {
        calendar: calendar
            .unwrap_or_else(|| Arc::new(phone_local::LocalCalendar::new(store.clone()))),
        messaging: Arc::new(phone_local::SmsOutbox::new(store.clone(), None)),
        mail: Arc::new(phone_local::MailOutbox::new(store.clone())),
        call_control: Arc::new(phone_local::LocalCallControl::default()),
        zone: LocalZone::new("Europe/Paris").unwrap(),
        transfer_number: None,
        owners: Default::default(),
        guest_quotas: Default::default(),
        events: Default::default(),
        reminder_alarm: reminders.alarm,
    });
    let state = HostState::with_tools(config, store.clone(), signal, ports);
    let serving = tokio::spawn(stream_host::serve(listener, state.clone()));
    Host {
        base: format!("http://{addr}"),
        stream_url,
        store,
        state,
        drain,
        openai,
        serving,
    }
}

pub async fn start() -> Host {
    start_with(Mode::Strict, |_| {}).await
}

pub fn sid(n: u8) -> String {
    format!("CA{n:032x}")
}

impl Host {
    /// Creates the call row as the voice webhook would and returns the stream token.
    pub async fn ring(&self, call_sid: &str) -> String {
        self.ring_as(call_sid, AccessLevel::Owner).await
    }

    /// Creates the call row as the voice webhook would for a caller it decided is `access`.
    pub async fn ring_as(&self, call_sid: &str, access: AccessLevel) -> String {
        self.ring_with(call_sid, |call| call.access = access).await
    }

    /// Creates the call row as the voice webhook would, `decide` setting what it decided.
    pub async fn ring_with(&self, call_sid: &str, decide: impl FnOnce(&mut CallSession)) -> String {
        let token = format!("token-for-{call_sid}");
        let now = time::OffsetDateTime::now_utc();
        let mut call = CallSession::new(
            CallSid::parse(call_sid).unwrap(),
            Some(PhoneNumber::parse("+14155550123").unwrap()),
            Some(PhoneNumber::parse("+14155550999").unwrap()),
            now,
        );
        // By default an owner call, proven (full attestation or the PIN); `decide` may make it a
        // guest's, unproven unless it says otherwise.
        call.access = AccessLevel::Owner;
        call.verified_caller = true;
        decide(&mut call);
        if call.access == AccessLevel::Guest {
            call.verified_caller = false;
        }
        self.ring_row(call, &token).await;
        token
    }

    /// Creates `call`'s row as the voice webhook would, with stream token `token`.
    pub async fn ring_row(&self, call: CallSession, token: &str) {
        let now = time::OffsetDateTime::now_utc();
        self.store
            .create_call(
                &call,
                &hash_stream_token(token),
                now + Duration::from_secs(120),
            )
            .await
            .unwrap();
    }

    /// Rings (as the owner), connects with a valid signature and sends `start`.
    pub async fn connect_call(&self, call_sid: &str) -> TwilioStream {
        self.connect_call_as(call_sid, AccessLevel::Owner).await
    }

    /// Creates `call`'s row, connects with a valid signature and sends `start`.
    pub async fn connect_row(&self, call: CallSession) -> TwilioStream {
        let call_sid = call.call_sid.to_string();
        let token = format!("token-for-{call_sid}");
        self.ring_row(call, &token).await;
        let mut twilio = TwilioStream::connect(&self.stream_url, Signing::Token(AUTH_TOKEN))
            .await
            .unwrap();
        twilio
            .start(&call_sid, &[("token", &token), ("caller", "+14155550123")])
            .await;
        twilio
    }

    /// Rings as `access`, connects with a valid signature and sends `start`.
    pub async fn connect_call_as(&self, call_sid: &str, access: AccessLevel) -> TwilioStream {
        self.connect_call_with(call_sid, |call| call.access = access)
            .await
    }

    /// Rings with what `decide` sets on the row, connects with a valid signature and sends
    /// `start`.
    pub async fn connect_call_with(
        &self,
        call_sid: &str,
        decide: impl FnOnce(&mut CallSession),
    ) -> TwilioStream {
        let token = self.ring_with(call_sid, decide).await;
        let mut twilio = TwilioStream::connect(&self.stream_url, Signing::Token(AUTH_TOKEN))
            .await
            .unwrap();
        twilio
            .start(call_sid, &[("token", &token), ("caller", "+14155550123")])
            .await;
        twilio
    }

    /// The greeting the bridge asks for once the session is ready, answered and completed
    /// silently (so the next response the test scripts is not refused for an active one).
    pub async fn greeting_done(&self) {
        self.openai
            .respond(Response::new().status(Status::Completed))
            .await;
    }

    /// The strict server refused nothing the bridge sent.
    pub async fn assert_no_refusals(&self) {
        let errors = self.openai.sent_of("error").await;
        assert!(
            errors.is_empty(),
            "the bridge broke an API rule: {errors:#?}"
        );
    }

    pub async fn wait_no_active_calls(&self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.state.active_calls() > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "a call task outlived its call"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn call_row(&self, call_sid: &str) -> CallSession {
        self.store
            .get_call(&CallSid::parse(call_sid).unwrap())
            .await
            .unwrap()
    }
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A `response.output_audio.delta` carrying `audio`.
pub fn delta(response: &str, item: &str, audio: &[u8]) -> serde_json::Value {
    serde_json::json!({"type": "response.output_audio.delta", "response_id": response,
        "item_id": item, "output_index": 0, "content_index": 0, "delta": b64(audio)})
}
