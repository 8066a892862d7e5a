//! The media router of routed sessions: the sandbox's stand-in for the vendor's media server.
//!
//! Every publisher sends its audio and video once, over one peer connection to the router;
//! every subscriber receives over a peer connection of its own from the router, which forwards
//! each frame of the stream it subscribed to and relays its keyframe requests to the
//! publisher. WebRTC is str0m's (sans-IO, like the handoff engine): one thread owns the one
//! UDP socket and every [`Rtc`](str0m::Rtc), with time passed in, as in str0m's own
//! `examples/chat.rs`.
//!
//! The router knows sessions, streams and subscribers by the sandbox's IDs and speaks only
//! SDP and candidates: the sandbox's state turns its [`Event`]s into the vendor's Raptor
//! messages (`generateoffer`, `offer`, `answer`, `created stream`) and feeds it the client's
//! answers as [`Command`]s. Each session's media lives in a table of its own, created at its
//! first publish and dropped, with every peer connection in it, when the session is
//! destroyed: a rotation moves a call's media to another session's table only through the
//! clients' own moves.
//!
//! | file | holds |
//! | --- | --- |
//! | `legs.rs` | one peer connection: a publisher's (in) or a subscriber's (out) |
//! | `run.rs` | the thread: the socket, commands, polling every leg, keyframe requests |
//! | `table.rs` | one session's media table and the forwarding between its legs |

mod legs;
mod run;
mod table;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;

use serde::Serialize;

/// Sessions with media at once; a publish beyond is refused.
pub const MAX_SESSIONS: usize = 1_000;
/// Publishers (peer connections in) per session.
pub const MAX_PUBLISHERS_PER_SESSION: usize = 64;
/// Subscribers (peer connections out) per session.
pub const MAX_SUBSCRIBERS_PER_SESSION: usize = 1_024;
/// Commands queued for the router thread; beyond, a request is refused (503), never blocked on.
const COMMAND_QUEUE: usize = 4_096;

/// One peer connection of a session, by the sandbox's IDs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Leg {
    /// A stream's publisher (media in).
    Publisher(String),
    /// A subscriber (media out), by its subscriber ID.
    Subscriber(String),
}

/// What the sandbox asks of the router.
#[derive(Debug)]
pub enum Command {
    /// A publish was accepted: its offer follows (`peer` is the ID the client echoes).
    OpenPublisher {
        session: String,
        stream: String,
        peer: String,
    },
    /// A subscription to a stream whose media flows: the router offers to the subscriber.
    OpenSubscriber {
        session: String,
        stream: String,
        subscriber: String,
        peer: String,
    },
    /// An SDP offer from a leg's client (a publisher's first, or an ICE restart); answered
    /// with [`Event::Answer`].
    Offer {
        session: String,
        leg: Leg,
        sdp: String,
    },
    /// A subscriber's answer to the router's offer.
    Answer {
        session: String,
        leg: Leg,
        sdp: String,
    },
    /// A trickled ICE candidate (`candidate:…`) from a leg's client.
    Candidate {
        session: String,
        leg: Leg,
        candidate: String,
    },
    /// The subscribers fed from publisher leg `from` are fed from `to` from now on (a
    /// migrated publisher's new peer connection), each from its next keyframe.
    Repoint {
        session: String,
        from: String,
        to: String,
    },
    /// Unpublish (also closes the stream's subscribers), unsubscribe.
    Close { session: String, leg: Leg },
    /// The session was destroyed or forgotten: every peer connection in it closes.
    CloseSession { session: String },
}

/// What the router tells the sandbox, from its own thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The answer to a client's offer on `leg`.
    Answer {
        session: String,
        leg: Leg,
        peer: String,
        sdp: String,
    },
    /// The router's offer to a subscriber.
    Offer {
        session: String,
        stream: String,
        subscriber: String,
        peer: String,
        sdp: String,
    },
    /// A publisher's first media arrived: the stream may be announced.
    Flowing { session: String, stream: String },
    /// A leg closed without being asked (refused SDP, no connection in time, ICE lost).
    Failed {
        session: String,
        leg: Leg,
        why: &'static str,
    },
}

/// Receives the router's events on the router's thread; must not block for long.
pub type EventSink = Box<dyn Fn(Event) + Send>;

/// The router is gone or its queue is full: the request is refused rather than waited on.
#[derive(Debug, PartialEq, Eq)]
pub struct Busy;

/// What one session's media table holds and has carried, for the admin API and tests (how a
/// test knows that media went through the sandbox). Refreshed twice a second.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SessionStats {
    pub publishers: usize,
    pub subscribers: usize,
    /// Legs whose ICE and DTLS are up.
    pub connected: usize,
    /// Frames (audio and video) received from publishers.
    pub frames_in: u64,
    /// Frames written to subscribers.
    pub frames_out: u64,
    pub keyframe_requests: u64,
}

pub type Stats = Arc<Mutex<HashMap<String, SessionStats>>>;

/// The handle the sandbox keeps; dropping it stops the router thread.
pub struct MediaRouter {
    tx: SyncSender<Command>,
    addr: SocketAddr,
    stats: Stats,
}

impl MediaRouter {
    /// Binds one UDP socket on `ip` (port 0: any free one) and starts the router thread.
    pub fn start(ip: IpAddr, port: u16, events: EventSink) -> io::Result<MediaRouter> {
        let socket = UdpSocket::bind(SocketAddr::new(ip, port))?;
        let addr = socket.local_addr()?;
        let (tx, rx) = sync_channel(COMMAND_QUEUE);
        let stats = Stats::default();
        let shared = Arc::clone(&stats);
        thread::Builder::new()
            .name("media-router".into())
            .spawn(move || run::Router::new(socket, addr, events, shared).run(rx))?;
        Ok(MediaRouter { tx, addr, stats })
    }

    /// One session's figures (`None`: it never had media here, or it is gone).
    pub fn stats(&self, session: &str) -> Option<SessionStats> {
        self.stats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(session)
            .cloned()
    }

    /// The one address every peer connection uses (the candidate in each SDP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn send(&self, command: Command) -> Result<(), Busy> {
        self.tx.try_send(command).map_err(|e| match e {
            TrySendError::Full(_) | TrySendError::Disconnected(_) => Busy,
        })
    }
}
