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

use super::meter::Meter;
use crate::engine::{ParticipantKey, SessionId, StreamId};
use crate::web::contract::events::{self, TileStats};

pub struct Tile {
    pub key: ParticipantKey,
    pub element: HtmlElement,
    /// The frozen `{ key, element }` the app receives, the same object for the whole call.
    pub participant: JsValue,
    /// The subscriber shown in the tile.
    pub active: Option<(SessionId, StreamId)>,
    pub meter: Meter,
}

/// The tiles in the order their participants first appeared.
pub struct Tiles {
    document: Document,
    list: Vec<Tile>,
}

/// A `<div>` with the tile's style, or `None` if the document refuses to make one.
fn div(document: &Document, class: &str) -> Option<HtmlElement> {
    let element: HtmlElement = document.create_element("div").ok()?.dyn_into().ok()?;
    element.set_class_name(class);
    let style = element.style();
    let _ = style.set_property("position", "relative");
    let _ = style.set_property("overflow", "hidden");
    Some(element)
}

impl Tiles {
    pub fn new(document: Document) -> Tiles {
        Tiles {
            document,
            list: Vec::new(),
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

    pub fn get_mut(&mut self, key: &ParticipantKey) -> Option<&mut Tile> {
        self.list.iter_mut().find(|t| &t.key == key)
    }

    /// `key`'s tile, made on first use (`None` only if the document cannot make elements).
    pub fn get_or_create(&mut self, key: &ParticipantKey) -> Option<&mut Tile> {
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
                    meter: Meter::default(),
                });
                self.list.len() - 1
            }
        };
        self.list.get_mut(i)
    }

    pub fn remove(&mut self, key: &ParticipantKey) -> Option<Tile> {
        let i = self.list.iter().position(|t| &t.key == key)?;
        Some(self.list.remove(i))
    }

    /// The tile whose active video is `(session, stream)`.
    pub fn showing(&mut self, session: &SessionId, stream: &StreamId) -> Option<&mut Tile> {
        self.list.iter_mut().find(|t| {
            t.active
                .as_ref()
                .is_some_and(|(s, st)| s == session && st == stream)
        })
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

    /// The figure of `key`'s oldest unreported swap: `Some(Some(gap))` once measured,
    /// `Some(None)` when there is nothing to measure, `None` while still measuring.
    pub fn swap_gap(&mut self, key: &ParticipantKey) -> Option<Option<f64>> {
        let Some(tile) = self.get_mut(key) else {
            return Some(None);
        };
        match tile.meter.take_unclaimed() {
            Some(g) => Some(Some(g)),
            None if !tile.meter.measuring() => Some(None),
            None => None,
        }
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

    /// Closes the measurements that ran out by `now`: each tile's key and figure.
    pub fn expire(&mut self, now: f64) -> Vec<(ParticipantKey, f64)> {
        self.list
            .iter_mut()
            .filter_map(|t| Some((t.key.clone(), t.meter.expire(now)?)))
            .collect()
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
