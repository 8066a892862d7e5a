//! The simulated shell of the engine tests: what the remote world has told it, and the shell
//! itself (open sessions, subscribers, what each tile shows), which carries out the engine's
//! commands and checks the invariants after every step. Part of `harness.rs`.

use std::collections::{BTreeMap, BTreeSet};

use video_handoff::engine::*;

/// What the remote world has told the shell (and so the engine), per session.
#[derive(Default, Debug, Clone)]
pub struct World {
    /// (session, connection) -> key
    pub connections: BTreeMap<(SessionId, ConnectionId), ParticipantKey>,
    /// (session, stream) -> (connection, has_video)
    pub streams: BTreeMap<(SessionId, StreamId), (ConnectionId, bool)>,
}

impl World {
    pub fn key_of(&self, s: &SessionId, stream: &StreamId) -> Option<&ParticipantKey> {
        let (c, _) = self.streams.get(&(s.clone(), stream.clone()))?;
        self.connections.get(&(s.clone(), c.clone()))
    }
}

/// The shell as the engine sees it: open sessions, subscribers, and what each tile shows.
#[derive(Default, Debug, Clone)]
pub struct Shell {
    pub open: BTreeSet<SessionId>,
    pub subs: BTreeSet<(SessionId, StreamId)>,
    /// Subscribers OT ended itself (their stream or connection went).
    pub ended: BTreeSet<(SessionId, StreamId)>,
    /// The participant each `Subscribe` named.
    pub sub_keys: BTreeMap<(SessionId, StreamId), ParticipantKey>,
    pub shown: BTreeMap<ParticipantKey, (SessionId, StreamId)>,
    pub publishing: BTreeSet<SessionId>,
    /// Sessions a publisher was prepared for (while connecting).
    pub prepared: BTreeSet<SessionId>,
    /// Signals sent: (session, kind, data).
    pub sent: Vec<(SessionId, String, String)>,
    pub violations: Vec<String>,
}

impl Shell {
    fn violation(&mut self, v: String) {
        self.violations.push(v);
    }

    pub fn apply(&mut self, cmd: &Command) {
        match cmd {
            Command::Connect { session, .. } => {
                self.open.insert(session.clone());
            }
            Command::Disconnect { session } => {
                for (k, (s, _)) in &self.shown {
                    if s == session {
                        let v = format!("Disconnect {session} while tile {k} still shows it");
                        self.violations.push(v);
                    }
                }
                self.open.remove(session);
                self.publishing.remove(session);
                self.subs.retain(|(s, _)| s != session);
            }
            Command::PreparePublish { session } => {
                if !self.open.contains(session) {
                    self.violation(format!("PreparePublish for {session}, which is not open"));
                }
                self.prepared.insert(session.clone());
            }
            Command::Publish { session } => {
                if !self.open.contains(session) {
                    self.violation(format!("Publish into {session}, which is not open"));
                }
                self.publishing.insert(session.clone());
            }
            Command::Subscribe {
                session,
                stream,
                key: k,
            } => {
                self.sub_keys
                    .insert((session.clone(), stream.clone()), k.clone());
                if !self.open.contains(session) {
                    self.violation(format!("Subscribe in {session}, which is not open"));
                }
                self.ended.remove(&(session.clone(), stream.clone()));
                if !self.subs.insert((session.clone(), stream.clone())) {
                    self.violation(format!("Subscribe twice to {stream}"));
                }
            }
            Command::Unsubscribe { session, stream } => {
                let s = (session.clone(), stream.clone());
                if self.shown.values().any(|x| x == &s) {
                    self.violation(format!("Unsubscribe {stream} while it is shown"));
                }
                // A release that waited its turn may come after OT ended the subscriber with
                // its stream or connection: the shell then has nothing left to do.
                if !self.subs.remove(&s) && !self.ended.contains(&s) {
                    self.violation(format!("Unsubscribe {stream}, not subscribed"));
                }
            }
            Command::Show {
                key,
                session,
                stream,
                replaces,
            } => {
                let s = (session.clone(), stream.clone());
                if !self.subs.contains(&s) {
                    self.violation(format!("Show {stream} for {key}, not subscribed"));
                }
                if replaces.as_ref() != self.shown.get(key) {
                    let v = format!(
                        "Show for {key} replaces {replaces:?}, tile had {:?}",
                        self.shown.get(key)
                    );
                    self.violation(v);
                }
                self.shown.insert(key.clone(), s);
            }
            Command::Hide { key } => {
                if self.shown.remove(key).is_none() {
                    self.violation(format!("Hide {key}, nothing shown"));
                }
            }
            Command::RequestToken { .. } | Command::ResolveSession { .. } => {}
            Command::Signal {
                session,
                kind,
                data,
            } => {
                if !self.open.contains(session) {
                    self.violation(format!("Signal into {session}, which is not open"));
                }
                self.sent
                    .push((session.clone(), kind.clone(), data.clone()));
            }
        }
    }

    /// What OT itself does on an input: subscribers die with their stream or session.
    pub fn before_input(&mut self, world: &mut World, input: &Input) {
        match input {
            Input::ConnectionCreated {
                session,
                connection,
                data,
                app_key,
            } => {
                // The engine's rule: the app's key, else the token data, else the connection.
                let wanted = app_key
                    .clone()
                    .filter(|k| !k.is_empty())
                    .or(data.clone().filter(|d| !d.is_empty()))
                    .unwrap_or_else(|| connection.0.clone());
                if !self.open.contains(session)
                    || world
                        .connections
                        .contains_key(&(session.clone(), connection.clone()))
                {
                    // OT tells nothing of a session not open; a repeated event keeps the key.
                    return;
                }
                // A key another connection of the session has: `key#2`, `key#3`, ...
                let taken = |k: &str| {
                    world
                        .connections
                        .iter()
                        .any(|((s, _), v)| s == session && v.0 == k)
                };
                let mut key = wanted.clone();
                let mut n = 1;
                while taken(&key) {
                    n += 1;
                    key = format!("{wanted}#{n}");
                }
                world
                    .connections
                    .insert((session.clone(), connection.clone()), ParticipantKey(key));
            }
            Input::StreamCreated {
                session,
                stream,
                connection,
                has_video,
                ..
            } => {
                world.streams.insert(
                    (session.clone(), stream.clone()),
                    (connection.clone(), *has_video),
                );
            }
            // there is no subscriber
            Input::SubscribeFailed {
                session, stream, ..
            } if self.subs.remove(&(session.clone(), stream.clone())) => {
                self.ended.insert((session.clone(), stream.clone()));
            }
            Input::StreamDestroyed { session, stream } => {
                world.streams.remove(&(session.clone(), stream.clone()));
                if self.subs.remove(&(session.clone(), stream.clone())) {
                    self.ended.insert((session.clone(), stream.clone()));
                }
            }
            Input::ConnectionDestroyed {
                session,
                connection,
            } => {
                world
                    .connections
                    .remove(&(session.clone(), connection.clone()));
                let gone: Vec<_> = world
                    .streams
                    .iter()
                    .filter(|((s, _), (c, _))| s == session && c == connection)
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in gone {
                    world.streams.remove(&k);
                    if self.subs.remove(&k) {
                        self.ended.insert(k);
                    }
                }
            }
            Input::SessionDisconnected { session, .. } => {
                self.open.remove(session);
                self.publishing.remove(session);
                self.subs.retain(|(s, _)| s != session);
                world.connections.retain(|(s, _), _| s != session);
                world.streams.retain(|(s, _), _| s != session);
            }
            _ => {}
        }
    }

    /// The invariants that must hold after every step.
    pub fn check(&mut self, world: &World, engine: &Engine) {
        // One source per tile is structural; it must be a live subscriber of that participant.
        for (k, (s, st)) in self.shown.clone() {
            if !self.subs.contains(&(s.clone(), st.clone())) {
                self.violation(format!(
                    "tile {k} shows {st} in {s}, which has no subscriber"
                ));
            }
            if let Some(owner) = world.key_of(&s, &st) {
                if owner != &k {
                    self.violation(format!("tile {k} shows {st}, a stream of {owner}"));
                }
            }
        }
        // A subscription is for the stream's own participant.
        for sub in self.subs.clone() {
            if let (Some(owner), Some(named)) =
                (world.key_of(&sub.0, &sub.1), self.sub_keys.get(&sub))
            {
                if owner != named {
                    let v = format!("Subscribe to {} named {named}, a stream of {owner}", sub.1);
                    self.violation(v);
                }
            }
        }
        // Nobody with a subscribed video stream has a blank tile (but for a subscription the
        // engine is releasing: its Unsubscribe or its session's Disconnect waits its turn).
        let releasing = |s: &SessionId, st: &StreamId| {
            engine.waiting_releases().any(|c| match c {
                Command::Unsubscribe { session, stream } => session == s && stream == st,
                Command::Disconnect { session } => session == s,
                _ => false,
            })
        };
        for (s, st) in self.subs.clone() {
            if releasing(&s, &st) {
                continue;
            }
            let Some((_, true)) = world.streams.get(&(s.clone(), st.clone())) else {
                continue;
            };
            if let Some(k) = world.key_of(&s, &st) {
                if !self.shown.contains_key(k) {
                    self.violation(format!(
                        "{k} has video {st} subscribed in {s} but a blank tile"
                    ));
                }
            }
        }
        // The engine's view of the tiles matches the shell's.
        let view: BTreeMap<ParticipantKey, (SessionId, StreamId)> = engine
            .participants()
            .filter_map(|p| {
                p.shown
                    .map(|(s, st)| (p.key.clone(), (s.clone(), st.clone())))
            })
            .collect();
        if view != self.shown {
            self.violation(format!(
                "engine view {view:?} != shell tiles {:?}",
                self.shown
            ));
        }
    }
}
