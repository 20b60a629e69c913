//! The call console: a small web page over `GET /calls` and `GET /calls/{callSid}`.
//!
//! - `GET /console`, `GET /console/calls/{callSid}`: the page (one HTML file; the script reads
//!   the path). Without a session they redirect to the login form.
//! - `GET /console/login`, `POST /console/login`: the form posts the API key once; the answer
//!   sets the session cookie ([`session`]) and redirects to the console. The key is never in a
//!   URL and never logged.
//! - `POST /console/logout`: clears the cookie; refused unless the request comes from the
//!   console's own origin (CSRF).
//! - `GET /console/assets/{file}`: the script and style sheet.
//!
//! HTML, CSS and JavaScript are files next to this module, embedded in the binary: no CDN, no
//! build step. Every response carries a strict Content-Security-Policy (scripts from this
//! origin only, no inline script or style), and the page draws everything with DOM calls
//! (`textContent`), so a transcript line can never become markup.

pub mod session;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use phone_core::CallSid;
use secrecy::ExposeSecret;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::AppState;
use session::SessionKey;

/// Where the console lives.
pub const BASE: &str = "/console";
/// The console's page for one call.
pub fn call_path(sid: &CallSid) -> String {
    format!("{BASE}/calls/{sid}")
}

/// The policy on every console response: only this origin's scripts, styles and fetches; no
/// inline script or style; no framing; forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

const INDEX_HTML: &str = include_str!("assets/index.html");
const LOGIN_HTML: &str = include_str!("assets/login.html");
const APP_JS: &str = include_str!("assets/app.js");
const CHART_JS: &str = include_str!("assets/chart.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// The router serving the console's pages, assets, login and logout.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route(BASE, get(page))
        .route("/console/calls/{call_sid}", get(call_page))
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", axum::routing::post(logout))
        .route("/console/assets/{file}", get(asset))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Adds the policy headers to every console response.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY,
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// The console page for a session, the login form otherwise.
fn console_or_login(signed_in: bool) -> Response {
    if signed_in {
        html(INDEX_HTML.to_owned())
    } else {
        Redirect::to("/console/login").into_response()
    }
}

async fn page(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let (parts, _) = request.into_parts();
    console_or_login(session::has_session(&parts, &state))
}

async fn call_page(
    State(state): State<AppState>,
    Path(call_sid): Path<String>,
    request: axum::extract::Request,
) -> Response {
    if CallSid::parse(&call_sid).is_err() {
        return (StatusCode::NOT_FOUND, "no such call").into_response();
    }
    let (parts, _) = request.into_parts();
    console_or_login(session::has_session(&parts, &state))
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    failed: Option<String>,
}

async fn login_page(Query(q): Query<LoginQuery>) -> Response {
    let message = if q.failed.is_some() {
        r#"<p class="error" role="alert">That key is not the API key.</p>"#
    } else {
        ""
    };
    html(LOGIN_HTML.replace("<!--error-->", message))
}

/// The login form's body. Its `Debug` hides the key, so nothing can log it by accident.
#[derive(Deserialize)]
struct LoginForm {
    api_key: String,
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    let (Some(expected), Some(key)) = (
        state.config.api_key.as_ref(),
        SessionKey::from_config(&state.config),
    ) else {
        tracing::warn!("console login refused: API_KEY is not configured");
        return Redirect::to("/console/login?failed").into_response();
    };
    let matches: bool = form
        .api_key
        .trim()
        .as_bytes()
        .ct_eq(expected.expose_secret().as_bytes())
        .into();
    if !matches {
        tracing::warn!("console login refused: wrong API key");
        return Redirect::to("/console/login?failed").into_response();
    }
    let value = key.issue(state.store.clock().now());
    let cookie = session::set_cookie(&value, session::secure_cookies(&state.config));
    tracing::info!("console login");
    ([(header::SET_COOKIE, cookie)], Redirect::to(BASE)).into_response()
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    let cookie = session::clear_cookie(session::secure_cookies(&state.config));
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to("/console/login"),
    )
        .into_response()
}

/// Whether a form post comes from a page of this origin. Browsers send `Sec-Fetch-Site` (and
/// `Origin` on every POST); either naming another site refuses the request. A client sending
/// neither is not a browser, so not a cross-site forgery.
fn same_origin(headers: &HeaderMap) -> bool {
    let get = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = get(header::HeaderName::from_static("sec-fetch-site")) {
        return site == "same-origin" || site == "none";
    }
    match get(header::ORIGIN) {
        None => true,
        Some(origin) => {
            let origin_host = origin.split_once("://").map(|(_, h)| h);
            origin_host.is_some() && origin_host == get(header::HOST)
        }
    }
}

async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "chart.js" => (CHART_JS, "text/javascript; charset=utf-8"),
        "style.css" => (STYLE_CSS, "text/css; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
