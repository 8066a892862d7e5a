//! Session-monitoring callbacks: POSTed as JSON, each retried with exponential backoff while
//! the receiver fails (non-2xx or no answer). Each session has its own bounded queue,
//! delivered one at a time and in order; sessions are delivered concurrently, so one
//! session's churn (or a receiver slow on it) never delays another's notices.
//!
//! Like the platform's secure callbacks, each delivery attempt carries a JWT in
//! `Authorization: Bearer`, HS256 with the application's signature secret. The platform's
//! claim set is not specified for Video; ours (an assumption, see README.md) is `iat`,
//! `exp` (`iat` + 300 s), `jti`, `iss` ("Vonage"), `application_id` and `payload_hash`
//! (lowercase hex SHA-256 of the exact body bytes sent).
//!
//! Several URLs take turns (round robin per attempt, as a load balancer in front of several
//! app-server instances would), and a test can turn on duplicate and out-of-order delivery.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc::{self, error::TryRecvError, error::TrySendError, Receiver, Sender};

use crate::config::{CallbackFaults, Config};
use crate::ids;

/// Attempts per callback before it is given up (about 13 s of retries in all).
const MAX_ATTEMPTS: u32 = 8;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A signed callback's lifetime (`exp` - `iat`).
pub const TOKEN_LIFETIME_S: u64 = 300;
/// How long the reorder fault holds a callback waiting for the next one to overtake it.
const REORDER_HOLD: Duration = Duration::from_millis(200);

/// Callbacks waiting in one session's queue; one more is dropped (with a line on stderr).
pub const QUEUE_PER_SESSION: usize = 1024;
/// Delivery attempts in flight at once, all sessions together.
pub const MAX_IN_FLIGHT: usize = 64;
/// A session's delivery task ends after this long with nothing to deliver.
const IDLE_WORKER: Duration = Duration::from_secs(30);

pub struct Callbacks {
    inner: Option<Arc<Queues>>,
}

/// The sessions' queues: session ID -> the sender of its delivery task.
struct Queues {
    delivery: Delivery,
    faults: CallbackFaults,
    by_session: Mutex<HashMap<String, Sender<Value>>>,
}

/// Signs callback bodies: the application's ID and signature secret.
#[derive(Clone)]
pub struct Signer {
    application_id: String,
    key: EncodingKey,
}

impl Signer {
    pub fn new(application_id: &str, secret: &str) -> Self {
        Signer {
            application_id: application_id.to_owned(),
            key: EncodingKey::from_secret(secret.as_bytes()),
        }
    }

    /// The `Authorization` value for exactly these body bytes, issued at `now_s`.
    pub fn authorization(&self, body: &[u8], now_s: u64) -> String {
        let claims = json!({
            "iat": now_s,
            "exp": now_s + TOKEN_LIFETIME_S,
            "jti": ids::uuid(),
            "iss": "Vonage",
            "application_id": self.application_id,
            "payload_hash": payload_hash(body),
        });
        // HS256 over a JSON object cannot fail; an empty token would be refused (401) and retried.
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.key).unwrap_or_default();
        format!("Bearer {token}")
    }
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Lowercase hex SHA-256 of `body`.
pub fn payload_hash(body: &[u8]) -> String {
    Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Callbacks {
    /// Starts the delivery task when a URL is configured (needs a Tokio runtime).
    pub fn start(config: &Config) -> Self {
        if config.callback_urls.is_empty() {
            return Callbacks { inner: None };
        }
        let signer = config
            .signature_secret
            .as_deref()
            .map(|secret| Signer::new(&config.application_id, secret));
        let delivery = Delivery {
            in_flight: tokio::sync::Semaphore::new(MAX_IN_FLIGHT),
            urls: config.callback_urls.clone(),
            next_url: AtomicUsize::new(0),
            signer,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("HTTP client"),
        };
        Callbacks {
            inner: Some(Arc::new(Queues {
                delivery,
                faults: config.callback_faults,
                by_session: Mutex::new(HashMap::new()),
            })),
        }
    }

    /// Queues `body` on its session's queue (started on first use). Needs a Tokio runtime.
    pub fn send(&self, body: Value) {
        let Some(q) = &self.inner else { return };
        let sid = body
            .get("sessionId")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let mut map = q.by_session.lock().unwrap_or_else(|e| e.into_inner());
        let tx = map.entry(sid.clone()).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(QUEUE_PER_SESSION);
            tokio::spawn(deliver_session(Arc::clone(q), sid.clone(), rx));
            tx
        });
        match tx.try_send(body) {
            Ok(()) => {}
            Err(TrySendError::Full(body)) => {
                let event = body.get("event").and_then(Value::as_str).unwrap_or("?");
                eprintln!(
                    "sandbox: callback {event} dropped: the session's queue holds {QUEUE_PER_SESSION}"
                );
            }
            Err(TrySendError::Closed(_)) => {}
        }
    }

    /// Sessions with a delivery task (tests).
    pub fn active_queues(&self) -> usize {
        self.inner.as_ref().map_or(0, |q| {
            q.by_session.lock().unwrap_or_else(|e| e.into_inner()).len()
        })
    }
}

/// One session's deliveries, in order. Ends once idle for `IDLE_WORKER`: under the map's
/// lock, so a callback queued meanwhile is either taken here or starts a new task.
async fn deliver_session(q: Arc<Queues>, sid: String, mut rx: Receiver<Value>) {
    loop {
        deliver_all(&q.delivery, q.faults, &mut rx).await;
        let mut map = q.by_session.lock().unwrap_or_else(|e| e.into_inner());
        match rx.try_recv() {
            Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => {
                map.remove(&sid);
                return;
            }
            Ok(body) => {
                drop(map);
                q.delivery.deliver_with_faults(&body, q.faults).await;
            }
        }
    }
}

struct Delivery {
    /// Attempts in flight at once, across sessions.
    in_flight: tokio::sync::Semaphore,
    urls: Vec<String>,
    next_url: AtomicUsize,
    signer: Option<Signer>,
    client: reqwest::Client,
}

/// Takes one session's callbacks in the order they happened and delivers them, applying the
/// test faults: `reorder` holds every other callback until the next one has been delivered
/// (or `REORDER_HOLD` passes), `duplicate` delivers each one twice at once (to two receivers
/// in turn, so two instances may race on it). Returns once nothing came for `IDLE_WORKER`.
async fn deliver_all(d: &Delivery, faults: CallbackFaults, rx: &mut Receiver<Value>) {
    let mut held: Option<Value> = None;
    loop {
        let wait = if held.is_some() && faults.reorder {
            REORDER_HOLD
        } else {
            IDLE_WORKER
        };
        let next = match tokio::time::timeout(wait, rx.recv()).await {
            Ok(v) => v,
            Err(_) => match held.take() {
                // Nothing came to overtake it: deliver it now.
                Some(body) => {
                    d.deliver_with_faults(&body, faults).await;
                    continue;
                }
                None => return,
            },
        };
        let Some(body) = next else { break };
        if faults.reorder {
            match held.take() {
                None => held = Some(body),
                Some(earlier) => {
                    d.deliver_with_faults(&body, faults).await;
                    d.deliver_with_faults(&earlier, faults).await;
                }
            }
        } else {
            d.deliver_with_faults(&body, faults).await;
        }
    }
    if let Some(body) = held {
        d.deliver_with_faults(&body, faults).await;
    }
}

impl Delivery {
    async fn deliver_with_faults(&self, body: &Value, faults: CallbackFaults) {
        if faults.duplicate {
            tokio::join!(self.deliver(body), self.deliver(body));
        } else {
            self.deliver(body).await;
        }
    }

    /// One callback: tried up to `MAX_ATTEMPTS` times, each attempt to the next URL and
    /// freshly signed.
    async fn deliver(&self, body: &Value) {
        let bytes = body.to_string().into_bytes();
        let event = body.get("event").and_then(Value::as_str).unwrap_or("?");
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=MAX_ATTEMPTS {
            let url = &self.urls[self.next_url.fetch_add(1, Ordering::Relaxed) % self.urls.len()];
            let mut req = self
                .client
                .post(url)
                .header("content-type", "application/json")
                .body(bytes.clone());
            if let Some(signer) = &self.signer {
                req = req.header("authorization", signer.authorization(&bytes, now_s()));
            }
            let permit = self.in_flight.acquire().await;
            let answer = req.send().await;
            drop(permit);
            let failure = match answer {
                Ok(r) if r.status().is_success() => None,
                Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
                Err(e) => Some(format!("{}", e.without_url())),
            };
            let Some(why) = failure else { return };
            if attempt == MAX_ATTEMPTS {
                eprintln!("sandbox: callback {event} given up after {attempt} attempts: {why}");
                return;
            }
            eprintln!("sandbox: callback {event} attempt {attempt} failed ({why}); retrying in {backoff:?}");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{decode, DecodingKey, Validation};

    #[test]
    fn a_signed_callback_carries_our_claims_and_the_hash_of_the_exact_body() {
        let body = br#"{"event":"sessionNotification","sessionId":"s"}"#;
        let auth = Signer::new("app-1", "secret").authorization(body, 1_700_000_000);
        let token = auth.strip_prefix("Bearer ").expect("bearer");
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_exp = false;
        v.required_spec_claims.clear();
        let claims = decode::<Value>(token, &DecodingKey::from_secret(b"secret"), &v)
            .expect("verifies with the secret")
            .claims;
        assert_eq!(claims["iss"], "Vonage");
        assert_eq!(claims["application_id"], "app-1");
        assert_eq!(claims["iat"], 1_700_000_000u64);
        assert_eq!(claims["exp"], 1_700_000_300u64);
        assert_eq!(claims["payload_hash"], payload_hash(body));
        assert_eq!(claims["payload_hash"].as_str().unwrap().len(), 64);
        assert!(decode::<Value>(token, &DecodingKey::from_secret(b"other"), &v).is_err());
    }

    #[test]
    fn payload_hash_is_lowercase_hex_sha256() {
        assert_eq!(
            payload_hash(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
