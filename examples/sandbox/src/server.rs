//! The HTTP surface: routes, and starting a sandbox on a socket.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{Method, StatusCode, Uri};
use axum::routing::{delete, get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::rest::ApiError;
use crate::state::Sandbox;
use crate::vendor::{self, anvil, socket};
use crate::{admin, rest};

pub fn router(sandbox: Arc<Sandbox>) -> Router {
    let rest = Router::new()
        .route("/session/create", post(rest::create_session))
        .route(
            "/v2/project/{app_id}/session/{sid}/signal",
            post(rest::signal_session),
        )
        .route(
            "/v2/project/{app_id}/session/{sid}/connection/{cid}/signal",
            post(rest::signal_connection),
        )
        .route(
            "/v2/project/{app_id}/session/{sid}/connection/{cid}",
            delete(rest::force_disconnect),
        );
    // The vendor client's own hosts, as `OT.setProxyUrl` rewrites them (vendor/mod.rs).
    let client = Router::new()
        .route("/anvil.opentok.com/session/{sid}", get(anvil::session_info))
        .route(
            "/config.opentok.com/project/{key}/config.json",
            get(anvil::live_config),
        )
        .route("/hlg.tokbox.com/prod/logging/{*rest}", post(anvil::logging))
        .route(vendor::MESSAGING_PATH, get(socket::upgrade))
        .layer(axum::middleware::from_fn(anvil::cors));
    let admin = Router::new()
        .route("/admin/state", get(admin::state))
        .route("/admin/sessions/{sid}/events", get(admin::events))
        .route("/admin/sessions/{sid}/rotate", post(admin::rotate))
        .route(
            "/admin/hooks",
            get(admin::get_hooks)
                .post(admin::patch_hooks)
                .delete(admin::reset_hooks),
        )
        .route("/admin/connections/{cid}/cut", post(admin::cut))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&sandbox),
            admin::guard,
        ));
    rest.merge(client)
        .merge(admin)
        .fallback(not_found)
        .with_state(sandbox)
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError(
        StatusCode::NOT_FOUND,
        format!("no such route: {method} {}", uri.path()),
    )
}

/// A sandbox serving in the background (tests and `main`).
pub struct Running {
    pub addr: SocketAddr,
    pub sandbox: Arc<Sandbox>,
    pub task: JoinHandle<()>,
}

impl Running {
    /// `http://127.0.0.1:PORT`: the `videoHost` for `@vonage/video`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Binds and serves; needs a Tokio runtime.
pub async fn start(config: Config) -> Result<Running, String> {
    let listener = TcpListener::bind((config.host, config.port))
        .await
        .map_err(|e| format!("cannot bind {}:{}: {e}", config.host, config.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let sandbox = Sandbox::new(config)?;
    let app = router(Arc::clone(&sandbox));
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("sandbox: server stopped: {e}");
        }
    });
    Ok(Running {
        addr,
        sandbox,
        task,
    })
}
