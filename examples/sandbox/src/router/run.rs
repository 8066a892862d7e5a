//! The router's thread: one UDP socket, every session's peer connections, and the forwarding
//! between them. The loop, as str0m's `chat.rs`: take commands, drain every `Rtc`'s output
//! (sending its datagrams, collecting the media and keyframe requests to pass on), pass them
//! on, then wait for a datagram or the earliest timeout and feed it in.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use str0m::media::{MediaData, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Event as RtcEvent, IceConnectionState, Input, Output};

use super::legs::{Peer, Publisher, Subscriber};
use super::table::{forward, repoint, SessionMedia};
use super::{
    Command, Event, EventSink, Leg, SessionStats, Stats, MAX_PUBLISHERS_PER_SESSION, MAX_SESSIONS,
    MAX_SUBSCRIBERS_PER_SESSION,
};

/// How long the loop sleeps at most with media flowing, so commands wait at most this long.
const COMMAND_LATENCY: Duration = Duration::from_millis(5);
/// With no peer connection at all the loop waits on commands alone.
const IDLE_WAIT: Duration = Duration::from_secs(1);
/// Datagrams read in one go before the legs' timers run again.
const MAX_BATCH: usize = 256;
/// A pass of the loop busier than this is traced (`SANDBOX_MEDIA_LOG`): every stream stalls.
const SLOW_PASS: Duration = Duration::from_millis(50);
/// How often the shared [`Stats`] are refreshed.
const STATS_EVERY: Duration = Duration::from_millis(500);

/// What one leg's output asks of the others.
enum Pass {
    Media(String, Box<MediaData>),
    Keyframe(String),
}

pub struct Router {
    socket: UdpSocket,
    addr: SocketAddr,
    sessions: HashMap<String, SessionMedia>,
    events: EventSink,
    buf: Vec<u8>,
    stats: Stats,
    stats_at: Instant,
    /// `SANDBOX_MEDIA_LOG=1`: each leg's steps on stderr, with ms since the router started.
    log: Option<Instant>,
}

macro_rules! trace {
    ($log:expr, $($arg:tt)*) => {
        if let Some(t0) = $log {
            eprintln!("media +{}ms {}", t0.elapsed().as_millis(), format_args!($($arg)*));
        }
    };
}

impl Router {
    pub fn new(socket: UdpSocket, addr: SocketAddr, events: EventSink, stats: Stats) -> Self {
        Router {
            socket,
            addr,
            sessions: HashMap::new(),
            events,
            buf: vec![0; 2000],
            stats,
            stats_at: Instant::now(),
            log: std::env::var_os("SANDBOX_MEDIA_LOG")
                .filter(|v| v == "1")
                .map(|_| Instant::now()),
        }
    }

    fn publish_stats(&mut self, now: Instant) {
        if now.saturating_duration_since(self.stats_at) < STATS_EVERY {
            return;
        }
        self.stats_at = now;
        let fresh: HashMap<String, SessionStats> = self
            .sessions
            .iter()
            .map(|(id, s)| (id.clone(), s.stats()))
            .collect();
        *self.stats.lock().unwrap_or_else(|p| p.into_inner()) = fresh;
    }

    pub fn run(mut self, rx: Receiver<Command>) {
        loop {
            self.publish_stats(Instant::now());
            // With no peer connection anywhere (tables of sessions whose media ended stay until
            // the session goes) the loop waits on commands alone.
            if self.sessions.values().all(SessionMedia::is_empty) {
                match rx.recv_timeout(IDLE_WAIT) {
                    Ok(c) => self.command(c, Instant::now()),
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            loop {
                match rx.try_recv() {
                    Ok(c) => self.command(c, Instant::now()),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return,
                }
            }
            let started = Instant::now();
            let next = self.drain(started);
            let now = Instant::now();
            let wait = next
                .saturating_duration_since(now)
                .clamp(Duration::from_millis(1), COMMAND_LATENCY);
            let received = self.receive(wait);
            // Only the legs whose own timeout is due: feeding every leg a timeout for every
            // datagram cost more than the media itself.
            let now = Instant::now();
            for s in self.sessions.values_mut() {
                for peer in s.peers_mut() {
                    if peer.due <= now {
                        feed(peer, Input::Timeout(now));
                    }
                }
            }
            self.reap(now);
            let busy = now.saturating_duration_since(started).saturating_sub(wait);
            if busy > SLOW_PASS {
                trace!(
                    self.log,
                    "slow pass: {} ms busy, {received} datagrams",
                    busy.as_millis()
                );
            }
        }
    }

    fn emit(&self, e: Event) {
        (self.events)(e);
    }

    fn failed(&self, session: &str, leg: Leg, why: &'static str) {
        self.emit(Event::Failed {
            session: session.to_owned(),
            leg,
            why,
        });
    }

    fn command(&mut self, c: Command, now: Instant) {
        match c {
            Command::OpenPublisher {
                session,
                stream,
                peer,
            } => {
                if !self.sessions.contains_key(&session) && self.sessions.len() >= MAX_SESSIONS {
                    return self.failed(&session, Leg::Publisher(stream), "routerFull");
                }
                let s = self.sessions.entry(session.clone()).or_default();
                if s.publishers.len() >= MAX_PUBLISHERS_PER_SESSION {
                    return self.failed(&session, Leg::Publisher(stream), "tooManyPublishers");
                }
                trace!(self.log, "{session} publisher {stream}: open");
                s.publishers
                    .insert(stream, Publisher::new(self.addr, peer, now));
            }
            Command::OpenSubscriber {
                session,
                stream,
                subscriber,
                peer,
            } => {
                let leg = Leg::Subscriber(subscriber.clone());
                let Some(s) = self.sessions.get_mut(&session) else {
                    return self.failed(&session, leg, "noSuchStream");
                };
                if s.subscribers.len() >= MAX_SUBSCRIBERS_PER_SESSION {
                    return self.failed(&session, leg, "tooManySubscribers");
                }
                let Some(kinds) = s
                    .publishers
                    .get(&stream)
                    .map(|p| p.media.iter().map(|(_, k)| *k).collect::<Vec<MediaKind>>())
                else {
                    return self.failed(&session, leg, "noSuchStream");
                };
                let Some((sub, sdp)) =
                    Subscriber::offer(self.addr, peer.clone(), &stream, &kinds, now)
                else {
                    return self.failed(&session, leg, "noMedia");
                };
                trace!(
                    self.log,
                    "{session} subscriber {subscriber} of {stream}: offered {kinds:?}"
                );
                s.subscribers.insert(subscriber.clone(), sub);
                self.emit(Event::Offer {
                    session,
                    stream,
                    subscriber,
                    peer,
                    sdp,
                });
            }
            Command::Offer { session, leg, sdp } => {
                let Some(peer) = self.peer_mut(&session, &leg) else {
                    return self.failed(&session, leg, "noSuchLeg");
                };
                match peer.accept_offer(&sdp) {
                    Ok(answer) => {
                        let peer = peer.peer.clone();
                        trace!(self.log, "{session} {leg:?}: offer answered");
                        self.emit(Event::Answer {
                            session,
                            leg,
                            peer,
                            sdp: answer,
                        });
                    }
                    Err(why) => {
                        self.close(&session, &leg);
                        self.failed(&session, leg, why);
                    }
                }
            }
            Command::Answer { session, leg, sdp } => {
                trace!(self.log, "{session} {leg:?}: answer received");
                let result = match self.sessions.get_mut(&session).and_then(|s| match &leg {
                    Leg::Subscriber(id) => s.subscribers.get_mut(id),
                    Leg::Publisher(_) => None,
                }) {
                    Some(sub) => sub.accept_answer(&sdp, now),
                    None => Err("noSuchLeg"),
                };
                trace!(self.log, "{session} {leg:?}: answer {result:?}");
                if let Err(why) = result {
                    self.close(&session, &leg);
                    self.failed(&session, leg, why);
                }
            }
            Command::Candidate {
                session,
                leg,
                candidate,
            } => {
                if let Some(peer) = self.peer_mut(&session, &leg) {
                    peer.add_candidate(&candidate);
                }
            }
            Command::Repoint { session, from, to } => {
                if let Some(s) = self.sessions.get_mut(&session) {
                    trace!(
                        self.log,
                        "{session} subscribers of {from}: now fed from {to}"
                    );
                    if repoint(s, &from, &to) > 0 {
                        if let Some(p) = s.publishers.get_mut(&to) {
                            if p.request_keyframe(now) {
                                s.keyframe_requests += 1;
                            }
                        }
                    }
                }
            }
            Command::Close { session, leg } => self.close(&session, &leg),
            Command::CloseSession { session } => {
                self.sessions.remove(&session);
            }
        }
    }

    fn peer_mut(&mut self, session: &str, leg: &Leg) -> Option<&mut Peer> {
        let s = self.sessions.get_mut(session)?;
        match leg {
            Leg::Publisher(id) => s.publishers.get_mut(id).map(|p| &mut p.peer),
            Leg::Subscriber(id) => s.subscribers.get_mut(id).map(|x| &mut x.peer),
        }
    }

    /// Closes one leg; a publisher takes its subscribers with it. A session left with no
    /// leg keeps its (empty) table until it is destroyed.
    fn close(&mut self, session: &str, leg: &Leg) {
        let Some(s) = self.sessions.get_mut(session) else {
            return;
        };
        match leg {
            Leg::Publisher(id) => {
                if let Some(mut p) = s.publishers.remove(id) {
                    p.peer.rtc.disconnect();
                }
                s.subscribers.retain(|_, x| {
                    let keep = &x.stream != id;
                    if !keep {
                        x.peer.rtc.disconnect();
                    }
                    keep
                });
            }
            Leg::Subscriber(id) => {
                if let Some(mut x) = s.subscribers.remove(id) {
                    x.peer.rtc.disconnect();
                }
            }
        }
    }

    /// Polls every leg until it only has a timeout left, sending its datagrams and passing
    /// media and keyframe requests on; returns the earliest timeout.
    fn drain(&mut self, now: Instant) -> Instant {
        let mut next = now + IDLE_WAIT;
        let socket = &self.socket;
        let events = &self.events;
        let log = self.log;
        for (sid, s) in self.sessions.iter_mut() {
            loop {
                let mut passes: Vec<Pass> = Vec::new();
                for (stream, p) in s.publishers.iter_mut() {
                    let opened = p.peer.opened;
                    let t = poll(&mut p.peer, socket, |e| match e {
                        RtcEvent::MediaAdded(m) => {
                            p.media.push((m.mid, m.kind));
                        }
                        RtcEvent::MediaData(d) => {
                            if !p.flowing {
                                trace!(
                                    log,
                                    "{sid} publisher {stream}: media flowing, {} ms after open",
                                    opened.elapsed().as_millis()
                                );
                                p.flowing = true;
                                events(Event::Flowing {
                                    session: sid.clone(),
                                    stream: stream.clone(),
                                });
                            }
                            s.frames_in += 1;
                            if !d.contiguous {
                                passes.push(Pass::Keyframe(stream.clone()));
                            }
                            passes.push(Pass::Media(stream.clone(), Box::new(d)));
                        }
                        _ => {}
                    });
                    next = next.min(t);
                }
                for x in s.subscribers.values_mut() {
                    let stream = x.stream.clone();
                    let mut connected = false;
                    let opened = x.peer.opened;
                    let t = poll(&mut x.peer, socket, |e| match e {
                        RtcEvent::Connected => connected = true,
                        RtcEvent::IceConnectionStateChange(st) => {
                            trace!(
                                log,
                                "{sid} subscriber of {stream}: ice {st:?} {} ms after the offer",
                                opened.elapsed().as_millis()
                            );
                        }
                        RtcEvent::KeyframeRequest(_) => passes.push(Pass::Keyframe(stream.clone())),
                        _ => {}
                    });
                    if connected {
                        trace!(
                            log,
                            "{sid} subscriber of {stream}: connected {} ms after the offer",
                            x.peer.opened.elapsed().as_millis()
                        );
                        x.wants_keyframe = true;
                    }
                    // Asked again until one comes (the publisher throttles): a request can be
                    // lost, and a subscriber shown no delta frames never asks by itself.
                    if x.peer.connected && x.wants_keyframe {
                        passes.push(Pass::Keyframe(stream));
                    }
                    next = next.min(t);
                }
                // Written media and sent requests are datagrams to drain: poll again until a
                // pass changes nothing.
                let mut progress = false;
                for pass in passes {
                    match pass {
                        Pass::Keyframe(stream) => {
                            if let Some(p) = s.publishers.get_mut(&stream) {
                                if p.request_keyframe(now) {
                                    s.keyframe_requests += 1;
                                    progress = true;
                                }
                            }
                        }
                        Pass::Media(stream, d) => {
                            if d.is_keyframe() {
                                trace!(log, "{sid} publisher {stream}: keyframe");
                            }
                            s.frames_out += forward(s, &stream, &d);
                            progress = true;
                        }
                    }
                }
                if !progress {
                    break;
                }
            }
        }
        next
    }

    /// Waits up to `wait` for a datagram, then reads what else is already queued (up to
    /// [`MAX_BATCH`]), handing each to the leg whose ICE it belongs to; returns how many.
    fn receive(&mut self, wait: Duration) -> usize {
        if self.socket.set_read_timeout(Some(wait)).is_err() {
            return 0;
        }
        if !self.receive_one() {
            return 0;
        }
        let mut n = 1;
        if self.socket.set_nonblocking(true).is_ok() {
            while n < MAX_BATCH && self.receive_one() {
                n += 1;
            }
            let _ = self.socket.set_nonblocking(false);
        }
        n
    }

    /// Reads one datagram if one comes; false on a timeout or nothing queued.
    fn receive_one(&mut self) -> bool {
        let (n, source) = match self.socket.recv_from(&mut self.buf) {
            Ok(r) => r,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            // A datagram bounced off a closed port (ICMP): nothing to do, read on.
            Err(_) => return true,
        };
        let Ok(contents) = self.buf[..n].try_into() else {
            return true;
        };
        let input = Input::Receive(
            Instant::now(),
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.addr,
                contents,
            },
        );
        for s in self.sessions.values_mut() {
            for peer in s.peers_mut() {
                if peer.rtc.accepts(&input) {
                    feed(peer, input);
                    return true;
                }
            }
        }
        true
    }

    /// Removes the legs that died or never connected, telling the sandbox why.
    fn reap(&mut self, now: Instant) {
        let mut dead: Vec<(String, Leg, &'static str)> = Vec::new();
        for (sid, s) in &self.sessions {
            let why = |p: &Peer| {
                if !p.rtc.is_alive() {
                    Some("disconnected")
                } else if p.timed_out(now) {
                    Some("connectTimeout")
                } else {
                    None
                }
            };
            for (id, p) in &s.publishers {
                if let Some(w) = why(&p.peer) {
                    dead.push((sid.clone(), Leg::Publisher(id.clone()), w));
                }
            }
            for (id, x) in &s.subscribers {
                if let Some(w) = why(&x.peer) {
                    dead.push((sid.clone(), Leg::Subscriber(id.clone()), w));
                }
            }
        }
        for (sid, leg, why) in dead {
            trace!(self.log, "{sid} {leg:?}: closed, {why}");
            self.close(&sid, &leg);
            self.failed(&sid, leg, why);
        }
    }
}

/// Feeds one input; an error ends the leg (it is reaped on the next pass).
fn feed(peer: &mut Peer, input: Input) {
    if peer.rtc.is_alive() && peer.rtc.handle_input(input).is_err() {
        peer.rtc.disconnect();
    }
}

/// Drains one leg's output: datagrams go out, events go to `on_event`; returns its timeout.
fn poll(peer: &mut Peer, socket: &UdpSocket, mut on_event: impl FnMut(RtcEvent)) -> Instant {
    loop {
        if !peer.rtc.is_alive() {
            return Instant::now() + IDLE_WAIT;
        }
        match peer.rtc.poll_output() {
            Ok(Output::Timeout(t)) => {
                peer.due = t;
                return t;
            }
            Ok(Output::Transmit(t)) => {
                let _ = socket.send_to(&t.contents, t.destination);
            }
            Ok(Output::Event(e)) => match e {
                RtcEvent::Connected => {
                    peer.connected = true;
                    on_event(RtcEvent::Connected);
                }
                // Not fatal: before its answer a subscriber's ICE has nothing to check yet, and
                // a connected browser may restart ICE. A leg lost for too long is reaped.
                RtcEvent::IceConnectionStateChange(st) => {
                    peer.lost_since = match st {
                        IceConnectionState::Disconnected => {
                            peer.lost_since.or(Some(Instant::now()))
                        }
                        _ => None,
                    };
                    on_event(RtcEvent::IceConnectionStateChange(st));
                }
                e => on_event(e),
            },
            Err(_) => {
                peer.rtc.disconnect();
                return Instant::now() + IDLE_WAIT;
            }
        }
    }
}
