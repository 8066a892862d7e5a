//! Remote connections and streams, what is subscribed, and what each participant's tile
//! shows.
//!
//! In each connected session the engine subscribes to one stream per participant. Which
//! one a tile shows follows the swap rule ([`Engine::reconcile`]): during a handoff a
//! participant shown from the old session keeps that source until their stream in the new
//! session has rendered a frame; then one `Show` moves the tile over and the old
//! subscriber is removed. Whenever a shown source disappears, the best remaining one is
//! shown at once (a new-session stream even before its first frame), else the tile is
//! hidden; so at any moment a participant with a subscribed stream has a shown source.

use super::session::{RemoteStream, Sub, MAX_CONNECTIONS, MAX_STREAMS};
use super::{
    Command, ConnectionId, Engine, Event, Millis, ParticipantKey, SessionId, Slot, StreamId,
};

impl Engine {
    /// The slot holding `session`, if connected.
    fn connected_slot_of(&self, session: &SessionId) -> Option<Slot> {
        self.slot_of(session)
            .filter(|s| self.slot(*s).is_some_and(|x| x.is_connected()))
    }

    /// The slot holding `session`, if the shell has it open (connecting or connected): its
    /// connection and stream events are believed. Before the connect completes they are only
    /// recorded; [`Engine::admit_early`] takes them in once it has.
    fn open_slot_of(&self, session: &SessionId) -> Option<Slot> {
        self.slot_of(session)
            .filter(|s| self.slot(*s).is_some_and(|x| x.is_open()))
    }

    /// The session in `slot` has just connected: what it said before about this client's own
    /// connection is forgotten, and the others who came early arrive, in the order they came.
    pub(super) fn admit_early(&mut self, slot: Slot) {
        let Some(s) = self.slot_mut(slot) else { return };
        if let Some(own) = s.own.clone() {
            s.connections.remove(&own);
            s.streams.retain(|_, st| st.connection != own);
        }
        let early = std::mem::take(&mut s.early);
        let keys: Vec<ParticipantKey> = early
            .iter()
            .filter_map(|c| s.connections.get(c).cloned())
            .collect();
        for key in &keys {
            if self.participants.arrive(key) {
                self.event(Event::ParticipantJoined { key: key.clone() });
            }
        }
        for key in &keys {
            self.reconcile(key);
        }
    }

    pub(super) fn on_connection_created(
        &mut self,
        session: &SessionId,
        connection: ConnectionId,
        key: ParticipantKey,
    ) {
        let Some(slot) = self.open_slot_of(session) else {
            return;
        };
        let Some(s) = self.slot_mut(slot) else { return };
        if s.own.as_ref() == Some(&connection) || s.connections.contains_key(&connection) {
            return;
        }
        if s.connections.len() >= MAX_CONNECTIONS {
            let session = s.id.clone();
            return self.event(Event::TrackingCapped {
                session,
                what: "connections",
            });
        }
        // Another live connection here already has this key (one user on two devices, or a
        // page claiming another's identity): this one gets a tile of its own, never the
        // other's, and the app is told.
        let wanted = key;
        let mut key = wanted.clone();
        let n = s.free_key_number(&wanted);
        if n > 1 {
            // Concatenated, not `format!`: keeps `core::fmt` out of the shipped wasm.
            let mut k = String::from(wanted.as_str());
            k.push('#');
            push_decimal(&mut k, n);
            key = ParticipantKey::from(k);
        }
        let session_id = s.id.clone();
        for stream in s
            .streams
            .values_mut()
            .filter(|st| st.connection == connection)
        {
            stream.key = Some(key.clone());
        }
        s.connections.insert(connection.clone(), key.clone());
        if key != wanted {
            self.event(Event::DuplicateKey {
                session: session_id,
                key: wanted,
                connection: connection.clone(),
                shown_as: key.clone(),
            });
        }
        let Some(s) = self.slot_mut(slot) else { return };
        if !s.is_connected() {
            return s.early.push(connection);
        }
        if self.participants.arrive(&key) {
            self.event(Event::ParticipantJoined { key: key.clone() });
        }
        self.reconcile(&key);
    }

    pub(super) fn on_connection_destroyed(
        &mut self,
        session: &SessionId,
        connection: &ConnectionId,
    ) {
        let Some(slot) = self.open_slot_of(session) else {
            return;
        };
        let Some(s) = self.slot_mut(slot) else { return };
        let Some(key) = s.connections.remove(connection) else {
            return;
        };
        // OT ends a connection's streams with it (and their subscribers).
        s.streams.retain(|_, st| &st.connection != connection);
        s.early.retain(|c| c != connection);
        if s.is_connected() {
            self.after_departure(&key);
        }
    }

    pub(super) fn on_stream_created(
        &mut self,
        session: &SessionId,
        stream: StreamId,
        connection: ConnectionId,
        has_video: bool,
    ) {
        let Some(slot) = self.open_slot_of(session) else {
            return;
        };
        let Some(s) = self.slot_mut(slot) else { return };
        if s.own.as_ref() == Some(&connection) || s.streams.contains_key(&stream) {
            return;
        }
        if s.streams.len() >= MAX_STREAMS {
            let session = s.id.clone();
            return self.event(Event::TrackingCapped {
                session,
                what: "streams",
            });
        }
        let key = s.connections.get(&connection).cloned();
        let connected = s.is_connected();
        s.streams.insert(
            stream,
            RemoteStream {
                connection,
                key: key.clone(),
                has_video,
                sub: Sub::None,
            },
        );
        if let Some(key) = key.filter(|_| connected) {
            self.reconcile(&key);
        }
    }

    pub(super) fn on_stream_destroyed(&mut self, session: &SessionId, stream: &StreamId) {
        let Some(slot) = self.open_slot_of(session) else {
            return;
        };
        let Some(s) = self.slot_mut(slot) else { return };
        let connected = s.is_connected();
        // OT removes the subscriber itself; the engine only forgets the stream.
        if let Some(key) = s.streams.remove(stream).and_then(|st| st.key) {
            if connected {
                self.reconcile(&key);
                self.admit_waiting();
            }
        }
    }

    pub(super) fn on_first_frame(&mut self, session: &SessionId, stream: &StreamId) {
        let at = self.now;
        let _ = self.set_sub(session, stream, Sub::Subscribed { rendered: true, at });
    }

    pub(super) fn on_subscribe_failed(
        &mut self,
        session: &SessionId,
        stream: &StreamId,
        detail: String,
    ) {
        if let Some(key) = self.set_sub(session, stream, Sub::Failed) {
            self.event(Event::SubscribeFailed {
                key,
                session: session.clone(),
                stream: stream.clone(),
                detail,
            });
        }
    }

    /// Updates a subscribed stream's state and what follows from it. `Some(its key)` when
    /// the stream was one of ours, subscribed.
    fn set_sub(
        &mut self,
        session: &SessionId,
        stream: &StreamId,
        sub: Sub,
    ) -> Option<Option<ParticipantKey>> {
        let slot = self.connected_slot_of(session)?;
        let s = self.slot_mut(slot)?;
        let st = s.streams.get_mut(stream)?;
        if !matches!(st.sub, Sub::Subscribed { .. }) {
            return None; // not ours (yet, or any more)
        }
        st.sub = sub;
        let key = st.key.clone();
        if let Some(key) = &key {
            self.reconcile(key);
        }
        self.admit_waiting();
        Some(key)
    }

    /// Whether `key` has a connection in a session this client is connected to.
    pub(super) fn is_present(&self, key: &ParticipantKey) -> bool {
        [Slot::Live, Slot::Target]
            .into_iter()
            .filter_map(|s| self.slot(s))
            .any(|s| s.is_connected() && s.has_key(key))
    }

    /// `key` lost a connection somewhere: start their absence clock if it was their last.
    pub(super) fn after_departure(&mut self, key: &ParticipantKey) {
        if !self.is_present(key) {
            self.participants.depart(key, self.now);
        }
        self.reconcile(key);
    }

    pub(super) fn reconcile_all(&mut self) {
        let keys: Vec<ParticipantKey> = self.participants.keys().cloned().collect();
        for key in &keys {
            if !self.is_present(key) {
                self.participants.depart(key, self.now);
            }
            self.reconcile(key);
        }
    }

    /// Brings `key`'s subscriptions and tile in line with the swap rule (see module docs).
    pub(super) fn reconcile(&mut self, key: &ParticipantKey) {
        let now = self.now;
        let old = self
            .live
            .as_ref()
            .filter(|s| s.is_connected())
            .map(|s| s.id.clone());
        let new = self
            .handoff
            .as_ref()
            .map(|h| &h.target)
            .filter(|s| s.is_connected())
            .map(|s| s.id.clone());
        let shown = self.participants.shown(key).cloned();
        let shown_valid = shown.as_ref().is_some_and(|(sess, st)| {
            self.slot_of(sess)
                .and_then(|x| self.slot(x))
                .is_some_and(|x| x.is_connected() && x.is_subscribed(st))
        });
        let from_new =
            shown_valid && new.is_some() && shown.as_ref().map(|(s, _)| s) == new.as_ref();
        // Someone shown from the old session waits for a turn to subscribe in the new one.
        let paced = shown_valid && self.subscribes_paced();

        let new_rendered = self
            .handoff
            .as_ref()
            .filter(|h| h.target.is_connected())
            .and_then(|h| h.target.subscribed(key))
            .is_some_and(|(_, rendered)| rendered);

        // 1. One subscription per participant and session (none in the old session once the
        //    tile shows, or is about to show, the new one).
        for slot in [Slot::Live, Slot::Target] {
            if slot == Slot::Live && (from_new || new_rendered) {
                continue;
            }
            if slot == Slot::Target && paced {
                continue;
            }
            let Some(s) = self.slot_mut(slot).filter(|s| s.is_connected()) else {
                continue;
            };
            if s.subscribed(key).is_some() {
                continue;
            }
            let Some(stream) = s.subscribable(key).cloned() else {
                continue;
            };
            if let Some(st) = s.streams.get_mut(&stream) {
                st.sub = Sub::Subscribed {
                    rendered: false,
                    at: now,
                };
            }
            let session = s.id.clone();
            self.command(Command::Subscribe {
                session,
                stream,
                key: key.clone(),
            });
        }

        // 2. What the tile should show.
        let a = self
            .live
            .as_ref()
            .filter(|s| s.is_connected())
            .and_then(|s| s.subscribed(key))
            .map(|(id, _)| id.clone());
        let b = self
            .handoff
            .as_ref()
            .map(|h| &h.target)
            .filter(|s| s.is_connected())
            .and_then(|s| s.subscribed(key))
            .map(|(id, rendered)| (id.clone(), rendered));
        let desired = match (b, &new) {
            (Some((b, rendered)), Some(new)) if rendered || from_new || a.is_none() => {
                Some((new.clone(), b))
            }
            _ => a.zip(old.clone()).map(|(a, old)| (old, a)),
        };
        if desired != shown {
            match &desired {
                Some((session, stream)) => self.command(Command::Show {
                    key: key.clone(),
                    session: session.clone(),
                    stream: stream.clone(),
                    replaces: shown.clone(),
                }),
                None => self.command(Command::Hide { key: key.clone() }),
            }
            self.participants.set_shown(key, desired.clone());
        }

        // 3. Shown from the new session: the old subscriber goes.
        if let (Some((sess, _)), Some(new), Some(old)) = (&desired, &new, &old) {
            if sess == new {
                if let Some(s) = self.live.as_mut() {
                    let dropped: Vec<StreamId> = s
                        .streams
                        .iter_mut()
                        .filter(|(_, st)| {
                            st.key.as_ref() == Some(key) && matches!(st.sub, Sub::Subscribed { .. })
                        })
                        .map(|(id, st)| {
                            st.sub = Sub::None;
                            id.clone()
                        })
                        .collect();
                    for stream in dropped {
                        self.command(Command::Unsubscribe {
                            session: old.clone(),
                            stream,
                        });
                    }
                }
                if shown.as_ref().is_some_and(|(s, _)| s == old) && desired != shown {
                    self.event(Event::ParticipantSwapped {
                        key: key.clone(),
                        from: old.clone(),
                        to: new.clone(),
                    });
                }
            }
        }
    }

    /// Whether the new session's subscriptions waiting for a first frame use up
    /// [`super::Config::max_pending_subscribes`] (or `max_pending_subscribes_routed` for a
    /// routed session; see there), and when the first of them stops counting.
    pub(super) fn subscribe_pace(&self) -> (bool, Option<Millis>) {
        let Some(t) = self.handoff.as_ref().map(|h| &h.target) else {
            return (false, None);
        };
        let max = match t.routed {
            Some(true) => self.config.max_pending_subscribes_routed,
            _ => self.config.max_pending_subscribes,
        };
        match Some(t).filter(|t| max > 0 && t.is_connected()) {
            Some(t) => {
                let (n, next) = t.waiting_first_frames(self.now, self.config.subscribe_pace_ms);
                (n >= max, next)
            }
            None => (false, None),
        }
    }

    fn subscribes_paced(&self) -> bool {
        self.subscribe_pace().0
    }

    /// Participants waiting for a turn to subscribe in the new session get it while there is
    /// room; whether a subscription was made.
    pub(super) fn admit_waiting(&mut self) -> bool {
        let Some(t) = self.handoff.as_ref().map(|h| &h.target) else {
            return false;
        };
        let waiting: Vec<ParticipantKey> = t.keys_unsubscribed().cloned().collect();
        let before = self.out_len();
        for key in &waiting {
            if self.subscribes_paced() {
                break;
            }
            self.reconcile(key);
        }
        self.out_len() != before
    }

    /// Hides every tile showing a stream of `session` (its subscribers are gone).
    pub(super) fn hide_all_from(&mut self, session: &SessionId) {
        for key in self.participants.shown_from(session) {
            self.command(Command::Hide { key: key.clone() });
            self.participants.set_shown(&key, None);
        }
    }
}

/// Appends `n` in decimal (no `core::fmt`).
fn push_decimal(s: &mut String, n: u32) {
    if n >= 10 {
        push_decimal(s, n / 10);
    }
    s.push(char::from(b'0' + (n % 10) as u8));
}
