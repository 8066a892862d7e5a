//! The vendor's REST dialect, as `@vonage/video` calls it with `videoHost` pointed here.
//! Every route checks the bearer JWT first; every error is `{"code", "message"}` JSON.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::auth::RestRefusal;
use crate::state::{now_ms, Refusal, Sandbox};

/// A refused REST call: status and a reason a person can act on.
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(json!({"code": self.0.as_u16(), "message": self.1})),
        )
            .into_response()
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        ApiError(
            StatusCode::from_u16(r.code as u16).unwrap_or(StatusCode::BAD_REQUEST),
            r.message,
        )
    }
}

type ApiResult = Result<Response, ApiError>;

fn authorize(sb: &Sandbox, headers: &HeaderMap) -> Result<(), ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    sb.verifier.check_rest(value).map_err(|r| match r {
        RestRefusal::Unauthenticated(why) => ApiError(StatusCode::UNAUTHORIZED, why),
        RestRefusal::NotServerCredential => ApiError(
            StatusCode::FORBIDDEN,
            "a client token (scope session.connect) is not a server credential: sign REST calls \
             with the application's private key (@vonage/auth)"
                .into(),
        ),
    })
}

fn check_project(sb: &Sandbox, app_id: &str) -> Result<(), ApiError> {
    if app_id == sb.config.application_id {
        Ok(())
    } else {
        Err(ApiError(
            StatusCode::FORBIDDEN,
            "the path's application ID is not this application's".into(),
        ))
    }
}

fn body(b: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    b.map_err(|r| {
        ApiError(
            r.status(),
            format!("request body refused: {}", r.body_text()),
        )
    })
}

/// `POST /session/create` (form body): answers `[{session_id, project_id, …}]`.
pub async fn create_session(
    State(sb): State<Arc<Sandbox>>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> ApiResult {
    authorize(&sb, &headers)?;
    let raw = body(raw)?;
    let form: BTreeMap<String, String> = serde_urlencoded::from_bytes(&raw)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("body is not a form: {e}")))?;
    let archive = form
        .get("archiveMode")
        .map(String::as_str)
        .unwrap_or("manual");
    let p2p = form
        .get("p2p.preference")
        .map(String::as_str)
        .unwrap_or("disabled");
    if !["manual", "always"].contains(&archive) {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "archiveMode must be manual or always".into(),
        ));
    }
    if !["enabled", "disabled"].contains(&p2p) {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "p2p.preference must be enabled or disabled".into(),
        ));
    }
    if archive == "always" && p2p == "enabled" {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "archiveMode always needs a routed session".into(),
        ));
    }
    let (session_id, _) = sb.create_session(json!(form))?;
    let answer = json!([{
        "session_id": session_id,
        "project_id": sb.config.application_id,
        "partner_id": sb.config.application_id,
        "create_dt": http_date(now_ms()),
        "media_server_url": "",
    }]);
    Ok((StatusCode::OK, Json(answer)).into_response())
}

/// `POST /v2/project/{appId}/session/{sid}/signal`.
pub async fn signal_session(
    State(sb): State<Arc<Sandbox>>,
    Path((app_id, sid)): Path<(String, String)>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> ApiResult {
    signal(&sb, &headers, &app_id, &sid, None, raw)
}

/// `POST /v2/project/{appId}/session/{sid}/connection/{cid}/signal`.
pub async fn signal_connection(
    State(sb): State<Arc<Sandbox>>,
    Path((app_id, sid, cid)): Path<(String, String, String)>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> ApiResult {
    signal(&sb, &headers, &app_id, &sid, Some(&cid), raw)
}

fn signal(
    sb: &Sandbox,
    headers: &HeaderMap,
    app_id: &str,
    sid: &str,
    to: Option<&str>,
    raw: Result<Bytes, BytesRejection>,
) -> ApiResult {
    authorize(sb, headers)?;
    check_project(sb, app_id)?;
    let raw = body(raw)?;
    let v: Value = serde_json::from_slice(&raw)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("body is not JSON: {e}")))?;
    let signal_type = match v.get("type") {
        None | Some(Value::Null) => "",
        Some(Value::String(t)) => t.as_str(),
        Some(_) => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                "type must be a string".into(),
            ))
        }
    };
    let Some(data) = v.get("data").and_then(Value::as_str) else {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "data must be a string".into(),
        ));
    };
    sb.signal(sid, None, to, signal_type, data)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /v2/project/{appId}/session/{sid}/connection/{cid}`.
pub async fn force_disconnect(
    State(sb): State<Arc<Sandbox>>,
    Path((app_id, sid, cid)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&sb, &headers)?;
    check_project(&sb, &app_id)?;
    sb.force_disconnect(&sid, &cid)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// An RFC 7231 date, as the vendor's `create_dt` looks.
fn http_date(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let (h, m, s) = ((secs % 86_400) / 3600, (secs % 3600) / 60, secs % 60);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MO: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        WD[days.rem_euclid(7) as usize],
        d,
        MO[(month - 1) as usize],
        year,
        h,
        m,
        s
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn http_dates() {
        assert_eq!(super::http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            super::http_date(1_700_000_000_000),
            "Tue, 14 Nov 2023 22:13:20 GMT"
        );
    }
}
