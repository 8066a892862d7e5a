//! The local media and this client's publishers: the app's camera and microphone tracks, the
//! preview in the local tile, and one OT `Publisher` per session, each with its own clones of
//! the tracks (a publisher stops its tracks when destroyed: two must never share one).

use std::rc::Weak;

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, HtmlElement, HtmlVideoElement, MediaStream, MediaStreamTrack};

use super::tiles;
use crate::engine::{Input, SessionId};
use crate::sorted_map::SortedMap;
use crate::web::listener::{Callback, Listener, Route, Sink};
use crate::web::ot::{describe, Ot, OtSession, Publisher};

struct Pub {
    publisher: Publisher,
    /// `session.publish` was called (a prepared publisher waits for its connect).
    published: bool,
    /// This publisher's own clones of the local tracks.
    tracks: Vec<MediaStreamTrack>,
    _listener: Option<Listener>,
    /// `initPublisher`'s completion, then `publish`'s.
    callbacks: [Callback; 2],
}

impl Pub {
    /// `unpublish` (when still connected), `destroy`, then stop its track clones.
    fn release(self, session: Option<&OtSession>) {
        if let Some(session) = session {
            let _ = session.unpublish(&self.publisher);
        }
        let _ = self.publisher.destroy();
        // The vendor stops a destroyed publisher's tracks; stop ours too in case it did not.
        self.tracks.iter().for_each(|t| t.stop());
    }
}

pub struct Publishers {
    /// The local preview tile (stable across handoffs).
    element: HtmlElement,
    preview: Option<HtmlVideoElement>,
    /// The original tracks; each publisher gets its own clones.
    tracks: Vec<MediaStreamTrack>,
    /// The SDK obtained them itself (getUserMedia), so it stops them on close.
    owned: bool,
    name: String,
    map: SortedMap<SessionId, Pub>,
}

fn set(o: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(key), value);
}

impl Publishers {
    pub fn new(element: HtmlElement) -> Publishers {
        Publishers {
            element,
            preview: None,
            tracks: Vec::new(),
            owned: false,
            name: String::new(),
            map: SortedMap::default(),
        }
    }

    pub fn element(&self) -> &HtmlElement {
        &self.element
    }

    /// The tracks to publish, and a muted preview of the camera in the local tile.
    pub fn set_local(
        &mut self,
        document: &Document,
        tracks: Vec<MediaStreamTrack>,
        name: String,
        owned: bool,
    ) {
        self.tracks = tracks;
        self.owned = owned;
        self.name = name;
        let Some(camera) = self.tracks.iter().find(|t| t.kind() == "video") else {
            return;
        };
        // `createElement("video")` makes an `HTMLVideoElement`: no check needed.
        let Ok(video) = document.create_element("video") else {
            return;
        };
        let video: HtmlVideoElement = video.unchecked_into();
        tiles::stack(&video);
        tiles::set_shown(&video, true);
        video.set_muted(true);
        if let Ok(stream) = MediaStream::new_with_tracks(&js_sys::Array::of1(camera)) {
            video.set_src_object(Some(&stream));
        }
        let _ = self.element.append_child(&video);
        self.preview = Some(video);
    }

    /// Makes `session`'s publisher with clones of the local tracks, not yet published (its
    /// session is still connecting): `OT.initPublisher`'s local set-up then runs alongside
    /// the connect. One already prepared and not published is kept. A failure comes back as
    /// `PublishDone` with an error, or is the returned error when thrown at once.
    pub fn prepare(
        &mut self,
        sink: &Weak<dyn Sink>,
        ot: &Ot,
        session: SessionId,
    ) -> Result<(), String> {
        if self.map.get(&session).is_some_and(|p| !p.published) {
            return Ok(());
        }
        if self.tracks.is_empty() {
            return Err(String::from("no local media"));
        }
        if let Some(old) = self.map.remove(&session) {
            old.release(None);
        }
        let props = Object::new();
        set(&props, "insertDefaultUI", &JsValue::FALSE);
        if !self.name.is_empty() {
            set(&props, "name", &JsValue::from_str(&self.name));
        }
        let mut clones = Vec::new();
        for (kind, source, publish) in [
            ("video", "videoSource", "publishVideo"),
            ("audio", "audioSource", "publishAudio"),
        ] {
            let track = self.tracks.iter().find(|t| t.kind() == kind);
            match track.map(MediaStreamTrack::clone) {
                Some(t) => {
                    set(&props, source, &t);
                    set(&props, publish, &JsValue::TRUE);
                    clones.push(t);
                }
                None => {
                    set(&props, source, &JsValue::NULL);
                    set(&props, publish, &JsValue::FALSE);
                }
            }
        }
        let init_done = Callback::new(sink, Route::PublishDone(session.clone()));
        let publisher = match ot.init_publisher(&JsValue::UNDEFINED, &props, init_done.function()) {
            Ok(p) => p,
            Err(e) => {
                clones.iter().for_each(|t| t.stop());
                return Err(describe(&e));
            }
        };
        let listener = Listener::new(
            sink,
            &publisher,
            "streamCreated",
            Route::OwnStream(session.clone()),
        );
        let publish_done = Callback::new(sink, Route::PublishDone(session.clone()));
        self.map.insert(
            session,
            Pub {
                publisher,
                published: false,
                tracks: clones,
                _listener: listener,
                callbacks: [init_done, publish_done],
            },
        );
        Ok(())
    }

    /// Publishes `session`'s prepared publisher (prepared now if there is none, or if the
    /// one there was published before). A failure thrown at once is the returned error; a
    /// later one comes back as `PublishDone` with an error.
    pub fn publish(
        &mut self,
        sink: &Weak<dyn Sink>,
        ot: &Ot,
        ot_session: &OtSession,
        session: SessionId,
    ) -> Result<(), String> {
        if self.map.get(&session).is_some_and(|p| p.published) {
            if let Some(old) = self.map.remove(&session) {
                old.release(Some(ot_session));
            }
        }
        self.prepare(sink, ot, session.clone())?;
        let Some(p) = self.map.get_mut(&session) else {
            return Err(String::from("no publisher"));
        };
        p.published = true;
        let result = ot_session.publish(&p.publisher, p.callbacks[1].function());
        if let Err(e) = result {
            if let Some(p) = self.map.remove(&session) {
                p.release(None);
            }
            return Err(describe(&e));
        }
        Ok(())
    }

    /// The prepared publisher of a connect attempt that failed goes with it (the next
    /// attempt prepares another).
    pub fn drop_prepared(&mut self, session: &SessionId) {
        if self.map.get(session).is_some_and(|p| !p.published) {
            if let Some(p) = self.map.remove(session) {
                p.release(None);
            }
        }
    }

    /// `OT.initPublisher` or `session.publish` failed: the publisher goes.
    pub fn failed(&mut self, session: SessionId, error: String) -> Input {
        if let Some(p) = self.map.remove(&session) {
            p.release(None);
        }
        Input::PublishFailed { session, error }
    }

    /// `session` is left: its publisher goes (`unpublish` first when still connected).
    pub fn leave(&mut self, session: &SessionId, ot_session: Option<&OtSession>) {
        if let Some(p) = self.map.remove(session) {
            p.release(ot_session);
        }
    }

    /// The preview goes, and the tracks the SDK obtained itself are stopped.
    pub fn release_local(&mut self) {
        if let Some(v) = self.preview.take() {
            v.set_src_object(None);
            v.remove();
        }
        if self.owned {
            self.tracks.iter().for_each(|t| t.stop());
        }
        self.tracks.clear();
    }
}
