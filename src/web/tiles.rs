//! Participant tiles: one stable element per remote participant (and one for the local
//! preview) that the app places once; the shell swaps the `<video>` elements inside it.
//!
//! DOM contract (documented in `js/index.d.ts`, relied on by the e2e tests):
//! - a tile is `<div class="video-handoff-tile" data-participant="KEY">` (local preview:
//!   `class="video-handoff-tile video-handoff-local" data-local="true"`);
//! - every subscriber `<video>` in it is absolutely stacked to fill it; exactly the shown one
//!   has `data-active="true"` (the others `"false"`), is on top, and is the only unmuted one.
//!
//! Participant text only ever goes into attributes (`setAttribute`), never into HTML.

use wasm_bindgen::JsCast;
use web_sys::{Document, HtmlElement, HtmlVideoElement};

use super::meter::Meter;
use crate::engine::{ParticipantKey, SessionId, StreamId};

pub const TILE_CLASS: &str = "video-handoff-tile";

pub struct Tile {
    pub key: ParticipantKey,
    pub element: HtmlElement,
    /// The subscriber shown in the tile.
    pub active: Option<(SessionId, StreamId)>,
    pub meter: Meter,
}

/// The tiles in the order their participants first appeared.
#[derive(Default)]
pub struct Tiles {
    list: Vec<Tile>,
}

fn div(document: &Document) -> HtmlElement {
    document
        .create_element("div")
        // Not `expect`: that would ship `JsValue`'s `Debug` (and its JS helper) for a call
        // that cannot fail.
        .unwrap_or_else(|_| wasm_bindgen::throw_str("createElement(div) failed"))
        .unchecked_into::<HtmlElement>()
}

fn tile_style(element: &HtmlElement) {
    let style = element.style();
    let _ = style.set_property("position", "relative");
    let _ = style.set_property("overflow", "hidden");
}

impl Tiles {
    pub fn get(&self, key: &ParticipantKey) -> Option<&Tile> {
        self.list.iter().find(|t| &t.key == key)
    }

    pub fn get_mut(&mut self, key: &ParticipantKey) -> Option<&mut Tile> {
        self.list.iter_mut().find(|t| &t.key == key)
    }

    pub fn get_or_create(&mut self, document: &Document, key: &ParticipantKey) -> &mut Tile {
        if let Some(i) = self.list.iter().position(|t| &t.key == key) {
            return &mut self.list[i];
        }
        let element = div(document);
        element.set_class_name(TILE_CLASS);
        let _ = element.set_attribute("data-participant", key.as_str());
        tile_style(&element);
        self.list.push(Tile {
            key: key.clone(),
            element,
            active: None,
            meter: Meter::default(),
        });
        self.list.last_mut().expect("just pushed")
    }

    pub fn remove(&mut self, key: &ParticipantKey) -> Option<Tile> {
        let i = self.list.iter().position(|t| &t.key == key)?;
        Some(self.list.remove(i))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Tile> {
        self.list.iter()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Tile> {
        self.list.iter_mut()
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
}

/// The local preview tile.
pub fn local_tile(document: &Document) -> HtmlElement {
    let element = div(document);
    element.set_class_name("video-handoff-tile video-handoff-local");
    let _ = element.set_attribute("data-local", "true");
    tile_style(&element);
    element
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
