//! The OT sessions the call is in or joining: each `Session` object with its listeners,
//! whether its connect completed, the remote `Stream` objects it announced (to subscribe to
//! later), and our moved signal into it while that is pending.

use std::rc::Weak;

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::engine::{ConnectionId, Input, Millis, SessionId, StreamId};
use crate::sorted_map::SortedMap;
use crate::web::listener::{Callback, Listener, Route, SessionEvent, Sink};
use crate::web::ot::{self, describe, Ot, OtSession};

pub struct SessionIo {
    session: OtSession,
    connected: bool,
    /// Remote streams by ID: the vendor's object and whether it has video.
    streams: SortedMap<StreamId, (JsValue, bool)>,
    /// The completion of our moved signal, while it is pending.
    announce: Option<Callback>,
    connect: Option<Callback>,
    _listeners: Vec<Listener>,
}

impl SessionIo {
    pub fn session(&self) -> &OtSession {
        &self.session
    }

    /// Lets go of its listeners and callbacks (`disconnect`: we are the ones leaving, so
    /// `disconnect()` too). A session left before its connect completed is disconnected if
    /// it connects after all (see `Callback::disconnect_if_connected`).
    pub fn release(mut self, disconnect: bool) {
        if let Some(done) = self.connect.take() {
            if disconnect && !self.connected {
                done.disconnect_if_connected(self.session.clone());
            }
        }
        if disconnect {
            let _ = self.session.disconnect();
        }
    }
}

#[derive(Default)]
pub struct Sessions {
    map: SortedMap<SessionId, SessionIo>,
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
        let route = |ev| Route::Session(id.clone(), ev);
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
        let done = Callback::new(sink, Route::Connected(id.clone()));
        session
            .connect(token, done.function())
            .map_err(|e| describe(&e))?;
        self.map.insert(
            id.clone(),
            SessionIo {
                session,
                connected: false,
                streams: SortedMap::default(),
                announce: None,
                connect: Some(done),
                _listeners: listeners,
            },
        );
        Ok(())
    }

    /// The connect completed: connected (with our own connection's ID), or failed and
    /// forgotten.
    pub fn connected(
        &mut self,
        id: SessionId,
        error: Option<(String, Option<u32>)>,
    ) -> Option<Input> {
        let io = self.map.get_mut(&id)?;
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

    /// A remote stream appeared (`created`: the engine's input): its object is kept to
    /// subscribe to.
    pub fn stream_created(&mut self, object: JsValue, created: Input) -> Option<Input> {
        if let Input::StreamCreated {
            session,
            stream,
            has_video,
            ..
        } = &created
        {
            let io = self.map.get_mut(session)?;
            io.streams.insert(stream.clone(), (object, *has_video));
        }
        Some(created)
    }

    /// A remote stream ended (`gone`: the engine's input, if it was one we knew).
    pub fn stream_gone(&mut self, gone: Input) -> Option<Input> {
        let Input::StreamDestroyed { session, stream } = &gone else {
            return None;
        };
        let known = self
            .map
            .get_mut(session)
            .is_some_and(|io| io.streams.remove(stream).is_some());
        known.then_some(gone)
    }

    /// Whether `session` still has the stream (the vendor ends a subscriber with its stream).
    pub fn has_stream(&self, session: &SessionId, id: &StreamId) -> bool {
        self.map
            .get(session)
            .is_some_and(|io| io.streams.contains_key(id))
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
    /// `Route::Announced` (the previous one's callback goes: one pending at a time).
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
}
