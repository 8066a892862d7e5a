//! Settings of one sandbox process: from flags or the environment (see `main.rs`), or built
//! directly by tests.

use std::net::IpAddr;

/// Everything a running sandbox needs to know.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to bind; 127.0.0.1 unless told otherwise.
    pub host: IpAddr,
    /// TCP port; 0 picks a free one (the chosen port is printed at start).
    pub port: u16,
    /// The application ID the REST JWTs and client tokens must carry (`application_id`).
    pub application_id: String,
    /// The application's RSA public key, PEM (SPKI `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`).
    pub public_key_pem: String,
    /// Where session-monitoring callbacks are POSTed; none: callbacks are only logged in
    /// the session's event log (`GET /admin/sessions/{sid}/events`).
    pub callback_url: Option<String>,
    /// Default rotation notice when `POST /admin/sessions/{sid}/rotate` gives none.
    pub rotation_notice_ms: u64,
    /// The bearer token the admin API requires (a per-run secret the app server and tests
    /// are given); none: the admin API is off.
    pub admin_token: Option<String>,
}

impl Config {
    /// Settings for a test: 127.0.0.1, a free port, no callbacks, a one-hour notice.
    pub fn for_tests(application_id: &str, public_key_pem: &str) -> Self {
        Config {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            application_id: application_id.to_owned(),
            public_key_pem: public_key_pem.to_owned(),
            callback_url: None,
            rotation_notice_ms: 3_600_000,
            admin_token: None,
        }
    }
}
