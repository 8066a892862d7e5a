//! Effects: the engine's commands carried out on the OT objects and the DOM, by the part that
//! owns them, and what the decoded callbacks mean for those objects.
//!
//! - [`sessions`]: the OT sessions, their listeners and the streams they announced;
//! - [`subscribers`]: a subscriber and its `<video>` per subscribed stream;
//! - [`publishers`]: the local media and one publisher per session;
//! - [`tiles`] and [`meter`]: the participants' stable elements and the frame-gap meter;
//! - [`teardown`]: the OT calls that release media, one per task.
//!
//! Nothing here calls back into the drive loop: inputs for the engine and hook calls go back
//! in a [`Back`] list that the loop queues. Dropping [`Effects`] drops every listener and
//! callback it registered.

pub mod meter;
pub mod publishers;
pub mod sessions;
pub mod subscribers;
pub mod teardown;
pub mod tiles;

use std::rc::Weak;

use wasm_bindgen::prelude::*;
use web_sys::{Document, MediaStreamTrack};

use super::contract::options::Options;
use super::decode::{Heard, SessionHeard};
use super::hooks::HookCall;
use super::listener::Sink;
use super::ot::Ot;
use crate::engine::{
    Command, DisconnectReason, Event, Hook, Input, ParticipantKey, SessionId, StreamId,
};
use publishers::Publishers;
use sessions::Sessions;
use subscribers::{Subscribers, Subscription};
use teardown::{Step, Teardown};
use tiles::Tiles;

/// What the effects hand back to the drive loop.
pub enum Back {
    Input(Input),
    Hook(HookCall),
}

pub struct Effects {
    ot: Ot,
    application_id: String,
    /// `initSession`'s options: `{ sessionMigration: true }` when the app asked, else undefined.
    session_options: JsValue,
    signal_type: String,
    moved_type: String,
    pub sessions: Sessions,
    pub subs: Subscribers,
    pub publishers: Publishers,
    pub tiles: Tiles,
    pub teardown: Teardown,
}

/// performance.now(), the time base of `requestVideoFrameCallback`.
pub fn perf_now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Takes a subscriber's video out of its tile and stops watching it.
fn detach(tiles: &mut Tiles, session: &SessionId, stream: &StreamId, sub: &mut Subscription) {
    if let Some(tile) = tiles.showing(session, stream) {
        tile.active = None;
        tile.meter.blank();
    }
    sub.unwatch();
    if let Some(video) = &sub.video {
        video.remove();
    }
}

impl Effects {
    /// `None` when the document cannot make the local tile.
    pub fn new(options: &Options, document: Document) -> Option<Effects> {
        let tiles = Tiles::new(document);
        let local = tiles.local()?;
        Some(Effects {
            ot: options.ot.clone(),
            application_id: options.application_id.clone(),
            session_options: if options.session_migration {
                let o = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&o, &"sessionMigration".into(), &JsValue::TRUE);
                o.into()
            } else {
                JsValue::UNDEFINED
            },
            signal_type: options.config.signal_type.clone(),
            moved_type: options.config.moved_signal_type(),
            sessions: Sessions::default(),
            subs: Subscribers::default(),
            publishers: Publishers::new(local),
            tiles,
            teardown: Teardown::default(),
        })
    }

    pub fn set_local_media(&mut self, tracks: Vec<MediaStreamTrack>, name: String, owned: bool) {
        let document = self.tiles.document().clone();
        self.publishers.set_local(&document, tracks, name, owned);
    }

    pub fn execute(&mut self, sink: &Weak<dyn Sink>, command: Command, back: &mut Vec<Back>) {
        match command {
            Command::Connect { session, token } => {
                self.leave(&session, true);
                // `initSession` hands back the cached object for a session ID: a pending
                // `disconnect` of an earlier connection to this ID must not run after this.
                self.teardown.run_all();
                if let Err(error) = self.sessions.connect(
                    sink,
                    &self.ot,
                    &self.application_id,
                    &self.session_options,
                    &session,
                    &token,
                    &self.signal_type,
                    &self.moved_type,
                ) {
                    back.push(Back::Input(Input::ConnectFailed {
                        session,
                        error,
                        code: None,
                    }));
                }
            }
            Command::Disconnect { session } => {
                if self.sessions.get(&session).is_some() {
                    self.leave(&session, true);
                    // Our handlers are gone with it; the engine still hears that it ended.
                    back.push(Back::Input(Input::SessionDisconnected {
                        session,
                        reason: DisconnectReason::ClientDisconnected,
                    }));
                }
            }
            Command::PreparePublish { session } => {
                // A failure here is only logged by the vendor: the `Publish` that follows the
                // connect prepares again and reports what fails then.
                let _ = self.publishers.prepare(sink, &self.ot, session);
            }
            Command::Publish { session } => {
                let result = match self.sessions.get(&session) {
                    Some(io) => {
                        self.publishers
                            .publish(sink, &self.ot, &io.session, session.clone())
                    }
                    None => Err(String::from("not connected to the session")),
                };
                if let Err(error) = result {
                    back.push(Back::Input(Input::PublishFailed { session, error }));
                }
            }
            Command::Subscribe {
                session,
                stream,
                key,
            } => {
                if self.subs.contains(&session, &stream) {
                    return;
                }
                let result = match self.sessions.stream(&session, &stream) {
                    Some((ot_session, object, video)) => {
                        let (ot_session, object) = (ot_session.clone(), object.clone());
                        self.subs.subscribe(
                            sink,
                            &ot_session,
                            session.clone(),
                            stream.clone(),
                            &object,
                            key,
                            video,
                        )
                    }
                    None => Err(String::from("no such stream in the session")),
                };
                if let Err(error) = result {
                    back.push(Back::Input(Input::SubscribeFailed {
                        session,
                        stream,
                        error,
                    }));
                }
            }
            Command::Unsubscribe { session, stream } => self.unsubscribe(&session, &stream),
            Command::Show {
                key,
                session,
                stream,
                replaces,
            } => {
                self.show(&key, session, stream, replaces);
                // Nothing to measure (the tile showed nothing before): the swap's event, if
                // the engine holds one, need not wait for a figure.
                if !self
                    .tiles
                    .get_mut(&key)
                    .is_some_and(|t| t.meter.measuring())
                {
                    back.push(Back::Input(Input::SwapMeasured { key }));
                }
            }
            Command::Hide { key } => self.hide(&key),
            Command::RequestToken { session } => back.push(Back::Hook(HookCall {
                hook: Hook::TokenProvider,
                session,
            })),
            Command::ResolveSession { old } => back.push(Back::Hook(HookCall {
                hook: Hook::ResolveSession,
                session: old,
            })),
            Command::Signal {
                session,
                kind,
                data,
            } => {
                if let Err(error) = self.sessions.signal(sink, &session, &kind, &data) {
                    back.push(Back::Input(Input::AnnounceFailed { session, error }));
                }
            }
        }
    }

    /// What a decoded callback means here; the engine's input, if it has one, and a swap
    /// measurement it finished.
    pub fn heard(
        &mut self,
        sink: &Weak<dyn Sink>,
        heard: Heard,
    ) -> (Option<Input>, Option<(ParticipantKey, f64)>) {
        let input = match heard {
            Heard::Connected {
                session,
                gen,
                error,
            } => {
                let input = self.sessions.connected(session, gen, error);
                if let Some(Input::ConnectFailed { session, .. }) = &input {
                    self.publishers.drop_prepared(session);
                }
                input
            }
            Heard::Session {
                session,
                gen,
                event,
            } if self.sessions.is_current(&session, gen) => self.session_event(session, event),
            Heard::Session { .. } | Heard::Nothing => None,
            Heard::Subscribed {
                session,
                stream,
                error,
            } => self.subs.subscribed(session, stream, error),
            Heard::Video {
                session,
                stream,
                video,
            } => self
                .subs
                .video_element(sink, &mut self.tiles, session, stream, video),
            Heard::Frame {
                session,
                stream,
                t,
                presented,
            } => {
                return self
                    .subs
                    .frame(&mut self.tiles, &session, &stream, t, presented)
            }
            Heard::Loaded { session, stream } => self.subs.loaded(session, stream),
            Heard::PublishDone { session, error } => self.publishers.done(session, error),
            Heard::OwnStream { session } => self.publishers.own_stream(session),
            Heard::Announced { session, error } => self.sessions.announced(session, error),
            // The drive loop answers these with the hooks.
            Heard::Token { .. } | Heard::Resolved { .. } => None,
        };
        (input, None)
    }

    fn session_event(&mut self, session: SessionId, event: SessionHeard) -> Option<Input> {
        Some(match event {
            // The drive loop asks the app's participantKey first.
            SessionHeard::Connection { .. } => return None,
            SessionHeard::ConnectionGone(connection) => Input::ConnectionDestroyed {
                session,
                connection,
            },
            SessionHeard::Stream {
                id,
                object,
                connection,
                has_video,
            } => {
                self.sessions
                    .record_stream(&session, id.clone(), object, has_video);
                Input::StreamCreated {
                    session,
                    stream: id,
                    connection,
                    has_video,
                }
            }
            SessionHeard::StreamGone(id) => {
                if !self.sessions.forget_stream(&session, &id) {
                    return None;
                }
                Input::StreamDestroyed {
                    session,
                    stream: id,
                }
            }
            SessionHeard::Signal { from, body } => Input::Signal { from, body },
            SessionHeard::Moved { from, data } => Input::Moved {
                session,
                from,
                data,
            },
            // `initSession` hands out one cached object per session ID: a `sessionDisconnected`
            // before our connect completed is the late news of an earlier connection (ours, or
            // a call closed just before), and a connect that fails says so in its completion.
            SessionHeard::Migrated => Input::Migrated { session },
            SessionHeard::Disconnected(_) if !self.sessions.is_connected(&session) => return None,
            SessionHeard::Disconnected(reason) => {
                // The vendor already destroyed this session's publisher and subscribers.
                self.leave(&session, false);
                Input::SessionDisconnected { session, reason }
            }
        })
    }

    /// What an engine event needs from the tiles: a participant's object when they join;
    /// their tile goes when they leave.
    pub fn on_event(&mut self, event: &Event) -> Option<JsValue> {
        match event {
            Event::ParticipantJoined { key } => {
                Some(self.tiles.get_or_create(key)?.participant.clone())
            }
            Event::ParticipantLeft { key } => {
                self.tiles.remove(key);
                None
            }
            _ => None,
        }
    }

    /// Shown: it goes now (nothing may freeze on screen). Replaced by a swap: it stays below
    /// the new video, muted, until its teardown step (see `teardown.rs`).
    fn unsubscribe(&mut self, session: &SessionId, stream: &StreamId) {
        let Some(mut sub) = self.subs.take(session, stream) else {
            return;
        };
        let Some(io) = self.sessions.get(session) else {
            return;
        };
        let keep = if self.tiles.showing(session, stream).is_some() {
            detach(&mut self.tiles, session, stream, &mut sub);
            None
        } else {
            sub.unwatch();
            sub.video.clone()
        };
        self.teardown.push(Step::Unsubscribe(
            io.session.clone(),
            sub.subscriber.clone(),
            keep,
        ));
    }

    /// One synchronous step: the new source up and audible, then the old one down and muted.
    fn show(
        &mut self,
        key: &ParticipantKey,
        session: SessionId,
        stream: StreamId,
        replaces: Option<(SessionId, StreamId)>,
    ) {
        let Some(tile) = self.tiles.get_or_create(key) else {
            return;
        };
        let previous = tile.active.take();
        // The engine names the tile's previous source, also one already gone (its tests hold
        // `replaces` to what the tile showed after every step): nothing to guess here.
        let old = replaces.filter(|o| o.0 != session || o.1 != stream);
        // Without frame callbacks nothing times the new video's frames: no gap is measured
        // (its event says null, at once) rather than a made-up one.
        let mut timed = false;
        if let Some(sub) = self.subs.get(&session, &stream) {
            sub.set_shown(true);
            timed = sub.frames_timed();
        }
        if let Some(sub) = old.as_ref().and_then(|(s, st)| self.subs.get(s, st)) {
            sub.set_shown(false);
        }
        let Some(tile) = self.tiles.get_mut(key) else {
            return;
        };
        tile.active = Some((session, stream));
        if previous.is_some() && old.is_some() && timed {
            tile.meter.swapped(perf_now());
        }
    }

    fn hide(&mut self, key: &ParticipantKey) {
        let Some(tile) = self.tiles.get_mut(key) else {
            return;
        };
        if let Some((s, st)) = tile.active.take() {
            if let Some(sub) = self.subs.get(&s, &st) {
                sub.set_shown(false);
            }
        }
        tile.meter.blank();
    }

    /// Tears one session down: its videos leave the tiles and its listeners go at once; the
    /// OT calls that release the media follow step by step (`disconnect`: we are the ones
    /// leaving, so unsubscribe, unpublish and disconnect too).
    fn leave(&mut self, session: &SessionId, disconnect: bool) {
        if let Some(io) = self.sessions.remove(session) {
            self.release(session, io, disconnect);
        }
    }

    fn release(&mut self, session: &SessionId, io: sessions::SessionIo, disconnect: bool) {
        for (stream, mut sub) in self.subs.take_session(session) {
            detach(&mut self.tiles, session, &stream, &mut sub);
            if disconnect {
                self.teardown.push(Step::Unsubscribe(
                    io.session.clone(),
                    sub.subscriber.clone(),
                    None,
                ));
            }
        }
        if let Some(step) = self
            .publishers
            .leave(session, disconnect.then_some(&io.session))
        {
            self.teardown.push(step);
        }
        if disconnect {
            self.teardown.push(Step::Disconnect(io.session.clone()));
        }
        io.release(disconnect);
    }

    /// Everything goes: every session left, every pending release run, the tiles' videos and
    /// the local preview removed, the tracks the SDK obtained stopped.
    pub fn close(&mut self) {
        for (session, io) in self.sessions.take_all() {
            self.release(&session, io, true);
        }
        self.teardown.run_all();
        self.tiles.clear();
        self.publishers.release_local();
    }
}
