//! Serves the browser client (written in `examples/sandbox/client/`). Files are read on
//! each request, so edits to the client show up without rebuilding the sandbox.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::state::Sandbox;

pub async fn opentok_js(State(sb): State<Arc<Sandbox>>) -> Response {
    serve(&sb, "opentok.js").await
}

pub async fn opentok_mjs(State(sb): State<Arc<Sandbox>>) -> Response {
    serve(&sb, "opentok.mjs").await
}

async fn serve(sb: &Sandbox, name: &str) -> Response {
    let path = sb.config.client_dir.join(name);
    let headers = [
        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        (header::CACHE_CONTROL, "no-cache"),
    ];
    match tokio::fs::read(&path).await {
        Ok(bytes) => (StatusCode::OK, headers, bytes).into_response(),
        Err(e) => (
            StatusCode::NOT_FOUND,
            headers,
            format!(
                "throw new Error({:?});\n",
                format!("sandbox: cannot read {}: {e}", path.display())
            ),
        )
            .into_response(),
    }
}
