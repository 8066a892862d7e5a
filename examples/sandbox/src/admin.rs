//! Sandbox-only admin API: inspection, rotation and test hooks. No auth (the sandbox binds
//! 127.0.0.1), CORS open so a demo page on another local port may call it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::hooks::HooksPatch;
use crate::rest::ApiError;
use crate::state::Sandbox;

type ApiResult = Result<Response, ApiError>;

pub async fn state(State(sb): State<Arc<Sandbox>>) -> Json<serde_json::Value> {
    Json(sb.state_json())
}

pub async fn events(State(sb): State<Arc<Sandbox>>, Path(sid): Path<String>) -> ApiResult {
    sb.events_json(&sid)
        .map(|v| Json(v).into_response())
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, "no such session".into()))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RotateBody {
    notice_ms: Option<u64>,
}

pub async fn rotate(
    State(sb): State<Arc<Sandbox>>,
    Path(sid): Path<String>,
    raw: Bytes,
) -> ApiResult {
    let body: RotateBody = if raw.iter().all(u8::is_ascii_whitespace) {
        RotateBody::default()
    } else {
        serde_json::from_slice(&raw)
            .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("body: {e}")))?
    };
    let notice_ms = body.notice_ms.unwrap_or(sb.config.rotation_notice_ms);
    let ends_at = sb.rotate(&sid, notice_ms)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"sessionId": sid, "noticeMs": notice_ms, "endsAt": ends_at})),
    )
        .into_response())
}

pub async fn get_hooks(State(sb): State<Arc<Sandbox>>) -> Json<serde_json::Value> {
    Json(sb.hooks_json())
}

pub async fn patch_hooks(State(sb): State<Arc<Sandbox>>, raw: Bytes) -> ApiResult {
    let patch: HooksPatch = serde_json::from_slice(&raw)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("body: {e}")))?;
    Ok(Json(sb.patch_hooks(patch)).into_response())
}

pub async fn reset_hooks(State(sb): State<Arc<Sandbox>>) -> Json<serde_json::Value> {
    Json(sb.reset_hooks())
}

pub async fn cut(State(sb): State<Arc<Sandbox>>, Path(cid): Path<String>) -> ApiResult {
    if sb.cut(&cid) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError(
            StatusCode::NOT_FOUND,
            "no such live connection".into(),
        ))
    }
}

/// Open CORS for the admin routes, preflight included.
pub async fn cors(req: Request, next: Next) -> Response {
    let mut res = if req.method() == Method::OPTIONS {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type"),
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
