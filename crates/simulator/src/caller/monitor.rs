//! Follows a call from the server's side through `GET /calls/{sid}`: new transcript turns and
//! tool calls become live log events, and the final report (stats, usage, cost) is read once
//! the stream host has written the call's outcome.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{CallEvent, Emitter};

/// How often the call is read while it is live.
const POLL: Duration = Duration::from_millis(400);
/// How long to wait after hang-up for the outcome to be written.
const SETTLE: Duration = Duration::from_secs(6);

/// A running poller.
pub(super) struct Monitor {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Option<Value>>,
}

struct Poller {
    http: reqwest::Client,
    url: String,
    key: String,
    events: Emitter,
    turns_seen: usize,
    tools_seen: usize,
}

impl Monitor {
    /// Starts polling `GET {server}/calls/{call_sid}`.
    pub(super) fn start(
        http: reqwest::Client,
        server: &str,
        key: &str,
        call_sid: &str,
        events: Emitter,
    ) -> Self {
        let poller = Poller {
            http,
            url: format!("{server}/calls/{call_sid}"),
            key: key.to_owned(),
            events,
            turns_seen: 0,
            tools_seen: 0,
        };
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(poller.run(stopped));
        Self { stop, task }
    }

    /// Stops live polling and returns the final report, once the call's outcome is stored
    /// (or the last one read if it never is).
    pub(super) async fn finish(self) -> Option<Value> {
        let _ = self.stop.send(());
        self.task.await.ok().flatten()
    }
}

impl Poller {
    async fn fetch(&self) -> Option<Value> {
        let response = self
            .http
            .get(&self.url)
            .bearer_auth(&self.key)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json().await.ok()
    }

    fn report_new(&mut self, report: &Value) {
        let turns = report["transcript"].as_array().cloned().unwrap_or_default();
        for turn in turns.iter().skip(self.turns_seen) {
            self.events.emit(CallEvent::Turn {
                role: turn["role"].as_str().unwrap_or("?").to_owned(),
                text: turn["text"].as_str().unwrap_or("").to_owned(),
                interrupted: turn["interrupted"].as_bool().unwrap_or(false),
            });
        }
        self.turns_seen = self.turns_seen.max(turns.len());
        let tools = report["tool_calls"].as_array().cloned().unwrap_or_default();
        for tool in tools.iter().skip(self.tools_seen) {
            self.events.emit(CallEvent::ToolCall {
                name: tool["name"].as_str().unwrap_or("?").to_owned(),
                arguments: tool["arguments"].clone(),
                result: tool["result"].clone(),
                is_error: tool["is_error"].as_bool().unwrap_or(false),
            });
        }
        self.tools_seen = self.tools_seen.max(tools.len());
    }

    async fn run(mut self, mut stopped: oneshot::Receiver<()>) -> Option<Value> {
        let mut last = None;
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = tokio::time::sleep(POLL) => {
                    if let Some(report) = self.fetch().await {
                        self.report_new(&report);
                        last = Some(report);
                    }
                }
            }
        }
        let deadline = tokio::time::Instant::now() + SETTLE;
        while tokio::time::Instant::now() < deadline {
            if let Some(report) = self.fetch().await {
                self.report_new(&report);
                let done = !report["ended_at"].is_null();
                last = Some(report);
                if done {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        last
    }
}
