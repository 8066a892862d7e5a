//! The sandbox's sessions, connections, streams and subscriptions, and every change to them.
//!
//! All changes go through one lock, so every connection of a session sees the session's
//! events in one order, the event log and the callbacks follow that same order, and a
//! refused call changes nothing (checks come before the first mutation). What clients are
//! sent is built here with `vendor::raptor` and queued on each connection's outbox.
//!
//! | file | holds |
//! | --- | --- |
//! | `connections.rs` | session info checks, joining, leaving, force-disconnect, cut |
//! | `media.rs` | publish, unpublish, channel updates, subscribe, the relayed WebRTC negotiation |
//! | `routed.rs` | routed sessions: the media router's negotiation and its events |
//! | `signals.rs` | signals from clients and from the REST API |
//! | `lifecycle.rs` | rotation, destruction, and forgetting old sessions |
//! | `inspect.rs` | hooks and the admin API's views |

mod connections;
mod inspect;
mod lifecycle;
mod media;
mod routed;
mod signals;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use serde_json::{json, Value};

use crate::auth::{Role, Verifier};
use crate::callbacks::Callbacks;
use crate::config::Config;
use crate::hooks::Hooks;
use crate::ids;
use crate::outbox::Outbox;
use crate::router::{self, MediaRouter};
use crate::vendor::raptor::{self, Scope};
use crate::wire::{ConnInfo, Stream};

pub use connections::{Admission, Joined, Leave};
pub use signals::{validate_signal, MAX_SIGNAL_DATA_BYTES, MAX_SIGNAL_TYPE_CHARS};

/// Sessions kept at once; `POST /session/create` answers 429 beyond.
pub const MAX_SESSIONS: usize = 100_000;
/// Callback bodies kept per session for `GET /admin/sessions/{sid}/events` (oldest dropped).
pub const MAX_EVENTS_PER_SESSION: usize = 10_000;

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A refused request, with the vendor's code and name.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// HTTP status for REST and Raptor answers (the client maps them), or a vendor error code.
    pub code: u32,
    pub name: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn new(code: u32, name: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            code,
            name,
            message: message.into(),
        }
    }
}

/// Where a session ID stands.
#[derive(Debug, PartialEq, Eq)]
pub enum Presence {
    Live,
    Destroyed,
    Unknown,
}

struct Member {
    info: ConnInfo,
    role: Role,
    /// Its current socket's outbox: everything for the connection goes there.
    out: Outbox,
    /// Its `create connection` advertised the capability `migrate` (the vendor's migration).
    migrate: bool,
    /// The socket generation it is on: 0 at its join, one more per migration.
    generation: u32,
    /// Notified of a rotation (`serverRotation`) and not yet back on a new socket: the
    /// generation its new socket will be, and the rotation (its end) it is for.
    migration: Option<(u32, u64)>,
    /// The rotation (its end) it migrated for: it outlives that rotation's end.
    migrated_for: Option<u64>,
    /// Its earlier sockets, closed at the latest when the rotation ends.
    old: Vec<Outbox>,
}

/// A subscriber's relayed peer connection to a publisher: who negotiates with whom.
struct Subscription {
    id: String,
    stream: String,
    /// The subscribing connection.
    subscriber: String,
    /// The stream's owner.
    owner: String,
}

struct Session {
    id: String,
    scope: Scope,
    created_at: u64,
    properties: Value,
    /// Media through the sandbox's router (`p2p.preference` not `enabled`, the platform's
    /// default), else relayed between the clients.
    routed: bool,
    destroyed_at: Option<u64>,
    rotation_ends_at: Option<u64>,
    /// When a connection last joined or left (for forgetting idle sessions).
    last_activity: u64,
    members: Vec<Member>,
    streams: Vec<Stream>,
    /// Routed streams whose publisher's media has not reached the router yet: announced
    /// (`created stream`) only once it flows, as the platform does.
    pending_streams: Vec<Stream>,
    subscriptions: Vec<Subscription>,
    /// Router legs of routed streams and subscriptions whose clients migrated.
    moves: routed::Moves,
    events: VecDeque<Value>,
    events_dropped: u64,
}

impl Session {
    fn member(&self, cid: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.info.connection_id == cid)
    }

    fn stream(&self, stream_id: &str) -> Option<&Stream> {
        self.streams.iter().find(|s| s.info.stream_id == stream_id)
    }

    /// A server event (`from` the symphony address) for every member but `except`, encoded
    /// once for all of them.
    fn broadcast(&self, message: &Value, except: Option<&str>) {
        let frame = encode(&self.scope.base(), raptor::SYMPHONY, message);
        for m in &self.members {
            if Some(m.info.connection_id.as_str()) != except {
                m.out.send(&frame);
            }
        }
    }

    /// One message to one member, `from` the given Rumor address.
    fn send_to(&self, cid: &str, from: &str, message: &Value) {
        if let Some(m) = self.member(cid) {
            m.out.send(&encode(cid, from, message));
        }
    }
}

fn encode(to: &str, from: &str, message: &Value) -> Bytes {
    Bytes::from(raptor::to_client(to, from, message).encode())
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<String, Session>,
    /// Connection ID -> session ID, for live connections only.
    where_is: HashMap<String, String>,
    hooks: Hooks,
}

/// One running sandbox's state; shared by every handler.
pub struct Sandbox {
    pub config: Config,
    pub verifier: Verifier,
    /// The latency hook, milliseconds per hop.
    pub latency_ms: Arc<AtomicU64>,
    inner: Mutex<Inner>,
    callbacks: Callbacks,
    /// The media router of routed sessions (its own thread and UDP socket).
    media: MediaRouter,
}

impl Sandbox {
    /// Needs a Tokio runtime (starts the callback sender and the expiry sweep).
    pub fn new(config: Config) -> Result<Arc<Self>, String> {
        let verifier = Verifier::new(&config.application_id, &config.public_key_pem)?;
        let callbacks = Callbacks::start(&config);
        // The router's events come from its own thread; they find the sandbox through a
        // weak reference set once it exists (nothing is routed before).
        let slot: Arc<OnceLock<Weak<Sandbox>>> = Arc::new(OnceLock::new());
        let sink = Arc::clone(&slot);
        let media_ip = match config.media_host {
            Some(ip) => ip,
            None if config.host.is_unspecified() => std::net::IpAddr::from([127, 0, 0, 1]),
            None => config.host,
        };
        let media = MediaRouter::start(
            media_ip,
            config.media_port,
            Box::new(move |e| {
                if let Some(sb) = sink.get().and_then(Weak::upgrade) {
                    sb.on_media(e);
                }
            }),
        )
        .map_err(|e| format!("cannot start the media router: {e}"))?;
        let sandbox = Arc::new(Sandbox {
            config,
            verifier,
            latency_ms: Arc::new(AtomicU64::new(0)),
            inner: Mutex::new(Inner::default()),
            callbacks,
            media,
        });
        let _ = slot.set(Arc::downgrade(&sandbox));
        lifecycle::start_sweeper(&sandbox);
        Ok(sandbox)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock is a bug; keep serving the other sessions.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends to the session's event log and sends the same body as a callback.
    fn record(&self, s: &mut Session, event: &str, extra: Value) {
        let mut body = json!({
            "sessionId": s.id,
            "projectId": self.config.application_id,
            "event": event,
            "timestamp": now_ms(),
        });
        if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
            b.extend(extra);
        }
        if s.events.len() >= MAX_EVENTS_PER_SESSION {
            s.events.pop_front();
            s.events_dropped += 1;
        }
        s.events.push_back(body.clone());
        self.callbacks.send(body);
    }

    /// `POST /session/create`: `properties` are the form fields as given.
    pub fn create_session(&self, properties: Value) -> Result<(String, u64), Refusal> {
        let created_at = now_ms();
        let id = ids::session_id(&self.config.application_id, created_at);
        let mut g = self.lock();
        if g.sessions.len() >= MAX_SESSIONS {
            return Err(Refusal::new(
                429,
                "OT_TOO_MANY_SESSIONS",
                "the sandbox holds its maximum number of sessions; try again later",
            ));
        }
        let routed = properties.get("p2p.preference").and_then(Value::as_str) != Some("enabled");
        let session = Session {
            routed,
            id: id.clone(),
            scope: Scope {
                api_key: self.config.application_id.clone(),
                session_id: id.clone(),
            },
            created_at,
            properties,
            destroyed_at: None,
            rotation_ends_at: None,
            last_activity: created_at,
            members: Vec::new(),
            streams: Vec::new(),
            pending_streams: Vec::new(),
            subscriptions: Vec::new(),
            moves: routed::Moves::default(),
            events: VecDeque::new(),
            events_dropped: 0,
        };
        g.sessions.insert(id.clone(), session);
        Ok((id, created_at))
    }

    /// The media router's UDP address.
    pub fn media_addr(&self) -> std::net::SocketAddr {
        self.media.addr()
    }

    /// Whether a session's media is routed (`None`: no such session).
    pub fn is_routed(&self, sid: &str) -> Option<bool> {
        self.lock().sessions.get(sid).map(|s| s.routed)
    }

    /// Asks the router; a full or stopped router refuses the request instead of blocking.
    fn route(&self, command: router::Command) -> Result<(), Refusal> {
        self.media.send(command).map_err(|_| {
            Refusal::new(
                503,
                "OT_MEDIA_ROUTER_BUSY",
                "the media router is busy; try again",
            )
        })
    }

    pub fn presence(&self, sid: &str) -> Presence {
        match self.lock().sessions.get(sid) {
            Some(s) if s.destroyed_at.is_some() => Presence::Destroyed,
            Some(_) => Presence::Live,
            None => Presence::Unknown,
        }
    }

    fn live_session<'a>(
        sessions: &'a mut HashMap<String, Session>,
        sid: &str,
    ) -> Result<&'a mut Session, Refusal> {
        match sessions.get_mut(sid) {
            Some(s) if s.destroyed_at.is_none() => Ok(s),
            Some(_) => Err(Refusal::new(404, "OT_NOT_FOUND", "session was destroyed")),
            None => Err(Refusal::new(404, "OT_NOT_FOUND", "no such session")),
        }
    }
}

/// The live session of a connection, for requests it makes.
fn member_session<'a>(inner: &'a mut Inner, cid: &str) -> Result<&'a mut Session, Refusal> {
    let not_connected = || Refusal::new(1010, "OT_NOT_CONNECTED", "not connected");
    let sid = inner.where_is.get(cid).ok_or_else(not_connected)?;
    inner.sessions.get_mut(sid).ok_or_else(not_connected)
}
