//! The vendor client's HTTP requests: the session info it fetches before opening its socket
//! (from "Anvil", docs/vendor-protocol.md §2), its live-config request and its analytics posts.
//!
//! These routes answer any origin (the client runs in the app's page, on another port), as
//! the vendor's do: they need a client token, not a cookie.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{raptor, MESSAGING_HOST};
use crate::state::{now_ms, Admission, Sandbox};

/// The client's connection ID header on the session-info request; it names the connect
/// attempt (the same ID then arrives on the socket).
const CONNECTION_ID_HEADER: &str = "x-tb-connectionid";
const TOKEN_HEADER: &str = "x-opentok-auth";

/// `GET /anvil.opentok.com/session/{sid}`: a one-element JSON array, the session info or an
/// error element. The client maps an error element's `code` (403 -> 1004, 404 -> 1005,
/// 500 -> 2001) and treats an empty array as a failed connect, which it retries twice and
/// then reports as 1006 (how the `failConnects` hook's 1006 reaches it).
pub async fn session_info(
    State(sb): State<Arc<Sandbox>>,
    Path(sid): Path<String>,
    headers: HeaderMap,
) -> Response {
    // One hop for the request, one for the answer, as every other message.
    let hop = Duration::from_millis(sb.latency_ms.load(Ordering::Relaxed));
    tokio::time::sleep(hop).await;
    let answer = answer(&sb, &sid, &headers).await;
    tokio::time::sleep(hop).await;
    (StatusCode::OK, Json(answer)).into_response()
}

async fn answer(sb: &Sandbox, sid: &str, headers: &HeaderMap) -> Value {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(token), Some(connection_id)) = (header(TOKEN_HEADER), header(CONNECTION_ID_HEADER))
    else {
        return error_element(400, "X-OPENTOK-AUTH and X-TB-CONNECTIONID are required");
    };
    if connection_id.is_empty() || connection_id.len() > 128 {
        return error_element(400, "X-TB-CONNECTIONID must be 1-128 characters");
    }
    match sb.admit(sid, token, connection_id) {
        Admission::Admit {
            delay_ms,
            migration,
        } => {
            if delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            }
            session_info_element(sb, sid, migration)
        }
        Admission::Refuse { code: 1006, .. } => json!([]),
        Admission::Refuse { code, why } => {
            let status = match code {
                1004 => 403,
                1005 => 404,
                _ => 500,
            };
            error_element(status, &why)
        }
    }
}

fn error_element(status: u16, message: &str) -> Value {
    json!([{"error": {"code": status, "errorMessage": {"message": message}}}])
}

/// The session info (the client's `SessionInfo` reads these fields): the session's media mode
/// (`p2p.preference` `enabled` for relayed; anything else, here `disabled`, is routed), no ICE
/// servers (everything shares the machine), no reconnection or renegotiation. A migrating
/// connection's messaging URL names its next socket generation: the vendor's client tells
/// its old socket from its new one by URL alone (the socket route ignores the query).
fn session_info_element(sb: &Sandbox, sid: &str, migration: Option<u32>) -> Value {
    let messaging_url = match migration {
        Some(generation) => format!("wss://{MESSAGING_HOST}/rumor?migration={generation}"),
        None => format!("wss://{MESSAGING_HOST}/rumor"),
    };
    let p2p = match sb.is_routed(sid) {
        Some(false) => "enabled",
        _ => "disabled",
    };
    json!([{
        "session_id": sid,
        "partner_id": sb.config.application_id,
        "create_dt": now_ms(),
        "messaging_url": messaging_url,
        "messaging_server_url": MESSAGING_HOST,
        "media_server_hostname": "",
        "symphony_address": raptor::SYMPHONY,
        "ice_servers": [],
        "properties": {
            "p2p": {"preference": {"value": p2p}},
            "reconnection": false,
            "renegotiation": false,
            "simulcast": false,
            "e2ee": false,
        },
    }])
}

/// `GET /config.opentok.com/project/{key}/config.json`: no live config (the client then uses
/// its built-in one).
pub async fn live_config() -> Json<Value> {
    Json(json!({}))
}

/// `POST /hlg.tokbox.com/prod/logging/...`: the client's analytics, accepted and dropped.
pub async fn logging() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// Open CORS for the vendor routes, preflight included (the client sends custom headers).
pub async fn cors(req: Request, next: Next) -> Response {
    let mut res = if req.method() == Method::OPTIONS {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(
                "content-type, x-opentok-auth, x-tb-version, x-tb-client-version, \
                 x-tb-connectionid, x-tb-token-auth",
            ),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        r
    } else {
        next.run(req).await
    };
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}
