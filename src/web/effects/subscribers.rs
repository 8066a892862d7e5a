//! The subscribers, one per subscribed remote stream: their OT `Subscriber`, their `<video>`
//! (stacked in the participant's tile from the moment it exists, hidden and muted until a
//! `Show`), and the frame callbacks that tell the engine a stream rendered its first frame.

use std::rc::Weak;

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlVideoElement;

use super::tiles::{self, Tiles};
use super::Back;
use crate::engine::{Input, ParticipantKey, SessionId, StreamId};
use crate::sorted_map::SortedMap;
use crate::web::listener::{Callback, Listener, Route, Sink};
use crate::web::ot::{describe, FrameVideo, OtSession, Subscriber, Thenable};

pub struct Subscription {
    key: ParticipantKey,
    subscriber: Subscriber,
    has_video: bool,
    video: Option<HtmlVideoElement>,
    /// The video's `presentedFrames` at its previous frame callback.
    presented: Option<u32>,
    /// When its latest frame was presented (performance.now() ms): the picture it holds.
    last_frame: Option<f64>,
    first_frame: bool,
    /// No `requestVideoFrameCallback`: its frames are not timed (no gap is measured).
    untimed: bool,
    frame_callback: Option<Callback>,
    frame_handle: Option<u32>,
    _done: Callback,
    _listener: Option<Listener>,
}

impl Subscription {
    /// Goes: no more frames watched, its video out of the page, and `unsubscribe` when the
    /// session is still ours (`session`; the vendor destroyed it with its stream or session
    /// otherwise).
    pub fn release(mut self, session: Option<&OtSession>) {
        self.unwatch();
        if let Some(video) = &self.video {
            video.remove();
        }
        if let Some(session) = session {
            let _ = session.unsubscribe(&self.subscriber);
        }
    }

    /// Stops watching its frames and silences it (hidden below, muted, volume 0).
    fn unwatch(&mut self) {
        if let (Some(video), Some(h)) = (&self.video, self.frame_handle.take()) {
            let _ = video
                .unchecked_ref::<FrameVideo>()
                .cancel_video_frame_callback(h);
        }
        self.frame_callback = None;
        self.set_shown(false);
    }

    /// Visible and audible, or hidden and silent. Audible only once its `<video>` is in the
    /// tile: until `videoElementCreated` the vendor plays the stream in a detached, unmuted
    /// buffer `<video>` of its own (widget_view.js `_loadVideoBuffer`), and unmuting then
    /// would make it heard outside the tile; [`Subscribers::video_element`] unmutes it.
    pub fn set_shown(&self, shown: bool) {
        match (&self.video, shown) {
            (Some(v), true) => {
                tiles::set_shown(v, true);
                let _ = self.subscriber.set_audio_volume(100.0);
            }
            (None, true) => {}
            (video, false) => {
                if let Some(v) = video {
                    tiles::set_shown(v, false);
                }
                let _ = self.subscriber.set_audio_volume(0.0);
            }
        }
    }

    /// The first frame (or, without video, the subscriber connected): once.
    fn first(&mut self, session: &SessionId, stream: &StreamId) -> Option<Input> {
        if self.first_frame {
            return None;
        }
        self.first_frame = true;
        Some(Input::FirstFrame {
            session: session.clone(),
            stream: stream.clone(),
        })
    }

    fn watch_frames(&mut self, video: &HtmlVideoElement) -> bool {
        let Some(cb) = &self.frame_callback else {
            return false;
        };
        let handle = video
            .unchecked_ref::<FrameVideo>()
            .request_video_frame_callback(cb.function());
        self.frame_handle = handle.ok().and_then(|h| h.as_f64()).map(|h| h as u32);
        self.frame_handle.is_some()
    }
}

#[derive(Default)]
pub struct Subscribers {
    map: SortedMap<(SessionId, StreamId), Subscription>,
}

fn set(o: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(key), value);
}

impl Subscribers {
    pub fn contains(&self, session: &SessionId, stream: &StreamId) -> bool {
        self.map.contains_key(&(session.clone(), stream.clone()))
    }

    /// Shows (visible, audible) or hides (below, silent) the subscriber's video, if there is
    /// one. Whether its frames are timed (`requestVideoFrameCallback`: a browser without it
    /// measures no frame gap), and when it presented its latest frame, the picture it holds.
    pub fn set_shown(
        &self,
        session: &SessionId,
        stream: &StreamId,
        shown: bool,
    ) -> (bool, Option<f64>) {
        self.map
            .get(&(session.clone(), stream.clone()))
            .map_or((false, None), |sub| {
                sub.set_shown(shown);
                (sub.frame_callback.is_some() && !sub.untimed, sub.last_frame)
            })
    }

    pub fn take(&mut self, session: &SessionId, stream: &StreamId) -> Option<Subscription> {
        self.map.remove(&(session.clone(), stream.clone()))
    }

    /// Every subscriber of `session`.
    pub fn take_session(&mut self, session: &SessionId) -> Vec<(StreamId, Subscription)> {
        let keys: Vec<_> = self
            .map
            .keys()
            .filter(|(s, _)| s == session)
            .cloned()
            .collect();
        keys.into_iter()
            .filter_map(|k| self.map.remove(&k).map(|sub| (k.1, sub)))
            .collect()
    }

    /// `session.subscribe(stream)`, silent and hidden until a `Show` names it.
    #[allow(clippy::too_many_arguments)]
    pub fn subscribe(
        &mut self,
        sink: &Weak<dyn Sink>,
        ot_session: &OtSession,
        session: SessionId,
        id: StreamId,
        stream: &JsValue,
        key: ParticipantKey,
        has_video: bool,
    ) -> Result<(), String> {
        let props = Object::new();
        set(&props, "insertDefaultUI", &JsValue::FALSE);
        // Audio not subscribed until shown: the vendor plays a new subscriber's stream in a
        // detached, unmuted buffer `<video>` until media flows, which our volume does not
        // reach; with audio unsubscribed its track is disabled, and `setAudioVolume(100)` at
        // the swap makes the vendor subscribe to audio again.
        set(&props, "subscribeToAudio", &JsValue::FALSE);
        set(&props, "subscribeToVideo", &JsValue::TRUE);
        // Silent until a Show names it: never two audible sources for one participant.
        set(&props, "audioVolume", &JsValue::from_f64(0.0));
        let done = Callback::new(sink, Route::Subscribed(session.clone(), id.clone()));
        let subscriber = ot_session
            .subscribe(stream, &JsValue::UNDEFINED, &props, done.function())
            .map_err(|e| describe(&e))?;
        let _ = subscriber.set_audio_volume(0.0);
        let listener = Listener::new(
            sink,
            &subscriber,
            "videoElementCreated",
            Route::VideoElement(session.clone(), id.clone()),
        );
        self.map.insert(
            (session, id),
            Subscription {
                key,
                subscriber,
                has_video,
                video: None,
                presented: None,
                last_frame: None,
                first_frame: false,
                untimed: false,
                frame_callback: None,
                frame_handle: None,
                _done: done,
                _listener: listener,
            },
        );
        Ok(())
    }

    /// `session.subscribe` completed: without video, the stream counts as rendering.
    pub fn subscribed(&mut self, session: SessionId, stream: StreamId) -> Option<Input> {
        let sub = self.map.get_mut(&(session.clone(), stream.clone()))?;
        if sub.has_video {
            return None;
        }
        sub.first(&session, &stream)
    }

    /// The subscriber's `<video>`: into its tile (below, muted unless the tile shows this
    /// stream), and watched for its first frame.
    pub fn video_element(
        &mut self,
        sink: &Weak<dyn Sink>,
        tiles: &mut Tiles,
        session: SessionId,
        stream: StreamId,
        video: HtmlVideoElement,
    ) -> Option<Input> {
        let sub = self.map.get_mut(&(session.clone(), stream.clone()))?;
        if let Some(old) = sub.video.take() {
            old.remove();
        }
        let shown = tiles.place(&sub.key, &session, &stream, &video)?;
        sub.video = Some(video.clone());
        if shown {
            let _ = sub.subscriber.set_audio_volume(100.0);
        }
        sub.frame_callback = Some(Callback::new(
            sink,
            Route::Frame(session.clone(), stream.clone()),
        ));
        if sub.watch_frames(&video) {
            return None;
        }
        // No `requestVideoFrameCallback` (Firefox before 132): the best signal such a browser
        // gives is playback under way, `play()` settled (either way: a refused autoplay must
        // not hold the swap back); nothing times its frames.
        sub.untimed = true;
        if let (Ok(playing), Some(cb)) = (video.play(), &sub.frame_callback) {
            let _ = playing
                .unchecked_ref::<Thenable>()
                .then(cb.function(), cb.function());
            return None;
        }
        sub.frame_callback = None;
        sub.first(&session, &stream)
    }

    /// A frame callback of a subscriber's video, its latest frame presented at `t`,
    /// `presented` frames in all: watched for the next; its first frame is the engine's (to
    /// `back`). How many frames it presented since its previous callback, for the tile's meter
    /// (`tiles.rs`).
    pub fn frame(
        &mut self,
        session: &SessionId,
        stream: &StreamId,
        t: f64,
        presented: Option<u32>,
        back: &mut Vec<Back>,
    ) -> Option<u32> {
        let sub = self.map.get_mut(&(session.clone(), stream.clone()))?;
        sub.last_frame = Some(t);
        if sub.untimed {
            back.extend(sub.first(session, stream).map(Back::Input));
            return None;
        }
        let video = sub.video.clone()?;
        sub.watch_frames(&video);
        let since = match (sub.presented, presented) {
            (Some(before), Some(now)) => now.saturating_sub(before).max(1),
            _ => 1,
        };
        sub.presented = presented.or(sub.presented);
        back.extend(sub.first(session, stream).map(Back::Input));
        Some(since)
    }
}
