//! A simulated Video API platform that several engines talk through, as quinn-proto's `Pair`
//! drives two endpoints through a simulated network: sessions with their connections and
//! streams, signals (from the server through REST, and between clients), first frames, and a
//! latency on every hop. Each client is a [`Harness`] (its engine, its simulated shell and the
//! invariant checks after every step); the platform carries out their commands and answers
//! them, and jumps time to the next message or timer, so a run is deterministic and fast.
//! Included by `engine_group.rs` beside `harness.rs`.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};

use crate::harness::{wire, Harness, T0};
use video_handoff::engine::*;

/// One client: a name (its token data, so its participant key) and its engine.
pub struct Peer {
    pub name: String,
    pub h: Harness,
    /// Every output with the time it came, for the test's own questions.
    pub outputs: Vec<(Millis, Output)>,
}

impl Peer {
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.outputs.iter().filter_map(|(_, o)| match o {
            Output::Event(e) => Some(e),
            _ => None,
        })
    }

    /// When this client sent its first command matching `f`.
    pub fn first_command(&self, f: impl Fn(&Command) -> bool) -> Option<Millis> {
        self.outputs.iter().find_map(|(t, o)| match o {
            Output::Command(c) if f(c) => Some(*t),
            _ => None,
        })
    }
}

/// A session on the server: its connections (connection -> client) and streams
/// (stream -> connection).
#[derive(Default)]
struct Room {
    connections: BTreeMap<ConnectionId, usize>,
    streams: BTreeMap<StreamId, ConnectionId>,
}

/// What travels: to a client (an input), or to the server (a client's request).
enum Hop {
    ToClient(usize, Input),
    ToServer(usize, Request),
}

enum Request {
    Connect(SessionId),
    Disconnect(SessionId),
    Publish(SessionId),
    Subscribe(SessionId, StreamId),
    Signal(SessionId, String, String),
}

pub struct Platform {
    pub now: Millis,
    /// One hop, client to server or server to client.
    pub latency: Millis,
    /// From a subscription reaching the server to its first frame rendering on the client.
    pub render_ms: Millis,
    pub peers: Vec<Peer>,
    rooms: BTreeMap<SessionId, Room>,
    /// Where the app server moved a session (what `resolveSession` answers).
    pub moved_to: BTreeMap<SessionId, SessionId>,
    /// Scripted connect failures, per (client, session), in order: the vendor's code.
    pub connect_failures: BTreeMap<(usize, SessionId), VecDeque<u32>>,
    /// Pictures lost: a stream that died on the server while a viewer's tile showed it
    /// (time, viewer, stream).
    pub lost_pictures: Vec<(Millis, String, StreamId)>,
    queue: BTreeMap<(Millis, u64), Hop>,
    seq: u64,
}

impl Platform {
    /// Clients named `names` (their token data), each with `config` and a seed of its own.
    pub fn new(names: &[&str], config: Config) -> Self {
        let peers = names
            .iter()
            .enumerate()
            .map(|(i, n)| Peer {
                name: (*n).to_owned(),
                h: Harness::with_seed(config.clone(), 11 + i as u64),
                outputs: Vec::new(),
            })
            .collect();
        Platform {
            now: T0,
            latency: 150,
            render_ms: 300,
            peers,
            rooms: BTreeMap::new(),
            moved_to: BTreeMap::new(),
            connect_failures: BTreeMap::new(),
            lost_pictures: Vec::new(),
            queue: BTreeMap::new(),
            seq: 0,
        }
    }

    pub fn peer(&self, name: &str) -> &Peer {
        self.peers.iter().find(|p| p.name == name).expect("a peer")
    }

    fn index(&self, name: &str) -> usize {
        self.peers
            .iter()
            .position(|p| p.name == name)
            .expect("a peer")
    }

    fn send(&mut self, after: Millis, hop: Hop) {
        self.seq += 1;
        self.queue.insert((self.now + after, self.seq), hop);
    }

    fn deliver(&mut self, after: Millis, client: usize, input: Input) {
        self.send(after, Hop::ToClient(client, input));
    }

    /// The session IDs whose rooms hold a connection of `client`.
    pub fn sessions_of(&self, name: &str) -> Vec<SessionId> {
        let i = self.index(name);
        self.rooms
            .iter()
            .filter(|(_, r)| r.connections.values().any(|c| *c == i))
            .map(|(s, _)| s.clone())
            .collect()
    }

    /// How many connections and streams `session` holds on the server.
    pub fn room(&self, session: &str) -> (usize, usize) {
        self.rooms
            .get(&SessionId::from(session))
            .map_or((0, 0), |r| (r.connections.len(), r.streams.len()))
    }

    pub fn create_session(&mut self, session: &str) {
        self.rooms.entry(SessionId::from(session)).or_default();
    }

    /// The app joins `session` on client `name`.
    pub fn join(&mut self, name: &str, session: &str) {
        let i = self.index(name);
        let input = Input::Join {
            session: SessionId::from(session),
            token: Some(format!("token-{name}-{session}")),
        };
        self.deliver(0, i, input);
    }

    /// The app server signals `data` through REST to every connection of `session`, each
    /// arriving one hop later plus the delay `extra` gives that client's name.
    pub fn rest_signal(&mut self, session: &str, data: &str, extra: impl Fn(&str) -> Millis) {
        let Some(room) = self.rooms.get(&SessionId::from(session)) else {
            return;
        };
        let targets: Vec<usize> = room.connections.values().copied().collect();
        for i in targets {
            let delay = self.latency + extra(&self.peers[i].name);
            let input = Input::Signal {
                from: None,
                body: wire(data),
            };
            self.deliver(delay, i, input);
        }
    }

    /// The platform destroys `session` (a server rotation): every client still in it is
    /// disconnected with `serverRotation`.
    pub fn destroy(&mut self, session: &str) {
        let id = SessionId::from(session);
        let Some(room) = self.rooms.remove(&id) else {
            return;
        };
        for stream in room.streams.keys() {
            self.check_pictures(&id, stream);
        }
        for client in room.connections.values().copied() {
            let input = Input::SessionDisconnected {
                session: id.clone(),
                reason: DisconnectReason::ServerRotation,
            };
            self.deliver(self.latency, client, input);
        }
    }

    /// Runs messages and timers, in time order, until `end`.
    pub fn run_until(&mut self, end: Millis) {
        loop {
            let next_hop = self.queue.keys().next().map(|(t, _)| *t);
            let next_timer = self
                .peers
                .iter()
                .filter_map(|p| p.h.engine.poll_timeout())
                .min();
            let Some(t) = [next_hop, next_timer].into_iter().flatten().min() else {
                break;
            };
            if t > end {
                break;
            }
            self.now = self.now.max(t);
            if next_hop == Some(t) {
                let (_, hop) = self.queue.pop_first().expect("a hop");
                match hop {
                    Hop::ToClient(i, input) => {
                        self.peers[i].h.now = self.now;
                        let outs = self.peers[i].h.input(input);
                        self.carry_out(i, outs);
                    }
                    Hop::ToServer(i, request) => self.serve(i, request),
                }
            } else {
                for i in 0..self.peers.len() {
                    if self.peers[i]
                        .h
                        .engine
                        .poll_timeout()
                        .is_some_and(|at| at <= t)
                    {
                        let outs = self.peers[i].h.advance_to(t);
                        self.carry_out(i, outs);
                    }
                }
            }
        }
        self.now = self.now.max(end);
        for p in &mut self.peers {
            p.h.now = p.h.now.max(end);
        }
    }

    pub fn run_for(&mut self, ms: Millis) {
        self.run_until(self.now + ms);
    }

    /// What client `i`'s shell does with its engine's outputs: OT requests go to the server,
    /// the app's hooks answer at once.
    fn carry_out(&mut self, i: usize, outs: Vec<Output>) {
        for o in outs {
            self.peers[i].outputs.push((self.now, o.clone()));
            let Output::Command(c) = o else { continue };
            let request = match c {
                Command::Connect { session, .. } => Request::Connect(session),
                Command::Disconnect { session } => Request::Disconnect(session),
                Command::Publish { session } => Request::Publish(session),
                Command::Subscribe {
                    session, stream, ..
                } => Request::Subscribe(session, stream),
                Command::Signal {
                    session,
                    kind,
                    data,
                } => Request::Signal(session, kind, data),
                Command::RequestToken { session } => {
                    let token = format!("token-{}-{session}", self.peers[i].name);
                    let input = Input::Token {
                        session,
                        result: Ok(token),
                    };
                    self.deliver(0, i, input);
                    continue;
                }
                Command::ResolveSession { old } => {
                    let to = self.moved_to.get(&old).map(|s| MoveFields::to(s.as_str()));
                    self.deliver(
                        0,
                        i,
                        Input::Resolved {
                            old,
                            result: Ok(to),
                        },
                    );
                    continue;
                }
                Command::PreparePublish { .. }
                | Command::Unsubscribe { .. }
                | Command::Show { .. }
                | Command::Hide { .. } => continue,
            };
            self.send(self.latency, Hop::ToServer(i, request));
        }
    }

    /// The connection of client `i` in `session`, if it has one there.
    fn connection_of(&self, i: usize, session: &SessionId) -> Option<ConnectionId> {
        let room = self.rooms.get(session)?;
        room.connections
            .iter()
            .find(|(_, c)| **c == i)
            .map(|(id, _)| id.clone())
    }

    /// A stream dies on the server: every viewer still showing it has lost a picture.
    fn check_pictures(&mut self, session: &SessionId, stream: &StreamId) {
        for p in &self.peers {
            if p.h
                .shell
                .shown
                .values()
                .any(|(s, st)| s == session && st == stream)
            {
                self.lost_pictures
                    .push((self.now, p.name.clone(), stream.clone()));
            }
        }
    }

    /// Removes client `i`'s connection from `session`, telling the others.
    fn leave_room(&mut self, i: usize, session: &SessionId) {
        let Some(connection) = self.connection_of(i, session) else {
            return;
        };
        let room = self.rooms.get_mut(session).expect("a room");
        room.connections.remove(&connection);
        let streams: Vec<StreamId> = room
            .streams
            .iter()
            .filter(|(_, c)| **c == connection)
            .map(|(s, _)| s.clone())
            .collect();
        for s in &streams {
            room.streams.remove(s);
        }
        let others: Vec<usize> = room.connections.values().copied().collect();
        for s in &streams {
            self.check_pictures(session, s);
        }
        for other in others {
            for s in &streams {
                let input = Input::StreamDestroyed {
                    session: session.clone(),
                    stream: s.clone(),
                };
                self.deliver(self.latency, other, input);
            }
            let input = Input::ConnectionDestroyed {
                session: session.clone(),
                connection: connection.clone(),
            };
            self.deliver(self.latency, other, input);
        }
    }

    fn serve(&mut self, i: usize, request: Request) {
        let name = self.peers[i].name.clone();
        let hop = self.latency;
        match request {
            Request::Connect(session) => {
                let scripted = self
                    .connect_failures
                    .get_mut(&(i, session.clone()))
                    .and_then(VecDeque::pop_front);
                let code = scripted.or((!self.rooms.contains_key(&session)).then_some(1005));
                if let Some(code) = code {
                    let input = Input::ConnectFailed {
                        session,
                        error: format!("connect failed ({code})"),
                        code: Some(code),
                    };
                    return self.deliver(hop, i, input);
                }
                self.leave_room(i, &session); // an earlier attempt's connection
                let connection = ConnectionId::from(format!("{name}@{session}"));
                let room = self.rooms.get_mut(&session).expect("a room");
                let present: Vec<(ConnectionId, usize)> = room
                    .connections
                    .iter()
                    .map(|(c, p)| (c.clone(), *p))
                    .collect();
                let streams: Vec<(StreamId, ConnectionId)> = room
                    .streams
                    .iter()
                    .map(|(s, c)| (s.clone(), c.clone()))
                    .collect();
                room.connections.insert(connection.clone(), i);
                let connected = Input::Connected {
                    session: session.clone(),
                    connection: connection.clone(),
                    server_time: Some(self.now),
                    // The platform's default: routed (subscriptions are not paced).
                    routed: Some(true),
                };
                self.deliver(hop, i, connected);
                for (c, p) in &present {
                    let data = Some(self.peers[*p].name.clone());
                    let input = Input::ConnectionCreated {
                        session: session.clone(),
                        connection: c.clone(),
                        data,
                        app_key: None,
                    };
                    self.deliver(hop, i, input);
                }
                for (s, c) in streams {
                    let input = Input::StreamCreated {
                        session: session.clone(),
                        stream: s,
                        connection: c,
                        has_video: true,
                    };
                    self.deliver(hop, i, input);
                }
                for (_, p) in present {
                    let input = Input::ConnectionCreated {
                        session: session.clone(),
                        connection: connection.clone(),
                        data: Some(name.clone()),
                        app_key: None,
                    };
                    self.deliver(hop, p, input);
                }
            }
            Request::Disconnect(session) => {
                if self.connection_of(i, &session).is_some() {
                    self.leave_room(i, &session);
                }
                let input = Input::SessionDisconnected {
                    session,
                    reason: DisconnectReason::ClientDisconnected,
                };
                self.deliver(hop, i, input);
            }
            Request::Publish(session) => {
                let Some(connection) = self.connection_of(i, &session) else {
                    let input = Input::PublishFailed {
                        session,
                        error: "not connected".into(),
                    };
                    return self.deliver(hop, i, input);
                };
                let stream = StreamId::from(format!("{name}-cam@{session}"));
                let room = self.rooms.get_mut(&session).expect("a room");
                room.streams.insert(stream.clone(), connection.clone());
                let others: Vec<usize> = room
                    .connections
                    .values()
                    .copied()
                    .filter(|p| *p != i)
                    .collect();
                self.deliver(
                    hop,
                    i,
                    Input::Published {
                        session: session.clone(),
                    },
                );
                for p in others {
                    let input = Input::StreamCreated {
                        session: session.clone(),
                        stream: stream.clone(),
                        connection: connection.clone(),
                        has_video: true,
                    };
                    self.deliver(hop, p, input);
                }
            }
            Request::Subscribe(session, stream) => {
                let live = self
                    .rooms
                    .get(&session)
                    .is_some_and(|r| r.streams.contains_key(&stream));
                if live {
                    let input = Input::FirstFrame { session, stream };
                    self.deliver(hop + self.render_ms, i, input);
                }
            }
            Request::Signal(session, kind, data) => {
                let Some(from) = self.connection_of(i, &session) else {
                    let input = Input::AnnounceFailed {
                        session,
                        error: "not connected".into(),
                    };
                    return self.deliver(hop, i, input);
                };
                let moved = self.peers[i].h.config.moved_signal_type();
                let targets: Vec<usize> =
                    self.rooms[&session].connections.values().copied().collect();
                for p in targets {
                    let input = if kind == moved {
                        Input::Moved {
                            session: session.clone(),
                            from: Some(from.clone()),
                            data: data.clone(),
                        }
                    } else {
                        Input::Signal {
                            from: Some(from.clone()),
                            body: wire(&data),
                        }
                    };
                    self.deliver(hop, p, input);
                }
            }
        }
    }
}
