//! What the app receives: every event ([`AppEvent`], its `type` the variant's name in
//! camelCase), the participant objects, and `stats()`. Declared once here: serde-wasm-bindgen
//! makes the JS objects, tsify the TypeScript types in pkg/video_handoff.d.ts, and
//! [`event_types`] gives js/index.js the names `on()` accepts.

use js_sys::{Array, Object};
use serde::Serialize;
use tsify::Tsify;
use wasm_bindgen::prelude::*;

use crate::engine::{DisconnectReason, LeaveCause, RejectReason, State, StopCause};

/// Declares [`AppEvent`] and the variants' names (for [`event_types`]) from one list.
macro_rules! app_events {
    ($( $(#[$doc:meta])* $variant:ident { $($body:tt)* } )*) => {
        /// Every event the app can receive; `type` names it.
        #[derive(Serialize, Tsify)]
        #[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
        #[tsify(missing_as_null)]
        pub enum AppEvent {
            $( $(#[$doc])* $variant { $($body)* }, )*
        }

        /// The variants' names, as [`event_types`] makes them camelCase (serde's rule).
        const VARIANTS: &[&str] = &[$(stringify!($variant)),*];
    };
}

app_events! {
    /// The call's state changed.
    StateChanged {
        #[tsify(type = "CallState")]
        state: State,
    }
    /// A move to another session began (a handoff signal, `moveTo`, or a recovery's target).
    HandoffStarted {
        from: String,
        to: String,
        reason: Option<String>,
        id: Option<String>,
    }
    /// `key` is now shown and heard from `to`; `frameGapMs` is the largest gap between
    /// presented frames in its tile around the swap.
    ParticipantSwapped {
        key: String,
        from: String,
        to: String,
        frame_gap_ms: Option<f64>,
    }
    /// The vendor's client finished its own migration of `sessionId` (`sessionMigration:
    /// true` in `join`, and the platform rotated the session): the same session ID, every
    /// stream and subscription made again beside the old ones, the old paths closed 20 s
    /// later. `frameGapMs`: the largest gap between presented frames in any tile in those
    /// 20 s (and 1 s before).
    SessionMigrated {
        session_id: String,
        frame_gap_ms: Option<f64>,
    }
    /// The old session was left: `endedBy` says why (every rule held, or which bound came).
    HandoffCompleted {
        from: String,
        to: String,
        duration_ms: f64,
        overlap_ms: f64,
        ended_by: LeaveCause,
        /// Largest frame gap of any tile during this handoff, in ms.
        largest_frame_gap_ms: Option<f64>,
    }
    /// An attempt to get into session `to` failed: the first join (state `connecting`), a
    /// move (`handoff`) or a step of a recovery (`recovering`); `call.state` in the handler
    /// says which. `willRetry` and `nextAttemptAt` say what happens next, and `stopped`, when
    /// there is no next attempt, why (`permanent`: retrying cannot help; `maxAttempts`,
    /// `maxDuration`, `deadline`: a bound ran out).
    HandoffFailed {
        to: String,
        #[serde(serialize_with = "serde_wasm_bindgen::preserve::serialize")]
        #[tsify(type = "import(\"../js/index.js\").HandoffError")]
        error: JsValue,
        will_retry: bool,
        next_attempt_at: Option<f64>,
        stopped: Option<StopCause>,
    }
    /// A remote stream could not be subscribed to (the vendor's error in the message). The
    /// participant stays shown from the other session if they have a stream there; `key` is
    /// null when the stream's connection is not known yet.
    SubscribeFailed {
        key: Option<String>,
        session_id: String,
        stream_id: String,
        #[serde(serialize_with = "serde_wasm_bindgen::preserve::serialize")]
        #[tsify(type = "import(\"../js/index.js\").HandoffError")]
        error: JsValue,
    }
    /// Telling the peers in the new session that this client shows them all from there
    /// failed. The move goes on; peers still in the old session keep publishing there for
    /// this client until their overlap bound (`maxOverlapMs`).
    AnnounceFailed {
        session_id: String,
        #[serde(serialize_with = "serde_wasm_bindgen::preserve::serialize")]
        #[tsify(type = "import(\"../js/index.js\").HandoffError")]
        error: JsValue,
    }
    /// The live session was lost with no handoff under way; the call is getting back in.
    RecoveryStarted {
        session_id: String,
        reason: DisconnectReason,
    }
    /// The call ended without `close()`: this client was force-disconnected, or its session
    /// was disconnected outside the SDK. `stateChanged` `closed` follows.
    SessionEnded {
        session_id: String,
        reason: DisconnectReason,
    }
    /// A handoff signal was not obeyed; the call is untouched. `field` names the field to
    /// blame for `wrongType`.
    SignalRejected {
        #[tsify(type = "RejectCode")]
        reason: RejectReason,
        field: Option<&'static str>,
        message: String,
    }
    /// A second connection in `sessionId` claims `key` (one person on two devices, or a page
    /// claiming another's identity): it gets a tile of its own, keyed `shownAs` (`key#2`, ...),
    /// and never takes over the first one's.
    DuplicateKey {
        session_id: String,
        key: String,
        connection_id: String,
        shown_as: String,
    }
    /// `sessionId` has as many remote connections or streams as the SDK tracks per session
    /// (3,000 of each, the platform's own limits): this one (`what`: `connections` or
    /// `streams`) is ignored, neither shown nor subscribed to.
    TrackingCapped {
        session_id: String,
        what: &'static str,
    }
    /// A participant appeared for the first time (never again when they move sessions).
    ParticipantJoined {
        #[serde(serialize_with = "serde_wasm_bindgen::preserve::serialize")]
        #[tsify(type = "Participant")]
        participant: JsValue,
    }
    /// A participant is gone from every session this client is in (after a grace; a
    /// participant who moves is never reported as leaving).
    ParticipantLeft {
        key: String,
    }
}

/// The `type` of every event (what `on()` accepts).
pub fn event_types() -> Array {
    VARIANTS
        .iter()
        .map(|v| {
            let mut name = String::from(*v);
            if let Some(first) = name.get_mut(..1) {
                first.make_ascii_lowercase();
            }
            JsValue::from(name)
        })
        .collect()
}

/// A remote participant: the same frozen object for the whole call.
#[derive(Serialize, Tsify)]
pub struct Participant {
    /// Stable across handoffs.
    pub key: String,
    /// The participant's tile: the same element for the whole call. The SDK puts the
    /// subscribers' `<video>` elements inside it and swaps which one is shown; the app only
    /// places and sizes the tile (and removes it on `participantLeft`).
    ///
    /// DOM contract: `<div class="video-handoff-tile" data-participant="KEY">` (set with
    /// `setAttribute`, never as HTML), `position: relative`. Its `<video>` elements are
    /// stacked (`position: absolute`, filling the tile, `object-fit: cover`); the one shown
    /// has `data-active="true"`, is on top and is the only unmuted one; the others have
    /// `data-active="false"`, are muted and keep rendering underneath until swapped in.
    #[serde(serialize_with = "serde_wasm_bindgen::preserve::serialize")]
    #[tsify(type = "HTMLElement")]
    pub element: JsValue,
}

/// One tile's frame figures.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct TileStats {
    pub key: String,
    pub frames_presented: u32,
    /// Largest gap between presented frames since the tile was created, in ms.
    pub largest_frame_gap_ms: Option<f64>,
    /// Gap measured around this tile's latest swap, in ms.
    pub last_swap_frame_gap_ms: Option<f64>,
}

/// `call.stats()`.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct CallStats {
    #[tsify(type = "CallState")]
    pub state: State,
    /// The live session's ID.
    pub session_id: Option<String>,
    pub handoffs_completed: u32,
    pub tiles: Vec<TileStats>,
}

/// A value as a plain JS object: absent values `null`, maps as objects.
pub fn to_js(value: &impl Serialize) -> JsValue {
    let serializer = serde_wasm_bindgen::Serializer::new()
        .serialize_missing_as_null(true)
        .serialize_maps_as_objects(true);
    value.serialize(&serializer).unwrap_or(JsValue::NULL)
}

/// The frozen participant object of a tile.
pub fn participant(key: &str, element: &JsValue) -> JsValue {
    let p = to_js(&Participant {
        key: key.to_owned(),
        element: element.clone(),
    });
    if let Some(o) = p.dyn_ref::<Object>() {
        Object::freeze(o);
    }
    p
}

/// Frame times are sub-millisecond floats; a tenth of a millisecond is plenty.
pub fn round(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}
