//! Sandbox-only admin API: inspection, rotation and test hooks. Only for whoever holds the
//! per-run admin token (the app server, the tests): see [`guard`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, Method, StatusCode};
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
    /// When clients of the vendor's migration are told, ms after the start (default 0).
    migration_delay_ms: Option<u64>,
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
    let ends_at = sb.rotate(&sid, notice_ms, body.migration_delay_ms.unwrap_or(0))?;
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
    patch
        .validate()
        .map_err(|why| ApiError(StatusCode::BAD_REQUEST, why))?;
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

/// Guards every admin route: the per-run admin token as a bearer (a page cannot know it, and
/// no CORS header lets a page read an answer), and a JSON content type on every POST (no
/// cross-site form can send one). Refusals change nothing.
pub async fn guard(State(sb): State<Arc<Sandbox>>, req: Request, next: Next) -> Response {
    let Some(expected) = sb.config.admin_token.as_deref() else {
        return ApiError(
            StatusCode::FORBIDDEN,
            "the admin API is off: start the sandbox with --admin-token (SANDBOX_ADMIN_TOKEN)"
                .into(),
        )
        .into_response();
    };
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !presented.is_some_and(|p| same_secret(p.as_bytes(), expected.as_bytes())) {
        return ApiError(
            StatusCode::UNAUTHORIZED,
            "admin routes need Authorization: Bearer <the sandbox's admin token>".into(),
        )
        .into_response();
    }
    if req.method() == Method::POST {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim() == "application/json")
            });
        if !json {
            return ApiError(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "admin POSTs need Content-Type: application/json".into(),
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// Compares without an early exit, so the time taken does not tell how much matched.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_compare_whole() {
        assert!(super::same_secret(b"abc", b"abc"));
        assert!(!super::same_secret(b"abc", b"abd"));
        assert!(!super::same_secret(b"abc", b"ab"));
    }
}
