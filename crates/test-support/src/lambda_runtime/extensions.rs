//! The Extensions API side of the emulator (`/2020-01-01/extension/…`), enough for internal
//! extensions: registration, `INVOKE` events, and Lambda's rule that an invocation is over
//! only when the runtime and every extension have asked for their next event. Until then the
//! emulator hands the runtime no new event, as Lambda does, and [`Extensions::settled`] tells a
//! test when work done after the response has finished.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::Runtime;

#[derive(Default)]
struct Registered {
    /// How many times it asked for its next event.
    nexts: u64,
    /// `INVOKE` events not yet fetched.
    events: Vec<Value>,
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<String, Registered>,
    /// Events handed to the runtime so far.
    handed: u64,
}

/// Registered extensions and their progress.
#[derive(Default)]
pub(super) struct Extensions {
    inner: Mutex<Inner>,
    changed: Notify,
}

impl Extensions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `ready` holds, re-checking whenever an extension moves.
    async fn wait(&self, ready: impl Fn(&Inner) -> bool) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if ready(&self.lock()) {
                return;
            }
            changed.await;
        }
    }

    /// Every extension has asked for its next event after each invocation handed so far.
    fn all_caught_up(inner: &Inner) -> bool {
        inner.by_id.values().all(|r| r.nexts > inner.handed)
    }

    /// Before the runtime gets its next event: waits for the extensions to finish the previous
    /// invocation.
    pub(super) async fn before_invoke(&self) {
        self.wait(Self::all_caught_up).await;
    }

    /// The runtime got an event: every extension gets its `INVOKE`.
    pub(super) fn invoked(&self, request_id: &str, deadline_ms: u128, function_arn: &str) {
        let mut inner = self.lock();
        inner.handed += 1;
        let event = json!({"eventType": "INVOKE", "deadlineMs": deadline_ms as u64,
            "requestId": request_id, "invokedFunctionArn": function_arn,
            "tracing": {"type": "X-Amzn-Trace-Id", "value": "Root=1-00000000-000000000000000000000000"}});
        for registered in inner.by_id.values_mut() {
            registered.events.push(event.clone());
        }
        drop(inner);
        self.changed.notify_waiters();
    }

    /// Resolves once every invocation handed so far is over for every extension.
    pub(super) async fn settled(&self) {
        self.wait(Self::all_caught_up).await;
    }

    /// How many extensions registered.
    pub(super) fn count(&self) -> usize {
        self.lock().by_id.len()
    }
}

/// `POST /2020-01-01/extension/register`.
pub(super) async fn register(State(runtime): State<Arc<Runtime>>, headers: HeaderMap) -> Response {
    let Some(name) = headers
        .get("lambda-extension-name")
        .and_then(|v| v.to_str().ok())
    else {
        return (StatusCode::BAD_REQUEST, "missing Lambda-Extension-Name").into_response();
    };
    let id = {
        let mut inner = runtime.extensions.lock();
        if inner.handed > 0 {
            // Lambda accepts registrations during init only.
            return StatusCode::FORBIDDEN.into_response();
        }
        let id = format!("{name}-{}", inner.by_id.len() + 1);
        inner.by_id.insert(id.clone(), Registered::default());
        id
    };
    let function_name = runtime
        .function_arn
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    (
        [("lambda-extension-identifier", id)],
        axum::Json(
            json!({"functionName": function_name, "functionVersion": "$LATEST",
            "handler": "bootstrap", "accountId": "123456789012"}),
        ),
    )
        .into_response()
}

/// `GET /2020-01-01/extension/event/next`: counts the request, then long-polls for an event.
pub(super) async fn next(State(runtime): State<Arc<Runtime>>, headers: HeaderMap) -> Response {
    let Some(id) = headers
        .get("lambda-extension-identifier")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let extensions = &runtime.extensions;
    match extensions.lock().by_id.get_mut(&id) {
        Some(registered) => registered.nexts += 1,
        None => return StatusCode::FORBIDDEN.into_response(),
    }
    extensions.changed.notify_waiters();
    extensions
        .wait(|inner| inner.by_id.get(&id).is_some_and(|r| !r.events.is_empty()))
        .await;
    let event = extensions
        .lock()
        .by_id
        .get_mut(&id)
        .map(|r| r.events.remove(0))
        .unwrap_or(Value::Null);
    axum::Json(event).into_response()
}

/// `POST /2020-01-01/extension/init/error` and `…/exit/error`: an extension failed, which
/// fails the function as an init error would.
pub(super) async fn failed(State(runtime): State<Arc<Runtime>>, headers: HeaderMap) -> StatusCode {
    let kind = headers
        .get("lambda-extension-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("Extension.Unknown")
        .to_owned();
    *runtime.init_error.lock().unwrap_or_else(|e| e.into_inner()) =
        Some(json!({"errorType": kind, "source": "extension"}));
    StatusCode::ACCEPTED
}
