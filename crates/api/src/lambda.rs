//! Serving a router as a Lambda function, with the layers of `phone_http::layers` (request id,
//! tracing, panic to 500, request timeout, body limit): [`run`]. A function whose handlers may
//! leave work running after they have answered ([`AppState::background`], e.g. a late SMS
//! answer) uses [`run_with_background`].
//!
//! Lambda freezes the execution environment once the runtime has posted the response and every
//! extension has asked for its next event. An internal extension (registered by this process,
//! before the runtime starts) that asks for its next event only after the background work has
//! ended keeps the environment running for that work, while API Gateway already has the
//! response: the pattern of the Rust runtime's `extension-internal-flush` example. The work
//! still counts against the function's timeout, which must cover it.

use std::sync::Arc;

use axum::Router;
use lambda_extension::{Extension, LambdaEvent, NextEvent};
use tokio::sync::{Mutex, mpsc};
use tower::ServiceExt;

use crate::AppState;

/// Name the extension registers under (shown in Lambda's logs).
const EXTENSION_NAME: &str = "phone-agent-background";

/// Why the function stopped.
#[derive(Debug, thiserror::Error)]
#[error("lambda: {0}")]
pub struct LambdaError(String);

/// Runs `router`, with the layers, under the Lambda runtime. With webhook events on (sent to
/// the queue on background tasks), as [`run_with_background`], so that no send is frozen
/// half-way.
pub async fn run(router: Router, state: &AppState) -> Result<(), LambdaError> {
    if state.events.is_enabled() {
        return run_with_background(router, state).await;
    }
    let router = phone_http::layers::apply(router, state.config.request_timeout);
    lambda_http::run(router)
        .await
        .map_err(|e| LambdaError(format!("runtime: {e}")))
}

/// How long a function that is not an HTTP one ([`settle`]) waits for its background work.
pub const SETTLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Waits (at most [`SETTLE_LIMIT`]) for the background work of an invocation of a function
/// that answers an event rather than a request (the email processor): its webhook events'
/// sends. Called before the handler returns, since the environment is frozen after that.
pub async fn settle(state: &AppState) {
    if let Err(running) = state.background.idle_within(SETTLE_LIMIT).await {
        tracing::warn!(
            running,
            "background work still running when the invocation ends"
        );
    }
}

/// Runs `router`, with the layers, under the Lambda runtime, and holds each invocation open
/// (after its response has been sent) until `state.background` is idle.
pub async fn run_with_background(router: Router, state: &AppState) -> Result<(), LambdaError> {
    let router = phone_http::layers::apply(router, state.config.request_timeout);
    let background = state.background.clone();
    // One message per answered request, so the extension knows the invocation it is holding
    // has been answered before it waits for the work that answer left behind.
    let (answered, answers) = mpsc::unbounded_channel::<()>();
    let answers = Arc::new(Mutex::new(answers));
    let processor = lambda_extension::service_fn(move |event: LambdaEvent| {
        let answers = answers.clone();
        let background = background.clone();
        async move {
            // Internal extensions receive only INVOKE events.
            if let NextEvent::Invoke(_) = event.next {
                if answers.lock().await.recv().await.is_none() {
                    return Err::<(), lambda_extension::Error>("the handler has stopped".into());
                }
                background.idle().await;
            }
            Ok(())
        }
    });
    let extension = Extension::new()
        .with_extension_name(EXTENSION_NAME)
        .with_events(&["INVOKE"])
        .with_events_processor(processor)
        .register()
        .await
        .map_err(|e| LambdaError(format!("registering the extension: {e}")))?;
    let handler = lambda_http::service_fn(move |request: lambda_http::Request| {
        let router = router.clone();
        let answered = answered.clone();
        async move {
            let response = router.oneshot(request).await;
            // The receiver lives as long as the extension; if it is gone, nothing waits.
            let _ = answered.send(());
            response
        }
    });
    let run_handler = async {
        lambda_http::run(handler)
            .await
            .map_err(|e| LambdaError(format!("runtime: {e}")))
    };
    let run_extension = async {
        extension
            .run()
            .await
            .map_err(|e| LambdaError(format!("extension: {e}")))
    };
    tokio::try_join!(run_handler, run_extension)?;
    Ok(())
}
