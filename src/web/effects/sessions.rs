//! The OT sessions the call is in or joining: each `Session` object with its listeners, the
//! number of its connection attempt, the remote `Stream` objects it announced (to subscribe
//! to later), and our moved signal into it while that is pending.

use std::rc::Weak;

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::engine::{ConnectionId, Input, Millis, SessionId, StreamId};
use crate::sorted_map::SortedMap;
use crate::web::listener::{Callback, Listener, Route, SessionEvent, Sink};
use crate::web::ot::{self, describe, Ot, OtSession};

pub struct SessionIo {
    pub session: OtSession,
    gen: u32,
    connected: bool,
    /// Remote streams by ID: the vendor's object and whether it has video.
    streams: SortedMap<StreamId, (JsValue, bool)>,
    /// The completion of our moved signal, while it is pending.
    announce: Option<Callback>,
    connect: Option<Callback>,
    _listeners: Vec<Listener>,
}

impl SessionIo {
    /// Lets go of its listeners and callbacks. A session left before its connect completed
    /// is disconnected if it connects after all (see `Callback::disconnect_if_connected`).
    pub fn release(mut self, disconnecting: bool) {
        if let Some(done) = self.connect.take() {
            if disconnecting && !self.connected {
                done.disconnect_if_connected(self.session.clone());
            }
        }
    }
}

#[derive(Default)]
pub struct Sessions {
    map: SortedMap<SessionId, SessionIo>,
    /// Numbers each connection attempt, so a queued event of a left session never reaches a
    /// new connection to the same session ID.
    next_gen: u32,
}

/// `signal:<kind>`, the vendor's event name for signals of one type.
fn signal_event(kind: &str) -> String {
    let mut s = String::with_capacity(7 + kind.len());
    s.push_str("signal:");
    s.push_str(kind);
    s
}

impl Sessions {
    pub fn get(&self, session: &SessionId) -> Option<&SessionIo> {
        self.map.get(session)
    }

    pub fn remove(&mut self, session: &SessionId) -> Option<SessionIo> {
        self.map.remove(session)
    }

    /// Every session, taken out.
    pub fn take_all(&mut self) -> Vec<(SessionId, SessionIo)> {
        self.map.drain().collect()
    }

    /// Whether the current connection to `session` has completed its connect.
    pub fn is_connected(&self, session: &SessionId) -> bool {
        self.map.get(session).is_some_and(|io| io.connected)
    }

    /// Whether `gen` is the current connection attempt to `session`.
    pub fn is_current(&self, session: &SessionId, gen: u32) -> bool {
        self.map.get(session).is_some_and(|io| io.gen == gen)
    }

    /// `OT.initSession` with our listeners, then `session.connect(token)`.
    #[allow(clippy::too_many_arguments)]
    pub fn connect(
        &mut self,
        sink: &Weak<dyn Sink>,
        ot: &Ot,
        application_id: &str,
        options: &JsValue,
        id: &SessionId,
        token: &str,
        signal_type: &str,
        moved_type: &str,
    ) -> Result<(), String> {
        let session = ot
            .init_session(application_id, id.as_str(), options)
            .map_err(|e| describe(&e))?;
        self.next_gen = self.next_gen.wrapping_add(1);
        let gen = self.next_gen;
        let route = |ev| Route::Session(id.clone(), gen, ev);
        let mut listeners: Vec<Listener> = SessionEvent::NAMED
            .iter()
            .filter_map(|(ev, name)| Listener::new(sink, &session, name, route(*ev)))
            .collect();
        for (kind, ev) in [
            (signal_type, SessionEvent::Signal),
            (moved_type, SessionEvent::Moved),
        ] {
            listeners.extend(Listener::new(
                sink,
                &session,
                &signal_event(kind),
                route(ev),
            ));
        }
        let done = Callback::new(sink, Route::Connected(id.clone(), gen));
        session
            .connect(token, done.function())
            .map_err(|e| describe(&e))?;
        self.map.insert(
            id.clone(),
            SessionIo {
                session,
                gen,
                connected: false,
                streams: SortedMap::default(),
                announce: None,
                connect: Some(done),
                _listeners: listeners,
            },
        );
        Ok(())
    }

    /// The connect of attempt `gen` completed: connected (with our own connection's ID), or
    /// failed and forgotten.
    pub fn connected(
        &mut self,
        id: SessionId,
        gen: u32,
        error: Option<(String, Option<u32>)>,
    ) -> Option<Input> {
        let io = self.map.get_mut(&id).filter(|io| io.gen == gen)?;
        if let Some((error, code)) = error {
            self.map.remove(&id);
            return Some(Input::ConnectFailed {
                session: id,
                error,
                code,
            });
        }
        io.connected = true;
        io.connect = None;
        let own = ot::get(&io.session, "connection");
        let own_id = own.as_ref().and_then(|c| ot::text(c, "connectionId"));
        // When the platform created our connection, by its clock: the engine reads signal
        // deadlines on the server's clock through it.
        let server_time = own
            .and_then(|c| ot::get(&c, "creationTime"))
            .and_then(|t| t.as_f64())
            .filter(|t| t.is_finite() && *t > 0.0)
            .map(|t| t as Millis);
        // The session info the client fetched says how media flows: `p2pEnabled` false is
        // routed (not in the vendor's typings: read, never required).
        let routed = ot::get(&io.session, "sessionInfo")
            .and_then(|i| ot::get(&i, "p2pEnabled"))
            .and_then(|p| p.as_bool())
            .map(|p2p| !p2p);
        Some(Input::Connected {
            session: id,
            connection: ConnectionId::from(own_id.unwrap_or_default()),
            server_time,
            routed,
        })
    }

    pub fn record_stream(
        &mut self,
        session: &SessionId,
        id: StreamId,
        stream: JsValue,
        video: bool,
    ) {
        if let Some(io) = self.map.get_mut(session) {
            io.streams.insert(id, (stream, video));
        }
    }

    /// Forgets a stream; whether it was known.
    pub fn forget_stream(&mut self, session: &SessionId, id: &StreamId) -> bool {
        self.map
            .get_mut(session)
            .is_some_and(|io| io.streams.remove(id).is_some())
    }

    /// The vendor's object of a stream, and whether it has video.
    pub fn stream(
        &self,
        session: &SessionId,
        id: &StreamId,
    ) -> Option<(&OtSession, &JsValue, bool)> {
        let io = self.map.get(session)?;
        let (stream, video) = io.streams.get(id)?;
        Some((&io.session, stream, *video))
    }

    /// Sends a signal to every connection of `session`; its completion comes back as
    /// `Route::Announced`.
    pub fn signal(
        &mut self,
        sink: &Weak<dyn Sink>,
        session: &SessionId,
        kind: &str,
        data: &str,
    ) -> Result<(), String> {
        let Some(io) = self.map.get_mut(session) else {
            return Err(String::from("not connected to the session"));
        };
        let signal = Object::new();
        let _ = Reflect::set(&signal, &"type".into(), &JsValue::from_str(kind));
        let _ = Reflect::set(&signal, &"data".into(), &JsValue::from_str(data));
        let done = Callback::new(sink, Route::Announced(session.clone()));
        io.session
            .signal(&signal, done.function())
            .map_err(|e| describe(&e))?;
        io.announce = Some(done);
        Ok(())
    }

    /// Our moved signal's completion.
    pub fn announced(&mut self, session: SessionId, error: Option<String>) -> Option<Input> {
        if let Some(io) = self.map.get_mut(&session) {
            io.announce = None;
        }
        Some(Input::AnnounceFailed {
            session,
            error: error?,
        })
    }
}
