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
    /// Where session-monitoring callbacks are POSTed, taking turns (round robin per delivery
    /// attempt); none: callbacks are only logged in the session's event log
    /// (`GET /admin/sessions/{sid}/events`).
    pub callback_urls: Vec<String>,
    /// The application's signature secret: every callback is signed with it (a JWT in
    /// `Authorization`). None: callbacks are sent unsigned, as the platform does while signed
    /// callbacks are off for the application.
    pub signature_secret: Option<String>,
    /// Delivery faults a test can turn on (both off by default).
    pub callback_faults: CallbackFaults,
    /// Default rotation notice when `POST /admin/sessions/{sid}/rotate` gives none.
    pub rotation_notice_ms: u64,
    /// The bearer token the admin API requires (a per-run secret the app server and tests
    /// are given); none: the admin API is off.
    pub admin_token: Option<String>,
    /// UDP port of the media router (routed sessions' media, on `host`); 0 picks a free one
    /// (printed at start).
    pub media_port: u16,
    /// Address the media router binds and announces as its ICE candidate; `host` (127.0.0.1
    /// for an unspecified `host`) unless set. Firefox never pairs its candidates with a
    /// loopback one, whatever `media.peerconnection.ice.loopback` says (measured with Firefox
    /// 153), so a routed call with Firefox pages needs one of the machine's own non-loopback
    /// addresses here.
    pub media_host: Option<IpAddr>,
}

impl Config {
    /// Settings for a test: 127.0.0.1, a free port, no callbacks, a one-hour notice.
    pub fn for_tests(application_id: &str, public_key_pem: &str) -> Self {
        Config {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            application_id: application_id.to_owned(),
            public_key_pem: public_key_pem.to_owned(),
            callback_urls: Vec::new(),
            signature_secret: None,
            callback_faults: CallbackFaults::default(),
            rotation_notice_ms: 3_600_000,
            admin_token: None,
            media_port: 0,
            media_host: None,
        }
    }
}

/// What the platform may do to callbacks and a test can ask for: deliver each one twice at
/// once (`duplicate`), and deliver them out of order (`reorder`: every other callback is held
/// until the next one has been delivered, or 200 ms pass).
#[derive(Clone, Copy, Debug, Default)]
pub struct CallbackFaults {
    pub duplicate: bool,
    pub reorder: bool,
}

// ---- Limits per connection (issue 19; see README.md, "Limits") ----

/// Streams one connection may publish at once (a camera and a screen share, and room to
/// spare); one more is refused.
pub const MAX_STREAMS_PER_CONNECTION: usize = 8;
/// Subscriptions one connection may hold at once: the platform's streams per session, so
/// a client can still subscribe to every stream.
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 3000;
/// Subscriptions one connection may hold to the same stream.
pub const MAX_SUBSCRIPTIONS_PER_STREAM: usize = 4;
/// The longest connection ID accepted.
pub const MAX_CONNECTION_ID: usize = 64;
