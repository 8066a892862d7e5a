//! Shared fixtures for the sandbox's integration tests: a sandbox in-process on a free port
//! with a per-run admin token, keys made at run time, JWTs like the vendor SDK's, a client of
//! the vendor protocol, and a local callback receiver.
//!
//! The client does on the wire what `@vonage/client-sdk-video` does (docs/vendor-protocol.md): the
//! session-info request, then a socket of Rumor frames carrying Raptor requests. It uses the
//! sandbox's Rumor codec, but writes every Raptor request and header by hand in the vendor
//! client's shapes, so the server's parser is tested against the client, not against itself.
#![allow(dead_code)]

mod client;
pub mod rtc;
pub use client::*;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use video_handoff_sandbox::ids::uuid;
use video_handoff_sandbox::keygen::{self, DevKeyPair};
use video_handoff_sandbox::{start, Config, Running};

pub const APP_ID: &str = "a1b2c3d4-0000-4000-8000-00000000abcd";
pub const WAIT: Duration = Duration::from_secs(3);
/// The vendor client retries its session-info request at 0, +600 and +1200 ms; the same
/// three requests, ten times faster (the sandbox counts requests, not time).
const SESSION_INFO_RETRY_MS: [u64; 3] = [0, 60, 120];
/// The socket path as `OT.setProxyUrl` rewrites the session info's `messaging_url`
/// (`wss://messaging.sandbox.invalid/rumor`; checked in client_protocol.rs).
pub const SOCKET_PATH: &str = "/messaging.sandbox.invalid/rumor";

/// One key pair per test binary; 1024 bits because RSA keygen takes seconds in debug builds.
pub fn keys() -> &'static DevKeyPair {
    static KEYS: OnceLock<DevKeyPair> = OnceLock::new();
    KEYS.get_or_init(|| keygen::generate_with_bits(1024))
}

/// A second pair, for tokens signed with the wrong key.
pub fn stranger_keys() -> &'static DevKeyPair {
    static KEYS: OnceLock<DevKeyPair> = OnceLock::new();
    KEYS.get_or_init(|| keygen::generate_with_bits(1024))
}

pub fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub struct TestSandbox {
    pub running: Running,
    pub base: String,
    pub http: reqwest::Client,
    /// The per-run admin bearer token (`Config.admin_token`); empty when the admin API is off.
    pub admin_token: String,
}

/// Why a connect failed, as the vendor client would report it: a vendor code from the
/// session info (1004, 1005, 1006, 2001) or the Raptor status of a refused `create
/// connection`; `requests` counts the session-info requests the attempt made.
#[derive(Debug)]
pub struct Refused {
    pub code: u32,
    pub message: String,
    pub requests: u32,
}

impl TestSandbox {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A sandbox with a fresh admin token; `tweak` may change any setting (or turn the admin
    /// API off with `admin_token = None`).
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::for_tests(APP_ID, &keys().public_pem);
        config.admin_token = Some(format!("admin-{}", uuid()));
        tweak(&mut config);
        let admin_token = config.admin_token.clone().unwrap_or_default();
        let running = start(config).await.expect("sandbox starts");
        let base = running.base_url();
        TestSandbox {
            running,
            base,
            http: reqwest::Client::new(),
            admin_token,
        }
    }

    /// A REST bearer JWT as `@vonage/auth` makes it.
    pub fn rest_jwt(&self) -> String {
        sign(
            &keys().private_pem,
            json!({
                "application_id": APP_ID, "iat": now_s(), "jti": "t", "exp": now_s() + 300,
            }),
        )
    }

    /// A client token as `generateClientToken` makes it.
    pub fn token(&self, sid: &str, role: &str, data: &str) -> String {
        sign(&keys().private_pem, client_claims(sid, role, data))
    }

    /// A relayed session (`p2p.preference` `enabled`).
    pub async fn create_session(&self) -> String {
        self.create_session_with("enabled").await
    }

    /// A routed session (media through the sandbox's router).
    pub async fn create_routed_session(&self) -> String {
        self.create_session_with("disabled").await
    }

    async fn create_session_with(&self, p2p: &str) -> String {
        let res = self
            .http
            .post(format!("{}/session/create", self.base))
            .bearer_auth(self.rest_jwt())
            .form(&[
                ("archiveMode", "manual"),
                ("p2p.preference", p2p),
                ("location", "null"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let v: Value = res.json().await.unwrap();
        v[0]["session_id"].as_str().unwrap().to_owned()
    }

    pub fn project_url(&self, rest: &str) -> String {
        format!("{}/v2/project/{APP_ID}{rest}", self.base)
    }

    /// A REST signal (`@vonage/video`'s `sendSignal`) to the session or one connection.
    pub async fn rest_signal(&self, sid: &str, to: Option<&str>, body: Value) -> u16 {
        let path = match to {
            Some(cid) => format!("/session/{sid}/connection/{cid}/signal"),
            None => format!("/session/{sid}/signal"),
        };
        self.http
            .post(self.project_url(&path))
            .bearer_auth(self.rest_jwt())
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    // ---- the admin API, with the admin token ----

    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.admin_token)
    }

    pub async fn admin_get(&self, path: &str) -> Value {
        let res = self.admin(reqwest::Method::GET, path).send().await.unwrap();
        assert_eq!(res.status(), 200, "GET {path}");
        res.json().await.unwrap()
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> reqwest::Response {
        self.admin(reqwest::Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn admin_delete(&self, path: &str) -> Value {
        let res = self
            .admin(reqwest::Method::DELETE, path)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "DELETE {path}");
        res.json().await.unwrap()
    }

    /// Sets hooks (`POST /admin/hooks`), asserting they were accepted; answers all hooks.
    pub async fn hooks(&self, patch: Value) -> Value {
        let res = self.admin_post("/admin/hooks", patch.clone()).await;
        assert_eq!(res.status(), 200, "hooks {patch}");
        res.json().await.unwrap()
    }

    pub async fn state(&self) -> Value {
        self.admin_get("/admin/state").await
    }

    pub async fn session_state(&self, sid: &str) -> Value {
        let st = self.state().await;
        st["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["sessionId"] == sid)
            .cloned()
            .unwrap()
    }

    /// How many `connections` or `streams` the session has now.
    pub async fn count_in(&self, sid: &str, what: &str) -> usize {
        self.session_state(sid).await[what]
            .as_array()
            .unwrap()
            .len()
    }

    /// Ends a session now (a rotation with no notice) and waits until it is destroyed.
    pub async fn destroy(&self, sid: &str) {
        let res = self
            .admin_post(
                &format!("/admin/sessions/{sid}/rotate"),
                json!({"noticeMs": 0}),
            )
            .await;
        assert_eq!(res.status(), 202);
        for _ in 0..100 {
            if self.session_state(sid).await["destroyed"] == true {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{sid} not destroyed within 1 s");
    }

    // ---- the vendor client's connect ----

    /// One session-info request (`GET /anvil.opentok.com/session/{sid}`) as the client sends
    /// it: the session element, or the vendor code the client maps the answer to.
    pub async fn session_info(
        &self,
        sid: &str,
        token: &str,
        connection_id: &str,
    ) -> Result<Value, (u32, String)> {
        let res = self
            .http
            .get(format!(
                "{}/anvil.opentok.com/session/{sid}?extended=true",
                self.base
            ))
            .header("X-OPENTOK-AUTH", token)
            .header("X-TB-VERSION", "1")
            .header("X-TB-CLIENT-VERSION", "js-2.35.2")
            .header("X-TB-CONNECTIONID", connection_id)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        if !res.status().is_success() {
            return Err((2001, format!("HTTP {}", res.status())));
        }
        let body: Value = res.json().await.expect("the session info is JSON");
        let first = body
            .as_array()
            .expect("the session info is an array")
            .first();
        let Some(first) = first else {
            return Err((1006, "empty session info".into()));
        };
        if let Some(e) = first.get("error") {
            let code = match e["code"].as_u64() {
                Some(403) => 1004,
                Some(400 | 404) => 1005,
                _ => 2001,
            };
            let message = e["errorMessage"]["message"].as_str().unwrap_or_default();
            return Err((code, message.to_owned()));
        }
        Ok(first.clone())
    }

    /// Connects as the vendor client does, with a connection ID chosen here.
    pub async fn connect(&self, sid: &str, token: &str) -> Result<Client, Refused> {
        self.connect_as(sid, token, &uuid()).await
    }

    /// The session info (retried like the client: three requests for one attempt while the
    /// answer is empty), then the socket handshake.
    pub async fn connect_as(
        &self,
        sid: &str,
        token: &str,
        connection_id: &str,
    ) -> Result<Client, Refused> {
        self.connect_with(sid, token, connection_id, json!([]))
            .await
    }

    /// Connects as the vendor client with `sessionMigration: true` (capability `migrate`).
    pub async fn join_migrating(&self, sid: &str, data: &str) -> Client {
        let token = self.token(sid, "publisher", data);
        match self
            .connect_with(sid, &token, &uuid(), json!(["forceMute", "migrate"]))
            .await
        {
            Ok(c) => c,
            Err(r) => panic!("connect refused: {r:?}"),
        }
    }

    /// The vendor client's migration after the server's notification: the session info
    /// again with the same connection ID and token, then a second socket to the messaging
    /// URL it names (which must differ from the first), the same handshake on it. Returns
    /// the new socket's client; the old one stays open.
    pub async fn migrate(&self, sid: &str, token: &str, old: &Client) -> Client {
        let info = self
            .session_info(sid, token, &old.id)
            .await
            .expect("a notified connection gets the session info");
        let url = info["messaging_url"].as_str().expect("messaging_url");
        assert_ne!(url, format!("wss://{}/rumor", "messaging.sandbox.invalid"));
        let symphony = info["symphony_address"].as_str().expect("symphony_address");
        let mut c = Client::open(&proxied(&self.base, url), &old.id, sid, symphony).await;
        c.capabilities = old.capabilities.clone();
        c.handshake(token)
            .await
            .unwrap_or_else(|s| panic!("the second socket's join was refused: {s:?}"));
        c
    }

    /// Connects with these capabilities.
    pub async fn connect_with(
        &self,
        sid: &str,
        token: &str,
        connection_id: &str,
        capabilities: Value,
    ) -> Result<Client, Refused> {
        let mut requests = 0;
        let mut outcome = Err((0, String::new()));
        for delay in SESSION_INFO_RETRY_MS {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            requests += 1;
            outcome = self.session_info(sid, token, connection_id).await;
            // The client retries an empty answer (and transport errors, which the sandbox
            // never gives); an error element is final.
            if !matches!(outcome, Err((1006, _))) {
                break;
            }
        }
        let info = outcome.map_err(|(code, message)| Refused {
            code,
            message,
            requests,
        })?;
        assert_eq!(info["partner_id"], APP_ID, "{info}");
        let url = info["messaging_url"].as_str().expect("messaging_url");
        let symphony = info["symphony_address"].as_str().expect("symphony_address");
        let mut c = Client::open(&proxied(&self.base, url), connection_id, sid, symphony).await;
        c.capabilities = capabilities;
        c.handshake(token).await.map_err(|s| Refused {
            code: u32::from(s.code),
            message: s.reason(),
            requests,
        })?;
        Ok(c)
    }

    /// Connects with a publisher token and asserts success.
    pub async fn join(&self, sid: &str, data: &str) -> Client {
        self.join_as(sid, "publisher", data).await
    }

    pub async fn join_as(&self, sid: &str, role: &str, data: &str) -> Client {
        match self.connect(sid, &self.token(sid, role, data)).await {
            Ok(c) => c,
            Err(r) => panic!("connect as {role} refused: {r:?}"),
        }
    }

    /// A socket with no handshake yet, for junk and out-of-order frames.
    pub async fn raw_socket(&self, connection_id: &str, sid: &str) -> Client {
        let url = format!("{}{SOCKET_PATH}", self.base.replace("http://", "ws://"));
        Client::open(&url, connection_id, sid, "symphony.sandbox.invalid").await
    }
}

/// What `OT.setProxyUrl(base)` makes of a vendor URL: `<proxy>/<host><path>`, `ws://` for
/// sockets behind an `http://` proxy.
fn proxied(base: &str, url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    format!("{}/{rest}", base.replace("http://", "ws://"))
}

pub fn client_claims(sid: &str, role: &str, data: &str) -> Value {
    json!({
        "scope": "session.connect", "session_id": sid, "role": role,
        "initial_layout_class_list": "", "exp": now_s() + 3600, "sub": "video",
        "acl": {"paths": {"/session/**": {}}}, "connection_data": data,
        "jti": "j", "iat": now_s(), "application_id": APP_ID,
    })
}

pub fn sign(private_pem: &str, claims: Value) -> String {
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap();
    encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap()
}

/// A local HTTP receiver for callbacks; can be told to fail the first N requests.
pub struct Receiver {
    pub url: String,
    pub got: Arc<Mutex<Vec<Value>>>,
    pub fail_next: Arc<AtomicU32>,
    pub attempts: Arc<AtomicU32>,
}

impl Receiver {
    pub async fn start() -> Self {
        use axum::routing::post;
        let got = Arc::new(Mutex::new(Vec::new()));
        let fail_next = Arc::new(AtomicU32::new(0));
        let attempts = Arc::new(AtomicU32::new(0));
        let (g, f, a) = (got.clone(), fail_next.clone(), attempts.clone());
        let app = axum::Router::new().route(
            "/callbacks",
            post(move |axum::Json(body): axum::Json<Value>| {
                let (g, f, a) = (g.clone(), f.clone(), a.clone());
                async move {
                    a.fetch_add(1, Ordering::SeqCst);
                    if f.load(Ordering::SeqCst) > 0 {
                        f.fetch_sub(1, Ordering::SeqCst);
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    g.lock().unwrap().push(body);
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/callbacks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            url,
            got,
            fail_next,
            attempts,
        }
    }

    /// Waits until `n` callbacks have arrived; returns them all.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.got.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {n} callbacks: {got:#?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn events(&self) -> Vec<String> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|v| v["event"].as_str().unwrap().to_owned())
            .collect()
    }
}

// ---- URI paths under a session, as the client writes them ----

pub fn conn(id: &str) -> String {
    format!("/connection/{id}")
}

pub fn stream(id: &str) -> String {
    format!("/stream/{id}")
}

pub fn subscriber(stream: &str, sub: &str) -> String {
    format!("/stream/{stream}/subscriber/{sub}")
}

pub fn ping() -> video_handoff_sandbox::vendor::rumor::Frame {
    use video_handoff_sandbox::vendor::rumor;
    rumor::Frame::new(rumor::PING, vec![], "")
}
