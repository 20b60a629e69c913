//! The simulated party as the callee of an OUTBOUND call: a call the assistant placed through
//! the local dialer (`POST /calls`, a reminder) rings nowhere by itself; [`answer_outbound`]
//! does what Twilio does once the callee picks up.
//!
//! 1. Finds the call through the REST API: `GET /calls/OB…` (or, for the latest, the newest
//!    outbound attempt still `queued` in `GET /calls`), for its CallSid and numbers. Twilio
//!    knows these from its `Calls.json` request; the webhook URLs are the ones the dialer gives
//!    Twilio (`/voice/outbound…?outbound=OB…`).
//! 2. Posts the `initiated` and `ringing` status callbacks, requests the voice URL (signed over
//!    the full URL, query included) for its TwiML, and posts `in-progress` (answered).
//! 3. Opens the media stream and plays the callee ([`super::callee::Callee`]): when its opening
//!    has been said, posts the asynchronous AMD callback as Twilio's detection would decide
//!    with `MachineDetection=DetectMessageEnd`: a person (`human`) after their first words and
//!    Twilio's 1.2 s of silence (`MachineDetectionSpeechEndThreshold`), a machine
//!    (`machine_end_beep`) at the end of its greeting's beep, and a phone menu `unknown`
//!    (it neither answers like a person nor beeps).
//! 4. Ends as any simulated call does: the `<Connect action>` when the server ends the stream,
//!    then the `completed` status callback.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use phone_core::outbound::dialer::{AMD_PATH, STATUS_PATH, VOICE_PATH};
use serde_json::Value;
use tokio::task::JoinHandle;

use super::callee::Callee;
use super::leg::Leg;
use super::webhook::{new_sid, parse_twiml, post_signed};
use super::{CallError, CallEvent, CallPlan, CallSummary, Emitter};

/// Which outbound call to answer, on which server, as whom.
#[derive(Debug, Clone)]
pub struct OutboundTarget {
    /// Base URL requests are sent to.
    pub server: String,
    /// The server's `PUBLIC_BASE_URL` when it differs from `server` (signatures cover it).
    pub public_url: Option<String>,
    /// Twilio auth token shared with the server.
    pub auth_token: String,
    /// REST API key: the call is found, and followed, through `GET /calls`.
    pub api_key: String,
    /// The request's id (`OB…`); `None` answers the newest attempt still waiting.
    pub outbound_id: Option<String>,
    /// How long to wait for such a call to be placed (0: look once).
    pub wait: Duration,
    /// Who picks up.
    pub callee: Callee,
    /// `From` of the call when its row names no number (no `TWILIO_FROM_NUMBER`).
    pub assistant_number: String,
}

/// The attempt being answered.
struct Attempt {
    id: String,
    call_sid: String,
    from: String,
    to: String,
}

/// How often the REST API is read while waiting for the call to be placed.
const POLL: Duration = Duration::from_millis(250);
/// Twilio's default `MachineDetectionSpeechEndThreshold`: the silence after a person's words
/// before detection says `human`.
const HUMAN_VERDICT_AFTER: Duration = Duration::from_millis(1200);
/// Detection notices the end of a voicemail beep almost at once.
const BEEP_VERDICT_AFTER: Duration = Duration::from_millis(100);

/// Answers an outbound call as `target.callee` and plays `plan` (whose first utterance is the
/// callee's opening); what the call measured.
pub async fn answer_outbound(
    target: &OutboundTarget,
    plan: &CallPlan,
    events: Emitter,
    record_to: Option<PathBuf>,
) -> Result<CallSummary, CallError> {
    let http = reqwest::Client::new();
    let server = target.server.trim_end_matches('/').to_owned();
    let public = target
        .public_url
        .as_deref()
        .unwrap_or(&server)
        .trim_end_matches('/')
        .to_owned();
    let attempt = find(&http, &server, target).await?;
    let query = format!("?outbound={}", attempt.id);
    let form = outbound_form(&attempt);
    let mut leg = Leg {
        http,
        server,
        public,
        auth_token: target.auth_token.clone(),
        api_key: Some(target.api_key.clone()),
        call_sid: attempt.call_sid.clone(),
        account_sid: field(&form, "AccountSid"),
        form,
        status_path: format!("{STATUS_PATH}{query}"),
        webhook_ms: 0,
        sequence: Default::default(),
    };
    events.emit(CallEvent::Note(format!(
        "outbound call {} to {} (attempt {}): ringing the simulated {}",
        attempt.id, attempt.to, attempt.call_sid, target.callee
    )));
    leg.post_status("the initiated status callback", "initiated", &[])
        .await?;
    leg.post_status("the ringing status callback", "ringing", &[])
        .await?;

    // Picked up: Twilio requests the call's voice URL for its TwiML.
    let voice = format!("{VOICE_PATH}{query}");
    let mut answer = leg.form.clone();
    answer.retain(|(k, _)| k != "CallStatus");
    answer.push(("CallStatus".into(), "in-progress".into()));
    let started = Instant::now();
    let (status, body) = post_signed(
        &leg.http,
        &format!("{}{voice}", leg.server),
        &format!("{}{voice}", leg.public),
        &leg.auth_token,
        &answer,
    )
    .await?;
    if status != 200 {
        return Err(CallError::Rejected {
            step: "POST /voice/outbound",
            status,
            body,
        });
    }
    leg.webhook_ms = started.elapsed().as_millis() as u64;
    leg.form = answer;
    let stream = parse_twiml(&body)?;
    events.emit(CallEvent::Answered {
        call_sid: leg.call_sid.clone(),
        webhook: format!("POST {voice}"),
        webhook_ms: leg.webhook_ms,
        stream_url: stream.url.clone(),
        action: stream.action.clone(),
        parameters: stream.parameters.iter().map(|(k, _)| k.clone()).collect(),
    });
    leg.post_status("the in-progress status callback", "in-progress", &[])
        .await?;

    // The call's events pass through a watcher that posts the AMD verdict once the callee's
    // opening has been said.
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let inner = Emitter::new(tx);
    let amd = Amd {
        http: leg.http.clone(),
        send_to: format!("{}{AMD_PATH}{query}", leg.server),
        sign_for: format!("{}{AMD_PATH}{query}", leg.public),
        auth_token: leg.auth_token.clone(),
        form: leg.form.clone(),
        callee: target.callee,
        answered: Instant::now(),
    };
    let watcher = tokio::spawn(amd.watch(rx, events));
    let talked = leg.talk(&stream, plan, &inner, record_to).await;
    drop(inner);
    let amd_result = watcher
        .await
        .map_err(|e| CallError::Http(format!("AMD callback task: {e}")))?;
    let summary = talked?;
    amd_result?;
    Ok(summary)
}

/// The AMD callback Twilio would post for this callee.
struct Amd {
    http: reqwest::Client,
    send_to: String,
    sign_for: String,
    auth_token: String,
    form: Vec<(String, String)>,
    callee: Callee,
    answered: Instant,
}

impl Amd {
    /// What detection says about this callee, and how long after the opening's speech.
    fn verdict(&self) -> (&'static str, Duration) {
        match self.callee {
            Callee::Human => ("human", HUMAN_VERDICT_AFTER),
            Callee::Machine => ("machine_end_beep", BEEP_VERDICT_AFTER),
            Callee::Ivr => ("unknown", HUMAN_VERDICT_AFTER),
        }
    }

    /// Forwards every event to `out`; when the opening's speech ends, posts the verdict.
    async fn watch(
        self,
        mut rx: tokio::sync::mpsc::UnboundedReceiver<CallEvent>,
        out: Emitter,
    ) -> Result<(), CallError> {
        let mut posted: Option<JoinHandle<Result<(), CallError>>> = None;
        let this = std::sync::Arc::new(self);
        while let Some(event) = rx.recv().await {
            if posted.is_none() && event == (CallEvent::CallerDone { index: 0 }) {
                let this = this.clone();
                let out = out.clone();
                posted = Some(tokio::spawn(async move { this.post(&out).await }));
            }
            out.emit(event);
        }
        match posted {
            Some(task) => task
                .await
                .map_err(|e| CallError::Http(format!("AMD callback task: {e}")))?,
            None => Ok(()),
        }
    }

    async fn post(&self, out: &Emitter) -> Result<(), CallError> {
        let (answered_by, after) = self.verdict();
        tokio::time::sleep(after).await;
        let mut form = self.form.clone();
        form.retain(|(k, _)| k != "CallStatus");
        form.push(("AnsweredBy".into(), answered_by.into()));
        form.push((
            "MachineDetectionDuration".into(),
            self.answered.elapsed().as_millis().to_string(),
        ));
        let (status, body) = post_signed(
            &self.http,
            &self.send_to,
            &self.sign_for,
            &self.auth_token,
            &form,
        )
        .await?;
        out.emit(CallEvent::Note(format!(
            "answering machine detection: POST {AMD_PATH} AnsweredBy={answered_by} (signed) -> {status}"
        )));
        if !(200..300).contains(&status) {
            return Err(CallError::Rejected {
                step: "POST /voice/outbound/amd",
                status,
                body,
            });
        }
        Ok(())
    }
}

/// The attempt to answer: the request named, or the newest one waiting; looked for until
/// `target.wait` has passed.
async fn find(
    http: &reqwest::Client,
    server: &str,
    target: &OutboundTarget,
) -> Result<Attempt, CallError> {
    let deadline = Instant::now() + target.wait;
    loop {
        let id = match &target.outbound_id {
            Some(id) => Some(id.clone()),
            None => latest_waiting(http, server, &target.api_key).await?,
        };
        let why = match id {
            Some(id) => {
                let report = get(http, server, &target.api_key, &format!("/calls/{id}")).await?;
                match waiting_attempt(&report, &target.assistant_number) {
                    Ok(attempt) => return Ok(attempt),
                    Err(why) => why,
                }
            }
            None => "no outbound call is waiting to be answered".to_owned(),
        };
        if Instant::now() >= deadline {
            return Err(CallError::Protocol(why));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The newest outbound attempt still `queued` in `GET /calls`, by its request's id.
async fn latest_waiting(
    http: &reqwest::Client,
    server: &str,
    key: &str,
) -> Result<Option<String>, CallError> {
    let list = get(http, server, key, "/calls?limit=25").await?;
    Ok(list["calls"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["direction"] == "outbound" && c["status"] == "queued")
        .and_then(|c| c["outbound_id"].as_str())
        .map(str::to_owned))
}

/// The request's last attempt, if it is still waiting to be answered.
fn waiting_attempt(report: &Value, assistant_number: &str) -> Result<Attempt, String> {
    let id = report["id"].as_str().unwrap_or_default().to_owned();
    let last = report["calls"].as_array().and_then(|calls| calls.last());
    let Some(call) = last.filter(|c| c["status"] == "queued") else {
        return Err(format!(
            "outbound call {id} has no attempt waiting to be answered (status {}, outcome {})",
            report["status"], report["outcome"]
        ));
    };
    let text = |v: &Value| v.as_str().map(str::to_owned);
    Ok(Attempt {
        call_sid: text(&call["call_sid"]).ok_or("the attempt has no call_sid")?,
        from: text(&call["from"]).unwrap_or_else(|| assistant_number.to_owned()),
        to: text(&report["to"]).ok_or("the request has no `to`")?,
        id,
    })
}

/// `GET {server}{path}` with the API key, as JSON.
async fn get(
    http: &reqwest::Client,
    server: &str,
    key: &str,
    path: &str,
) -> Result<Value, CallError> {
    let url = format!("{server}{path}");
    let response = http
        .get(&url)
        .bearer_auth(key)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| CallError::Http(format!("GET {url}: {e}")))?;
    let status = response.status().as_u16();
    let body = response
        .text()
        .await
        .map_err(|e| CallError::Http(format!("reading GET {url}: {e}")))?;
    if status != 200 {
        return Err(CallError::Rejected {
            step: "GET /calls (finding the outbound call)",
            status,
            body,
        });
    }
    serde_json::from_str(&body).map_err(|e| CallError::Http(format!("GET {url}: {e}")))
}

/// The parameters Twilio sends on every request about an outbound-api call.
fn outbound_form(attempt: &Attempt) -> Vec<(String, String)> {
    let account_sid = new_sid("AC");
    [
        ("AccountSid", account_sid.as_str()),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", attempt.call_sid.as_str()),
        ("CallStatus", "queued"),
        ("Called", attempt.to.as_str()),
        ("Caller", attempt.from.as_str()),
        ("Direction", "outbound-api"),
        ("From", attempt.from.as_str()),
        ("To", attempt.to.as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn field(form: &[(String, String)], name: &str) -> String {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}
