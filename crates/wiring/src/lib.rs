//! The composition root: every adapter built from the configuration, once per process (per
//! Lambda cold start). The HTTP crate (`phone-api`), the stream host and `phone-agent` all
//! build their adapters here, so none of them depends on another for it.
//!
//! - configuration: [`load_config`]; the store: [`open_records`];
//! - the tools' adapters: [`tool_ports`]; the text agent's model: [`chat_model`];
//! - the Google consent flow and where it keeps the refresh token: [`google_auth`],
//!   [`token_sink`].
//!
//! Locally the environment is the whole configuration and the store is the embedded one unless
//! `TABLE_NAME` is set. In AWS, `CONFIG_SECRET_ID` names a Secrets Manager secret whose JSON
//! overlays the environment; it is read once per cold start.

use std::collections::BTreeMap;
use std::sync::Arc;

use phone_analysis::{AnalysisSpec, Analyst, PostCallAnalysis};
use phone_config::{Config, ConfigError, GoogleConfig, StoreChoice, keys, merge_sources};
use phone_core::events::Events;
use phone_core::ports::{Calendar, CallControl, ChatModel, Mail, Messaging, ReminderAlarm};
use phone_core::store::Records;
use phone_core::tools::ToolPorts;
use phone_core::tools::clock_time::LocalZone;
use phone_core::{Store, StoreError};
use phone_google::{ConsentConfig, StateSigner};
use phone_webhooks::{Deliverer, RetrySchedule, WebhookOutbox, WebhookSecret};
use secrecy::{ExposeSecret, SecretString};

pub mod token_sink;

use crate::token_sink::{EnvFileSink, RefreshTokenSink, SecretsManagerSink};

/// Why the process could not start.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// Configuration is missing or malformed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The configuration secret could not be read.
    #[error("reading the configuration secret: {0}")]
    Secret(String),
    /// An adapter could not be built.
    #[error("setting up an adapter: {0}")]
    Adapter(String),
    /// The store could not be opened.
    #[error("opening the store: {0}")]
    Store(#[from] StoreError),
}

/// Reads the configuration: the environment, overlaid by the `CONFIG_SECRET_ID` secret if set.
pub async fn load_config() -> Result<Config, BootstrapError> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let map = match env
        .get(keys::CONFIG_SECRET_ID)
        .filter(|v| !v.trim().is_empty())
    {
        Some(secret_id) => {
            let sdk = phone_aws::sdk_config(None).await;
            let client = aws_sdk_secretsmanager::Client::new(&sdk);
            let started = std::time::Instant::now();
            let secret = phone_aws::secrets::load_secret_map_cached(&client, secret_id)
                .await
                .map_err(|e| BootstrapError::Secret(e.to_string()))?;
            // The network wait of a cold start; the cold-start benchmark reads it from here.
            let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
            tracing::info!(
                keys = secret.len(),
                elapsed_ms,
                "configuration secret loaded"
            );
            merge_sources(env, secret)
        }
        None => env,
    };
    Ok(Config::from_map(&map)?)
}

/// Opens the configured store: DynamoDB when a table is named, else the embedded one.
pub async fn open_records(config: &Config) -> Result<Arc<dyn Records>, BootstrapError> {
    let records: Arc<dyn Records> = match &config.store {
        StoreChoice::DynamoDb { table, endpoint } => {
            let sdk = phone_aws::sdk_config(endpoint.as_deref()).await;
            let client = aws_sdk_dynamodb::Client::new(&sdk);
            Arc::new(phone_aws::DynamoRecords::new(client, table.clone()))
        }
        StoreChoice::Local { path: Some(path) } => Arc::new(phone_local::LocalRecords::open(path)?),
        StoreChoice::Local { path: None } => Arc::new(phone_local::LocalRecords::in_memory()),
    };
    tracing::info!(store = %records.describe(), "store ready");
    Ok(records)
}

/// The adapters the tools act through. With no cloud configuration they are the embedded
/// ones: a calendar kept in the store, SMS and mail outboxes, and local call control (which
/// ends a call by closing its media stream). `TWILIO_ACCOUNT_SID` switches SMS and call control
/// to Twilio's REST API; the Google client id, secret and refresh token switch the calendar to
/// Google Calendar and mail to Gmail. The log names the adapters chosen.
pub fn tool_ports(config: &Config, store: &Store) -> Result<ToolPorts, BootstrapError> {
    let zone = LocalZone::new(&config.assistant.time_zone).map_err(|e| {
        BootstrapError::Config(ConfigError::Invalid {
            key: keys::TIME_ZONE,
            reason: e.0,
        })
    })?;
    let (messaging, call_control): (Arc<dyn Messaging>, Arc<dyn CallControl>) =
        match twilio_rest(config)? {
            Some(rest) => {
                let rest = Arc::new(rest);
                (rest.clone(), rest)
            }
            None => (
                Arc::new(phone_local::SmsOutbox::new(
                    store.clone(),
                    config.twilio.from_number.clone(),
                )),
                Arc::new(phone_local::LocalCallControl::default()),
            ),
        };
    let (calendar, mail): (Arc<dyn Calendar>, Arc<dyn Mail>) = match google(config, &zone)? {
        Some(g) => (g.calendar, g.mail),
        None => (
            Arc::new(phone_local::LocalCalendar::new(store.clone())),
            Arc::new(phone_local::MailOutbox::new(store.clone())),
        ),
    };
    let ports = ToolPorts {
        calendar,
        messaging,
        mail,
        call_control,
        zone,
        transfer_number: config.twilio.transfer_number.clone(),
        owners: config.owners(),
        guest_quotas: config.guest_quotas,
        events: phone_core::events::Events::none(),
        reminder_alarm: reminder_alarm(config),
    };
    tracing::info!(
        calendar = %ports.calendar.describe(),
        sms = %ports.messaging.describe(),
        mail = %ports.mail.describe(),
        call_control = %ports.call_control.describe(),
        reminders = %ports.reminder_alarm.describe(),
        "tool adapters ready"
    );
    Ok(ports)
}

/// The outbound call dialer: Twilio's `Calls.json` when `TWILIO_ACCOUNT_SID` is set, else the
/// local dialer (calls a simulated callee answers). `None` without `PUBLIC_BASE_URL`, which the
/// callbacks need: `POST /calls` then answers 503.
pub fn dialer(
    config: &Config,
    store: &Store,
) -> Result<Option<phone_core::outbound::dialer::Dialer>, BootstrapError> {
    use phone_core::outbound::dialer::{Dialer, DialerSettings};
    let Some(base) = config.public_base_url.clone() else {
        return Ok(None);
    };
    let calls: Arc<dyn phone_core::ports::OutboundCalls> = match twilio_rest(config)? {
        Some(rest) => Arc::new(rest),
        None => Arc::new(phone_local::LocalDialer::default()),
    };
    let settings = DialerSettings {
        policy: config.outbound.policy,
        public_base_url: base,
        from: config.twilio.from_number.clone(),
        default_zone: config.assistant.time_zone.clone(),
        ring_timeout_secs: config.outbound.ring_timeout_secs,
    };
    let dialer = Dialer::new(store.clone(), calls, settings);
    tracing::info!(dialer = %dialer.describe(), "outbound calls ready");
    Ok(Some(dialer))
}

/// Reminders' alarms: EventBridge Scheduler when `REMINDER_SCHEDULE_GROUP` (and its target
/// and role) are set; otherwise none, and reminders are refused, until `phone-agent serve`
/// replaces it with its local scheduler's alarm.
fn reminder_alarm(config: &Config) -> Arc<dyn ReminderAlarm> {
    match &config.reminder_scheduler {
        Some(s) => Arc::new(phone_aws::LazyEventBridgeAlarm::new(
            &s.group,
            &s.target_arn,
            &s.role_arn,
            s.endpoint.as_deref(),
        )),
        None => Arc::new(phone_core::ports::NoAlarm),
    }
}

/// The reminder firer of a process: the tools' calendar and alarm, texts over the tools'
/// messaging, and calls through `dialer` (the process's outbound dialer, [`dialer`]). Without
/// one (no `PUBLIC_BASE_URL`) a call reminder fails as not configured, never as delivered.
pub fn reminder_firer(
    ports: &ToolPorts,
    store: &Store,
    dialer: Option<phone_core::outbound::dialer::Dialer>,
) -> phone_core::reminders::ReminderFirer {
    phone_core::reminders::ReminderFirer {
        store: store.clone(),
        calendar: ports.calendar.clone(),
        delivery: Arc::new(phone_core::reminders::ChannelDelivery::new(
            ports.messaging.clone(),
            dialer,
        )),
        alarm: ports.reminder_alarm.clone(),
        zone: ports.zone.clone(),
    }
}

/// The Twilio REST adapter when `TWILIO_ACCOUNT_SID` is set, authenticated with an API key
/// if one is configured, else with the auth token.
fn twilio_rest(config: &Config) -> Result<Option<phone_twilio::rest::TwilioRest>, BootstrapError> {
    let Some(account) = &config.twilio.account_sid else {
        return Ok(None);
    };
    let (user, password) = match (&config.twilio.api_key_sid, &config.twilio.api_key_secret) {
        (Some(sid), Some(secret)) => (sid.clone(), secret.clone()),
        _ => (account.clone(), config.require_twilio_auth_token()?.clone()),
    };
    let rest = phone_twilio::rest::TwilioRest::new(
        &config.twilio.api_base_url,
        account,
        &user,
        password,
        config.twilio.from_number.clone(),
    )
    .map_err(|e| BootstrapError::Adapter(e.to_string()))?;
    Ok(Some(rest))
}

/// The Google adapters (Calendar and Gmail, sharing one token source so one refresh serves
/// both) when the Google client id, secret and refresh token are all configured.
fn google(config: &Config, zone: &LocalZone) -> Result<Option<GoogleAdapters>, BootstrapError> {
    let g = &config.google;
    let (Some(id), Some(secret), Some(refresh)) =
        (&g.client_id, &g.client_secret, &g.refresh_token)
    else {
        return Ok(None);
    };
    let http = google_http().map_err(BootstrapError::Adapter)?;
    let tokens = Arc::new(phone_google::TokenSource::new(
        http.clone(),
        google_credentials(g, id.clone(), secret.clone()),
        refresh.clone(),
    ));
    let gmail_base = g
        .gmail_base_url
        .clone()
        .unwrap_or_else(|| phone_google::gmail::DEFAULT_BASE_URL.into());
    let calendar_base = g
        .calendar_base_url
        .clone()
        .unwrap_or_else(|| phone_google::calendar::DEFAULT_BASE_URL.into());
    let calendar = phone_google::GoogleCalendar::new(
        &calendar_base,
        &g.calendar_id,
        tokens.clone(),
        zone.clone(),
    )
    .map_err(|e| BootstrapError::Adapter(e.to_string()))?;
    Ok(Some(GoogleAdapters {
        calendar: Arc::new(calendar),
        mail: Arc::new(phone_google::Gmail::new(http, &gmail_base, tokens)),
    }))
}

/// The OAuth client as configured, with Google's token endpoint unless another is set.
fn google_credentials(
    g: &GoogleConfig,
    client_id: String,
    client_secret: SecretString,
) -> phone_google::ClientCredentials {
    phone_google::ClientCredentials {
        client_id,
        client_secret,
        token_url: g
            .token_url
            .clone()
            .unwrap_or_else(|| phone_google::oauth::DEFAULT_TOKEN_URL.into()),
    }
}

/// The HTTP client for Google's token endpoint and Gmail: every request has a 10 s limit.
fn google_http() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// What [`google`] builds.
struct GoogleAdapters {
    calendar: Arc<dyn Calendar>,
    mail: Arc<dyn Mail>,
}

/// How long a consent flow may take from redirect to callback.
pub const STATE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(600);

/// Everything the `/auth/google` routes need; built by [`google_auth`].
pub struct GoogleAuth {
    /// Client credentials, token endpoint and consent screen.
    pub consent: ConsentConfig,
    /// Signs and checks `state`.
    pub signer: StateSigner,
    /// `{PUBLIC_BASE_URL}/auth/google/callback`, registered with the OAuth client.
    pub redirect_uri: String,
    /// For the code exchange (it has a timeout).
    pub http: reqwest::Client,
    /// Where the refresh token goes.
    pub sink: Arc<dyn RefreshTokenSink>,
}

impl std::fmt::Debug for GoogleAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleAuth")
            .field("redirect_uri", &self.redirect_uri)
            .field("sink", &self.sink.describe())
            .finish_non_exhaustive()
    }
}

/// The Google consent flow of `/auth/google`, storing the refresh token in the configuration
/// secret when `CONFIG_SECRET_ID` is set (AWS), else in the `LOCAL_ENV_FILE` dotenv file.
/// The error names what is missing; the routes answer 503 with it.
pub async fn google_auth(config: &Config) -> Result<GoogleAuth, String> {
    let env = |key: &str| std::env::var(key).ok().filter(|v| !v.trim().is_empty());
    let sink: Arc<dyn RefreshTokenSink> = match env(keys::CONFIG_SECRET_ID) {
        Some(secret_id) => {
            let sdk = phone_aws::sdk_config(None).await;
            Arc::new(SecretsManagerSink::new(
                aws_sdk_secretsmanager::Client::new(&sdk),
                &secret_id,
            ))
        }
        None => Arc::new(EnvFileSink::new(
            env(keys::LOCAL_ENV_FILE).unwrap_or_else(|| ".env".into()),
        )),
    };
    google_auth_with_sink(config, sink)
}

/// [`google_auth`] with a given sink.
pub fn google_auth_with_sink(
    config: &Config,
    sink: Arc<dyn RefreshTokenSink>,
) -> Result<GoogleAuth, String> {
    let g = &config.google;
    let missing = |key: &str| format!("{key} is not set");
    let client_id = g
        .client_id
        .clone()
        .ok_or_else(|| missing(keys::GOOGLE_CLIENT_ID))?;
    let client_secret = g
        .client_secret
        .clone()
        .ok_or_else(|| missing(keys::GOOGLE_CLIENT_SECRET))?;
    let state_key = g
        .state_secret
        .clone()
        .ok_or_else(|| missing(keys::OAUTH_STATE_SECRET))?;
    let base = config
        .public_base_url
        .as_deref()
        .ok_or_else(|| missing(keys::PUBLIC_BASE_URL))?;
    Ok(GoogleAuth {
        consent: ConsentConfig {
            creds: google_credentials(g, client_id, client_secret),
            auth_url: g
                .auth_url
                .clone()
                .unwrap_or_else(|| phone_google::oauth::DEFAULT_AUTH_URL.into()),
        },
        signer: StateSigner::new(state_key, STATE_LIFETIME),
        redirect_uri: format!("{}/auth/google/callback", base.trim_end_matches('/')),
        http: google_http()?,
        sink,
    })
}

/// The text agent's model: OpenAI Chat Completions when `OPENAI_API_KEY` is set.
pub fn chat_model(config: &Config) -> Result<Option<Arc<dyn ChatModel>>, BootstrapError> {
    let Some(key) = config.openai.api_key.clone() else {
        return Ok(None);
    };
    let chat =
        phone_openai::OpenAiChat::new(&config.openai.api_base_url, key, &config.openai.text_model)
            .map_err(|e| BootstrapError::Adapter(e.to_string()))?;
    Ok(Some(Arc::new(chat)))
}

/// The post-call pieces: the event sink (a webhook outbox delivering from this process when
/// `WEBHOOK_URLS` is set, else none) and the analysis (the text model with `OPENAI_API_KEY`,
/// else the offline stand-in). The outbox's task runs on the current runtime, so this is for
/// long-running processes (`phone-agent serve`, the stream host).
pub fn post_call(
    config: &Config,
    store: &Store,
) -> Result<(Events, Option<WebhookOutbox>, PostCallAnalysis), BootstrapError> {
    let pc = &config.post_call;
    let outbox = webhook_deliverer(config, store)?.map(WebhookOutbox::start);
    let events = match &outbox {
        Some(outbox) => Events::new(Arc::new(outbox.clone())),
        None => Events::none(),
    };
    let post_call = PostCallAnalysis::new(
        analysis_spec(config)?,
        analyst(config)?,
        store.clone(),
        events.clone(),
    );
    tracing::info!(
        webhooks = pc.webhook_urls.len(),
        analysis = %post_call.describe(),
        "post-call ready"
    );
    Ok((events, outbox, post_call))
}

/// The deliverer of signed webhooks when `WEBHOOK_URLS` is set (with its secret): retrying
/// per the default schedule when it runs in-process, or one attempt per receive in the queue's
/// delivery function ([`Deliverer::attempt`]).
pub fn webhook_deliverer(
    config: &Config,
    store: &Store,
) -> Result<Option<Deliverer>, BootstrapError> {
    let pc = &config.post_call;
    let Some(secret) = pc
        .webhook_secret
        .as_ref()
        .filter(|_| !pc.webhook_urls.is_empty())
    else {
        return Ok(None);
    };
    let secret = WebhookSecret::parse(secret.expose_secret()).map_err(|e| {
        BootstrapError::Config(ConfigError::Invalid {
            key: keys::WEBHOOK_SECRET,
            reason: e.to_string(),
        })
    })?;
    Deliverer::new(
        pc.webhook_urls.clone(),
        secret,
        store.clone(),
        RetrySchedule::default(),
    )
    .map(Some)
    .map_err(|e| BootstrapError::Adapter(e.to_string()))
}

/// A Lambda function's event sink: events sent to the `WEBHOOK_QUEUE_URL` queue, each send run
/// by `spawn` (work the invocation waits for after answering), when `WEBHOOK_URLS` and the
/// queue are set; else none (a Lambda keeps no outbox: its environment is frozen after it
/// answers).
pub async fn queued_events(config: &Config, spawn: phone_aws::Spawn) -> Events {
    let pc = &config.post_call;
    match &pc.webhook_queue {
        Some(queue) if !pc.webhook_urls.is_empty() => {
            let queue =
                phone_aws::WebhookQueue::connect(&queue.url, queue.endpoint.as_deref()).await;
            tracing::info!(queue = queue.url(), "webhook events go to the queue");
            Events::new(Arc::new(phone_aws::SqsEventSink::new(queue, spawn)))
        }
        _ => Events::none(),
    }
}

/// The operator's analysis schema and goal, checked (a schema outside the strict subset stops
/// start-up with the reason).
pub fn analysis_spec(config: &Config) -> Result<AnalysisSpec, BootstrapError> {
    AnalysisSpec::new(
        config.post_call.analysis_schema.clone(),
        config.post_call.analysis_goal.clone(),
    )
    .map_err(|e| {
        BootstrapError::Config(ConfigError::Invalid {
            key: keys::ANALYSIS_SCHEMA,
            reason: e.to_string(),
        })
    })
}

/// The text model with structured output when `OPENAI_API_KEY` is set, else (or when the
/// offline demo asks for it) the stand-in.
pub fn analyst(config: &Config) -> Result<Analyst, BootstrapError> {
    let Some(key) = config.openai.api_key.clone() else {
        return Ok(Analyst::StandIn);
    };
    if config.post_call.analysis_stand_in {
        return Ok(Analyst::StandIn);
    }
    let chat =
        phone_openai::OpenAiChat::new(&config.openai.api_base_url, key, &config.openai.text_model)
            .map_err(|e| BootstrapError::Adapter(e.to_string()))?;
    Ok(Analyst::Model(Arc::new(chat)))
}
