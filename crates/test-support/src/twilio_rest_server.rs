//! Twilio's REST `Messages.json` on loopback, speaking its wire format: it records every SMS
//! posted (the form fields) and answers with a queued message resource, so a test running a
//! function binary can count what it texted.

use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};

use crate::loopback::LoopbackServer;

type Posted = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// The running server; stops when dropped.
pub struct TwilioRestServer {
    server: LoopbackServer,
    posted: Posted,
}

async fn create(
    State(posted): State<Posted>,
    Path(account): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> (StatusCode, axum::Json<Value>) {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut all = posted.lock().unwrap_or_else(|p| p.into_inner());
    let sid = format!("SM{:032x}", all.len() + 1);
    let body = json!({"sid": sid, "account_sid": account, "to": field("To"), "from": field("From"),
        "body": field("Body"), "status": "queued", "direction": "outbound-api", "num_segments": "1",
        "date_created": "Tue, 24 Nov 2026 10:00:00 +0000", "error_code": null});
    all.push(form);
    (StatusCode::CREATED, axum::Json(body))
}

impl TwilioRestServer {
    /// Starts the server.
    pub async fn start() -> Self {
        let posted = Posted::default();
        let app = axum::Router::new()
            .route("/2010-04-01/Accounts/{account}/Messages.json", post(create))
            .with_state(posted.clone());
        Self {
            server: LoopbackServer::serve(app).await.expect("bind loopback"),
            posted,
        }
    }

    /// `TWILIO_API_BASE_URL`.
    pub fn base_url(&self) -> &str {
        self.server.base_url()
    }

    /// The form of every SMS posted, in order.
    pub fn messages(&self) -> Vec<Vec<(String, String)>> {
        self.posted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
