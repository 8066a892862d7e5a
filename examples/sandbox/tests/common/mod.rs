//! Shared fixtures for the sandbox's integration tests: a sandbox in-process on a free port,
//! keys made at run time, JWTs like the vendor SDK's, a WebSocket client speaking
//! PROTOCOL.md, and a local callback receiver.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use video_handoff_sandbox::keygen::{self, DevKeyPair};
use video_handoff_sandbox::{start, Config, Running};

pub const APP_ID: &str = "a1b2c3d4-0000-4000-8000-00000000abcd";
const WAIT: Duration = Duration::from_secs(3);

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
}

impl TestSandbox {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::for_tests(APP_ID, &keys().public_pem);
        tweak(&mut config);
        let running = start(config).await.expect("sandbox starts");
        let base = running.base_url();
        TestSandbox {
            running,
            base,
            http: reqwest::Client::new(),
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

    pub async fn create_session(&self) -> String {
        let res = self
            .http
            .post(format!("{}/session/create", self.base))
            .bearer_auth(self.rest_jwt())
            .form(&[
                ("archiveMode", "manual"),
                ("p2p.preference", "enabled"),
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

    pub async fn admin_get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap()
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

    /// Opens a socket and sends `connect`; returns the client and the first answer.
    pub async fn connect(&self, sid: &str, token: &str) -> (Client, Value) {
        let mut c = Client::open(&self.base).await;
        c.send(json!({"t": "connect", "sessionId": sid, "token": token}))
            .await;
        let first = c.next().await;
        (c, first)
    }

    /// Connects with a publisher token and asserts success.
    pub async fn join(&self, sid: &str, data: &str) -> Client {
        self.join_as(sid, "publisher", data).await
    }

    pub async fn join_as(&self, sid: &str, role: &str, data: &str) -> Client {
        let (mut c, first) = self.connect(sid, &self.token(sid, role, data)).await;
        assert_eq!(first["t"], "connected", "{first}");
        c.id = first["connection"]["connectionId"]
            .as_str()
            .unwrap()
            .to_owned();
        c
    }
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

/// A bare protocol client.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub id: String,
}

/// How a socket ended, as the client saw it.
#[derive(Debug, PartialEq)]
pub enum Ended {
    /// A close frame with this code.
    Closed(u16),
    /// The TCP connection ended without a close frame.
    Dropped,
}

impl Client {
    pub async fn open(base: &str) -> Self {
        let url = format!("{}/v2/ws", base.replace("http://", "ws://"));
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Client {
            ws,
            id: String::new(),
        }
    }

    pub async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap();
    }

    /// The next JSON frame (pings skipped); panics after 3 s.
    pub async fn next(&mut self) -> Value {
        self.next_within(WAIT).await.expect("a frame within 3 s")
    }

    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(Message::Text(t)))) => {
                    return Some(serde_json::from_str(t.as_str()).unwrap())
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(other) => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next frame, asserting its type.
    pub async fn expect(&mut self, t: &str) -> Value {
        let f = self.next().await;
        assert_eq!(f["t"], t, "expected {t}, got {f}");
        f
    }

    /// Asserts nothing arrives for `ms`.
    pub async fn expect_silence(&mut self, ms: u64) {
        if let Some(f) = self.next_within(Duration::from_millis(ms)).await {
            panic!("expected no frame, got {f}");
        }
    }

    /// Reads until the socket ends.
    pub async fn ended(&mut self) -> Ended {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("socket ends within 3 s")
            {
                Some(Ok(Message::Close(Some(f)))) => return Ended::Closed(f.code.into()),
                Some(Ok(Message::Close(None))) => return Ended::Closed(1005),
                Some(Ok(Message::Text(t))) => panic!("unexpected frame before the end: {t}"),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Ended::Dropped,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
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
