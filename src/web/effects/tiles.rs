//! Participant tiles: one stable element per remote participant (and one for the local
//! preview) that the app places once; the shell swaps the `<video>` elements inside it.
//!
//! DOM contract (documented on `Participant` in `contract/events.rs`, relied on by the e2e
//! tests):
//! - a tile is `<div class="video-handoff-tile" data-participant="KEY">` (local preview:
//!   `class="video-handoff-tile video-handoff-local" data-local="true"`);
//! - every subscriber `<video>` in it is absolutely stacked to fill it; exactly the shown one
//!   has `data-active="true"` (the others `"false"`), is on top, and is the only unmuted one.
//!
//! Participant text only ever goes into attributes (`setAttribute`), never into HTML.

use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, HtmlElement, HtmlVideoElement};

use std::rc::Weak;

use super::meter::Meter;
use super::{perf_now, Back};
use crate::engine::{Input, ParticipantKey, SessionId, StreamId};
use crate::web::contract::events::{self, TileStats};
use crate::web::listener::{self, Callback, Sink};

struct Tile {
    key: ParticipantKey,
    element: HtmlElement,
    /// The frozen `{ key, element }` the app receives, the same object for the whole call.
    participant: JsValue,
    /// The subscriber shown in the tile.
    active: Option<(SessionId, StreamId)>,
    /// The subscriber the swap being measured replaced (its late frame callbacks still count
    /// for the time before the swap).
    replaced: Option<(SessionId, StreamId)>,
    meter: Meter,
}

/// The tiles in the order their participants first appeared, and the swap figures.
pub struct Tiles {
    document: Document,
    list: Vec<Tile>,
    /// The largest swap figure since the handoff under way started.
    largest: Option<f64>,
    /// The animation frame that dates the paint of the swaps made since the last one.
    paint: Option<Callback>,
}

/// Whether `source` is `(session, stream)`.
fn is(source: &Option<(SessionId, StreamId)>, session: &SessionId, stream: &StreamId) -> bool {
    source
        .as_ref()
        .is_some_and(|(s, st)| s == session && st == stream)
}

/// A `<div>` with the tile's style, or `None` if the document refuses to make one.
fn div(document: &Document, class: &str) -> Option<HtmlElement> {
    // `createElement("div")` makes an `HTMLDivElement`: no check needed.
    let element: HtmlElement = document.create_element("div").ok()?.unchecked_into();
    element.set_class_name(class);
    let _ = element.set_attribute("style", "position:relative;overflow:hidden");
    Some(element)
}

impl Tiles {
    pub fn new(document: Document) -> Tiles {
        Tiles {
            document,
            list: Vec::new(),
            largest: None,
            paint: None,
        }
    }

    /// The local preview tile.
    pub fn local(&self) -> Option<HtmlElement> {
        let element = div(&self.document, "video-handoff-tile video-handoff-local")?;
        let _ = element.set_attribute("data-local", "true");
        Some(element)
    }

    pub fn document(&self) -> &Document {
        &self.document
    }

    fn get_mut(&mut self, key: &ParticipantKey) -> Option<&mut Tile> {
        self.list.iter_mut().find(|t| &t.key == key)
    }

    /// `key`'s tile, made on first use (`None` only if the document cannot make elements).
    fn get_or_create(&mut self, key: &ParticipantKey) -> Option<&mut Tile> {
        let i = match self.list.iter().position(|t| &t.key == key) {
            Some(i) => i,
            None => {
                let element = div(&self.document, "video-handoff-tile")?;
                let _ = element.set_attribute("data-participant", key.as_str());
                self.list.push(Tile {
                    participant: events::participant(key.as_str(), &element),
                    key: key.clone(),
                    element,
                    active: None,
                    replaced: None,
                    meter: Meter::default(),
                });
                self.list.len() - 1
            }
        };
        self.list.get_mut(i)
    }

    /// `key`'s participant object (`{ key, element }`), its tile made on first use.
    pub fn participant(&mut self, key: &ParticipantKey) -> Option<JsValue> {
        Some(self.get_or_create(key)?.participant.clone())
    }

    pub fn remove(&mut self, key: &ParticipantKey) {
        self.list.retain(|t| &t.key != key);
    }

    /// The tile whose active video is `(session, stream)`.
    fn showing(&mut self, session: &SessionId, stream: &StreamId) -> Option<&mut Tile> {
        self.list
            .iter_mut()
            .find(|t| is(&t.active, session, stream))
    }

    /// Puts a subscriber's video into `key`'s tile, below and muted unless the tile shows
    /// `(session, stream)`; whether it does.
    pub fn place(
        &mut self,
        key: &ParticipantKey,
        session: &SessionId,
        stream: &StreamId,
        video: &HtmlVideoElement,
    ) -> Option<bool> {
        stack(video);
        let tile = self.get_or_create(key)?;
        let shown = is(&tile.active, session, stream);
        set_shown(video, shown);
        let _ = tile.element.append_child(video);
        Some(shown)
    }

    /// `key`'s tile shows `(session, stream)` from now, whose latest frame was presented at
    /// `held`; the video it showed before, if the swap replaced one (`replaces`), is measured
    /// against, the swap dated by the next animation frame (to `sink`). Whether a swap
    /// measurement is under way.
    pub fn show(
        &mut self,
        sink: &Weak<dyn Sink>,
        key: &ParticipantKey,
        source: (SessionId, StreamId),
        replaces: Option<(SessionId, StreamId)>,
        held: Option<f64>,
    ) -> bool {
        let Some(tile) = self.get_or_create(key) else {
            return false;
        };
        let previous = tile.active.replace(source);
        let swapped = previous.is_some() && replaces.is_some();
        if swapped {
            tile.meter.swapped(perf_now(), held);
            tile.replaced = replaces;
        }
        let measuring = tile.meter.measuring();
        if swapped && self.paint.is_none() {
            self.paint = Some(listener::next_frame(sink));
        }
        measuring
    }

    /// `key`'s tile shows nothing; what it showed, if anything.
    pub fn hide(&mut self, key: &ParticipantKey) -> Option<(SessionId, StreamId)> {
        let tile = self.get_mut(key)?;
        tile.meter.blank();
        tile.active.take()
    }

    /// A subscriber goes: a tile that shows it shows nothing.
    pub fn detach(&mut self, session: &SessionId, stream: &StreamId) {
        if let Some(tile) = self.showing(session, stream) {
            tile.active = None;
            tile.meter.blank();
        }
    }

    /// A frame of `(session, stream)` presented at `t`, standing for `frames` frames: counted
    /// by the meter of the tile that shows it (or showed it until the swap being measured).
    /// `SwapMeasured` when it completes a swap's figure.
    pub fn frame(
        &mut self,
        session: &SessionId,
        stream: &StreamId,
        t: f64,
        frames: u32,
    ) -> Option<Input> {
        let tile = self
            .list
            .iter_mut()
            .find(|t| is(&t.active, session, stream) || is(&t.replaced, session, stream))?;
        if !is(&tile.active, session, stream) {
            tile.meter.frame_before_swap(t);
            return None;
        }
        let figure = tile.meter.frame(t, frames)?;
        let key = tile.key.clone();
        Some(self.measured(key, figure))
    }

    /// A swap's figure is in: the largest of the handoff kept, the engine told.
    fn measured(&mut self, key: ParticipantKey, figure: f64) -> Input {
        self.largest = Some(self.largest.map_or(figure, |g| g.max(figure)));
        if let Some(tile) = self.get_mut(&key) {
            tile.replaced = None;
        }
        Input::SwapMeasured { key }
    }

    /// A handoff starts: its largest swap figure starts afresh.
    pub fn handoff_started(&mut self) {
        self.largest = None;
    }

    /// The largest swap figure since the handoff started.
    pub fn largest(&self) -> Option<f64> {
        self.largest
    }

    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// The participant objects, in join order.
    pub fn participants(&self) -> Array {
        self.list.iter().map(|t| t.participant.clone()).collect()
    }

    pub fn stats(&self) -> Vec<TileStats> {
        self.list
            .iter()
            .map(|t| TileStats {
                key: t.key.0.clone(),
                frames_presented: t.meter.frames,
                largest_frame_gap_ms: t.meter.largest_gap.map(events::round),
                last_swap_frame_gap_ms: t.meter.last_swap_gap.map(events::round),
            })
            .collect()
    }

    /// The figure of `key`'s latest swap, once measured and not yet reported.
    pub fn swap_figure(&mut self, key: &ParticipantKey) -> Option<f64> {
        self.get_mut(key)?.meter.take_unclaimed()
    }

    /// The largest gap of any tile since `t` (performance.now() ms), up to `now`.
    pub fn largest_since(&self, t: f64, now: f64) -> Option<f64> {
        let mut largest = None;
        for tile in &self.list {
            largest = Some(tile.meter.largest_since(t, now).max(largest.unwrap_or(0.0)));
        }
        largest
    }

    /// When the earliest swap measurement runs out (performance.now() ms).
    pub fn next_deadline(&self) -> Option<f64> {
        self.list
            .iter()
            .filter_map(|t| t.meter.ends_at())
            .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.min(t))))
    }

    /// The animation frame asked for after a swap ran at `now`: its rendering update paints
    /// every swap made before it.
    pub fn painted(&mut self, now: f64) {
        self.paint = None;
        for t in &mut self.list {
            t.meter.painted(now);
        }
    }

    /// Closes the measurements that ran out by `now`: the engine told of each.
    pub fn expire(&mut self, now: f64, back: &mut Vec<Back>) {
        let done: Vec<(ParticipantKey, f64)> = self
            .list
            .iter_mut()
            .filter_map(|t| Some((t.key.clone(), t.meter.expire(now)?)))
            .collect();
        for (key, figure) in done {
            back.push(Back::Input(self.measured(key, figure)));
        }
    }
}

/// Styles a video for stacking in a tile, hidden and muted until shown.
pub fn stack(video: &HtmlVideoElement) {
    let style = video.style();
    for (name, value) in [
        ("position", "absolute"),
        ("left", "0"),
        ("top", "0"),
        ("width", "100%"),
        ("height", "100%"),
        ("object-fit", "cover"),
    ] {
        let _ = style.set_property(name, value);
    }
    let _ = video.set_attribute("playsinline", "");
    video.set_autoplay(true);
    set_shown(video, false);
}

/// Shows (on top, unmuted, `data-active="true"`) or hides (below, muted) a tile's video.
pub fn set_shown(video: &HtmlVideoElement, shown: bool) {
    video.set_muted(!shown);
    let _ = video.set_attribute("data-active", if shown { "true" } else { "false" });
    let _ = video
        .style()
        .set_property("z-index", if shown { "1" } else { "0" });
}
