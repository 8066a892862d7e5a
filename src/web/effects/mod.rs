//! Effects: the engine's commands carried out on the OT objects and the DOM, by the part that
//! owns them, and the news of those objects ([`Owned`]) read by their owner.
//!
//! - [`sessions`]: the OT sessions, their listeners and the streams they announced;
//! - [`subscribers`]: a subscriber and its `<video>` per subscribed stream;
//! - [`publishers`]: the local media and one publisher per session;
//! - [`tiles`] and [`meter`]: the participants' stable elements and the frame-gap meter.
//!
//! Nothing here calls back into the drive loop: inputs for the engine and hook calls go back
//! in a [`Back`] list that the loop queues. When each command runs is the engine's decision
//! (the releases of media are spaced out there: `engine/release.rs`); here it runs at once.
//! Dropping [`Effects`] drops every listener and callback it registered.

pub mod meter;
pub mod publishers;
pub mod sessions;
pub mod subscribers;
pub mod tiles;

use std::rc::Weak;

use wasm_bindgen::prelude::*;
use web_sys::{Document, HtmlElement, MediaStreamTrack};

use super::contract::events::TileStats;
use super::contract::options::Options;
use super::decode::Owned;
use super::hooks::HookCall;
use super::listener::Sink;
use super::ot::Ot;
use crate::engine::{Command, Event, Hook, Input, SessionId};
use publishers::Publishers;
use sessions::Sessions;
use subscribers::Subscribers;
use tiles::Tiles;

/// What the effects hand back to the drive loop.
pub enum Back {
    Input(Input),
    Hook(HookCall),
}

/// What the app's event needs from the effects (`Effects::on_event`).
#[derive(Default)]
pub struct EventExtra {
    /// A joining participant's `{ key, element }`.
    pub participant: Option<JsValue>,
    /// A swap's measured figure, or the largest of a completed handoff.
    pub gap: Option<f64>,
}

pub struct Effects {
    ot: Ot,
    application_id: String,
    /// `initSession`'s options: `{ sessionMigration: true }` when the app asked, else undefined.
    session_options: JsValue,
    signal_type: String,
    moved_type: String,
    sessions: Sessions,
    subs: Subscribers,
    publishers: Publishers,
    tiles: Tiles,
}

/// performance.now(), the time base of `requestVideoFrameCallback`.
pub fn perf_now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
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
        })
    }

    /// The local preview tile.
    pub fn local_element(&self) -> HtmlElement {
        self.publishers.element().clone()
    }

    pub fn set_local_media(&mut self, tracks: Vec<MediaStreamTrack>, name: String, owned: bool) {
        let document = self.tiles.document().clone();
        self.publishers.set_local(&document, tracks, name, owned);
    }

    /// The participant objects, in join order.
    pub fn participants(&self) -> js_sys::Array {
        self.tiles.participants()
    }

    pub fn stats(&self) -> Vec<TileStats> {
        self.tiles.stats()
    }

    pub fn execute(&mut self, sink: &Weak<dyn Sink>, command: Command, back: &mut Vec<Back>) {
        let failed = match command {
            Command::Connect { session, token } => {
                // A stale connection to the same ID (the engine let its release out first).
                self.leave(&session, true);
                self.sessions
                    .connect(
                        sink,
                        &self.ot,
                        &self.application_id,
                        &self.session_options,
                        &session,
                        &token,
                        &self.signal_type,
                        &self.moved_type,
                    )
                    .err()
                    .map(|error| Input::ConnectFailed {
                        session,
                        error,
                        code: None,
                    })
            }
            // The engine needs no word back: it forgot the session when it asked for this.
            Command::Disconnect { session } => {
                self.leave(&session, true);
                None
            }
            Command::PreparePublish { session } => {
                // A failure here is only logged by the vendor: the `Publish` that follows the
                // connect prepares again and reports what fails then.
                let _ = self.publishers.prepare(sink, &self.ot, session);
                None
            }
            Command::Publish { session } => {
                let result = match self.sessions.get(&session) {
                    Some(io) => {
                        self.publishers
                            .publish(sink, &self.ot, io.session(), session.clone())
                    }
                    None => Err(String::from("not connected to the session")),
                };
                result
                    .err()
                    .map(|error| Input::PublishFailed { session, error })
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
                result.err().map(|error| Input::SubscribeFailed {
                    session,
                    stream,
                    error,
                })
            }
            Command::Unsubscribe { session, stream } => {
                if let Some(sub) = self.subs.take(&session, &stream) {
                    self.tiles.detach(&session, &stream);
                    // A subscriber whose stream ended was destroyed with it by the vendor.
                    let ours = self
                        .sessions
                        .get(&session)
                        .filter(|_| self.sessions.has_stream(&session, &stream));
                    sub.release(ours.map(|io| io.session()));
                }
                None
            }
            Command::Show {
                key,
                session,
                stream,
                replaces,
            } => {
                // One synchronous step: the new source up and audible, the old one down and
                // muted. The engine names the tile's previous source, also one already gone:
                // nothing to guess here.
                let old = replaces.filter(|o| o.0 != session || o.1 != stream);
                if let Some((s, st)) = &old {
                    self.subs.set_shown(s, st, false);
                }
                // Without frame callbacks nothing times the new video's frames: no gap is
                // measured (its event says null, at once) rather than a made-up one.
                let (timed, held) = self.subs.set_shown(&session, &stream, true);
                let old = old.filter(|_| timed);
                let measuring = self.tiles.show(sink, &key, (session, stream), old, held);
                // Nothing to measure (the tile showed nothing before): the swap's event, if
                // the engine holds one, need not wait for a figure.
                (!measuring).then_some(Input::SwapMeasured { key })
            }
            Command::Hide { key } => {
                if let Some((s, st)) = self.tiles.hide(&key) {
                    self.subs.set_shown(&s, &st, false);
                }
                None
            }
            Command::RequestToken { session } => {
                back.push(Back::Hook(HookCall {
                    hook: Hook::TokenProvider,
                    session,
                }));
                None
            }
            Command::ResolveSession { old } => {
                back.push(Back::Hook(HookCall {
                    hook: Hook::ResolveSession,
                    session: old,
                }));
                None
            }
            Command::Signal {
                session,
                kind,
                data,
            } => self
                .sessions
                .signal(sink, &session, &kind, &data)
                .err()
                .map(|error| Input::AnnounceFailed { session, error }),
        };
        back.extend(failed.map(Back::Input));
    }

    /// The news of a vendor object, read by the part that owns it; the engine's inputs it
    /// makes go to `back`.
    pub fn take(&mut self, sink: &Weak<dyn Sink>, news: Owned, back: &mut Vec<Back>) {
        let input = match news {
            Owned::Connected(session, error) => {
                let input = self.sessions.connected(session, error);
                if let Some(Input::ConnectFailed { session, .. }) = &input {
                    self.publishers.drop_prepared(session);
                }
                input
            }
            // `initSession` hands out one cached object per session ID: a `sessionDisconnected`
            // before our connect completed is the late news of an earlier connection (ours, or
            // a call closed just before), and a connect that fails says so in its completion.
            Owned::Disconnected(session, _) if !self.sessions.is_connected(&session) => None,
            Owned::Disconnected(session, reason) => {
                // The vendor already destroyed this session's publisher and subscribers.
                self.leave(&session, false);
                Some(Input::SessionDisconnected { session, reason })
            }
            Owned::Stream(object, created) => self.sessions.stream_created(object, created),
            Owned::StreamGone(gone) => self.sessions.stream_gone(gone),
            Owned::Subscribed(session, stream) => self.subs.subscribed(session, stream),
            Owned::Video(session, stream, video) => {
                self.subs
                    .video_element(sink, &mut self.tiles, session, stream, video)
            }
            Owned::Frame {
                session,
                stream,
                t,
                presented,
            } => {
                let frames = self.subs.frame(&session, &stream, t, presented, back);
                frames.and_then(|k| self.tiles.frame(&session, &stream, t, k))
            }
            Owned::PublishFailed(session, error) => Some(self.publishers.failed(session, error)),
        };
        back.extend(input.map(Back::Input));
    }

    /// What an engine event needs from the tiles: a participant's object when they join, a
    /// swap's figure, the largest of a handoff or of the vendor's migration; a participant's
    /// tile goes when they leave.
    pub fn on_event(&mut self, event: &Event) -> EventExtra {
        let mut extra = EventExtra::default();
        match event {
            Event::ParticipantJoined { key } => extra.participant = self.tiles.participant(key),
            Event::ParticipantLeft { key } => self.tiles.remove(key),
            Event::HandoffStarted { .. } => self.tiles.handoff_started(),
            // Measured by now, unless the engine stopped waiting for it.
            Event::ParticipantSwapped { key, .. } => extra.gap = self.tiles.swap_figure(key),
            // The engine lets it out behind the handoff's swaps: their figures are in.
            Event::HandoffCompleted { .. } => extra.gap = self.tiles.largest(),
            // The vendor's migration ends 20 s after it began (its MIGRATION_TIMEOUT, from its
            // session info); a second more for the notification and that request.
            Event::SessionMigrated { .. } => {
                let now = perf_now();
                extra.gap = self.tiles.largest_since(now - 21_000.0, now);
            }
            _ => {}
        }
        extra
    }

    /// When the earliest swap measurement runs out (performance.now() ms).
    pub fn next_deadline(&self) -> Option<f64> {
        self.tiles.next_deadline()
    }

    /// The animation frame the tiles asked for after a swap runs now: the swaps made before it
    /// are painted in its rendering update.
    pub fn painted(&mut self) {
        self.tiles.painted(perf_now());
    }

    /// Closes the swap measurements that ran out by now; the engine's inputs go to `back`.
    pub fn expire(&mut self, back: &mut Vec<Back>) {
        self.tiles.expire(perf_now(), back);
    }

    /// Tears one session down: its videos leave the tiles, its listeners go, and (`disconnect`:
    /// we are the ones leaving) its subscribers, publisher and connection are released.
    fn leave(&mut self, session: &SessionId, disconnect: bool) {
        if let Some(io) = self.sessions.remove(session) {
            self.release(session, io, disconnect);
        }
    }

    fn release(&mut self, session: &SessionId, io: sessions::SessionIo, disconnect: bool) {
        let ours = disconnect.then_some(io.session());
        for (stream, sub) in self.subs.take_session(session) {
            self.tiles.detach(session, &stream);
            sub.release(ours);
        }
        self.publishers.leave(session, ours);
        io.release(disconnect);
    }

    /// Everything goes: every session left, the tiles' videos and the local preview removed,
    /// the tracks the SDK obtained stopped.
    pub fn close(&mut self) {
        for (session, io) in self.sessions.take_all() {
            self.release(&session, io, true);
        }
        self.tiles.clear();
        self.publishers.release_local();
    }
}
