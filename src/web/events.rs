//! What the app receives: the engine's events as plain JS objects (built with `Reflect`),
//! plus the figures only the shell knows (frame gaps, tile elements), and `stats()`.
//!
//! Events wait in an [`Outbox`] and are handed to the app after the engine call returned. A
//! `participantSwapped` waits there until its tile's frame gap is measured (a few frames after
//! the swap), and everything behind it waits too, so the app sees events in engine order.

use std::collections::VecDeque;

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

use super::error::Failure;
use crate::engine::{
    DisconnectReason, LeaveCause, Millis, ParticipantKey, RejectReason, SessionId,
};

/// A swap's frame gap: not known yet, known, or not measurable (no frames on either side).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Gap {
    Pending,
    Known(Option<f64>),
}

/// Declares [`Name`]: the one list of the events the app can receive. The shell can only hand
/// out these (every event goes through a `Name`), and tests/package/events.test.mjs checks this
/// list against the names the package accepts (`EVENTS` in js/index.js) and declares
/// (`HandoffEvents` in js/index.d.ts): a name missing there makes `on(name)` throw for an event
/// the SDK does send.
macro_rules! names {
    ($($variant:ident => $name:literal,)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Name {
            $($variant,)*
        }

        impl Name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Name::$variant => $name,)*
                }
            }
        }
    };
}

names! {
    StateChanged => "stateChanged",
    HandoffStarted => "handoffStarted",
    ParticipantSwapped => "participantSwapped",
    HandoffCompleted => "handoffCompleted",
    HandoffFailed => "handoffFailed",
    SubscribeFailed => "subscribeFailed",
    AnnounceFailed => "announceFailed",
    RecoveryStarted => "recoveryStarted",
    SessionEnded => "sessionEnded",
    SignalRejected => "signalRejected",
    ParticipantJoined => "participantJoined",
    ParticipantLeft => "participantLeft",
}

pub enum Outgoing {
    Ready(Name, JsValue),
    Swapped {
        key: ParticipantKey,
        from: SessionId,
        to: SessionId,
        gap: Gap,
    },
    /// Serialized when delivered: `largestFrameGapMs` covers the swaps queued before it.
    Completed {
        from: SessionId,
        to: SessionId,
        duration_ms: Millis,
        overlap_ms: Millis,
        ended_by: LeaveCause,
    },
}

#[derive(Default)]
pub struct Outbox {
    queue: VecDeque<Outgoing>,
}

impl Outbox {
    pub fn push(&mut self, event: Outgoing) {
        self.queue.push_back(event);
    }

    pub fn ready(&mut self, kind: Name, payload: &impl Payload) {
        self.queue.push_back(Outgoing::Ready(kind, to_js(payload)));
    }

    /// The swaps still waiting for a figure, oldest first per key.
    pub fn pending_swaps(&mut self) -> impl Iterator<Item = (&ParticipantKey, &mut Gap)> {
        self.queue.iter_mut().filter_map(|e| match e {
            Outgoing::Swapped {
                key,
                gap: gap @ Gap::Pending,
                ..
            } => Some((&*key, gap)),
            _ => None,
        })
    }

    /// The next deliverable event, unless the head still waits for a measurement.
    pub fn pop(&mut self, handoff_gap: Option<f64>) -> Option<(Name, JsValue)> {
        if let Some(Outgoing::Swapped {
            gap: Gap::Pending, ..
        }) = self.queue.front()
        {
            return None;
        }
        Some(match self.queue.pop_front()? {
            Outgoing::Ready(kind, payload) => (kind, payload),
            Outgoing::Swapped { key, from, to, gap } => (
                Name::ParticipantSwapped,
                to_js(&Swapped {
                    key: key.as_str(),
                    from: from.as_str(),
                    to: to.as_str(),
                    frame_gap_ms: match gap {
                        Gap::Known(g) => g.map(round),
                        Gap::Pending => None,
                    },
                }),
            ),
            Outgoing::Completed {
                from,
                to,
                duration_ms,
                overlap_ms,
                ended_by,
            } => (
                Name::HandoffCompleted,
                to_js(&Completed {
                    from: from.as_str(),
                    to: to.as_str(),
                    duration_ms: duration_ms as f64,
                    overlap_ms: overlap_ms as f64,
                    ended_by: leave_cause(ended_by),
                    largest_frame_gap_ms: handoff_gap.map(round),
                }),
            ),
        })
    }

    pub fn clear(&mut self) {
        self.queue.clear();
    }
}

/// Frame times are sub-millisecond floats; a tenth of a millisecond is plenty.
fn round(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}

/// A payload the app receives, as a plain JS object with camelCase keys (absent values are
/// `null`). Built with `Reflect` field by field: serde's derive and serde-wasm-bindgen cost
/// about 3 KB gzip of the shipped wasm for these few flat objects.
pub trait Payload {
    fn to_js(&self) -> JsValue;
}

pub fn to_js(value: &impl Payload) -> JsValue {
    value.to_js()
}

/// `{ k0: v0, k1: v1, ... }` in field order.
fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in fields {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

fn opt_text(s: Option<&str>) -> JsValue {
    s.map_or(JsValue::NULL, JsValue::from_str)
}

fn opt_number(n: Option<f64>) -> JsValue {
    n.map_or(JsValue::NULL, JsValue::from_f64)
}

pub struct StateChanged<'a> {
    pub state: &'a str,
}

impl Payload for StateChanged<'_> {
    fn to_js(&self) -> JsValue {
        object(&[("state", text(self.state))])
    }
}

pub struct HandoffStarted<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub reason: Option<&'a str>,
    pub id: Option<&'a str>,
}

impl Payload for HandoffStarted<'_> {
    fn to_js(&self) -> JsValue {
        object(&[
            ("from", text(self.from)),
            ("to", text(self.to)),
            ("reason", opt_text(self.reason)),
            ("id", opt_text(self.id)),
        ])
    }
}

struct Swapped<'a> {
    key: &'a str,
    from: &'a str,
    to: &'a str,
    frame_gap_ms: Option<f64>,
}

impl Payload for Swapped<'_> {
    fn to_js(&self) -> JsValue {
        object(&[
            ("key", text(self.key)),
            ("from", text(self.from)),
            ("to", text(self.to)),
            ("frameGapMs", opt_number(self.frame_gap_ms)),
        ])
    }
}

struct Completed<'a> {
    from: &'a str,
    to: &'a str,
    duration_ms: f64,
    overlap_ms: f64,
    ended_by: &'static str,
    largest_frame_gap_ms: Option<f64>,
}

impl Payload for Completed<'_> {
    fn to_js(&self) -> JsValue {
        object(&[
            ("from", text(self.from)),
            ("to", text(self.to)),
            ("durationMs", JsValue::from_f64(self.duration_ms)),
            ("overlapMs", JsValue::from_f64(self.overlap_ms)),
            ("endedBy", text(self.ended_by)),
            ("largestFrameGapMs", opt_number(self.largest_frame_gap_ms)),
        ])
    }
}

pub struct ErrorInfo<'a> {
    pub code: &'static str,
    pub message: &'a str,
}

impl<'a> From<&'a Failure> for ErrorInfo<'a> {
    fn from(f: &'a Failure) -> Self {
        ErrorInfo {
            code: f.code,
            message: &f.message,
        }
    }
}

impl Payload for ErrorInfo<'_> {
    fn to_js(&self) -> JsValue {
        object(&[("code", text(self.code)), ("message", text(self.message))])
    }
}

pub struct HandoffFailed<'a> {
    pub to: &'a str,
    /// `js/index.js` turns it into a `HandoffError`.
    pub error: ErrorInfo<'a>,
    pub will_retry: bool,
    pub next_attempt_at: Option<f64>,
}

impl Payload for HandoffFailed<'_> {
    fn to_js(&self) -> JsValue {
        object(&[
            ("to", text(self.to)),
            ("error", self.error.to_js()),
            ("willRetry", JsValue::from_bool(self.will_retry)),
            ("nextAttemptAt", opt_number(self.next_attempt_at)),
        ])
    }
}

/// A remote stream could not be subscribed to.
pub struct SubscribeFailed<'a> {
    pub key: Option<&'a str>,
    pub session_id: &'a str,
    pub stream_id: &'a str,
    /// `js/index.js` turns it into a `HandoffError`.
    pub error: ErrorInfo<'a>,
}

impl Payload for SubscribeFailed<'_> {
    fn to_js(&self) -> JsValue {
        object(&[
            ("key", opt_text(self.key)),
            ("sessionId", text(self.session_id)),
            ("streamId", text(self.stream_id)),
            ("error", self.error.to_js()),
        ])
    }
}

/// Our moved signal into a session could not be sent.
pub struct AnnounceFailed<'a> {
    pub session_id: &'a str,
    /// `js/index.js` turns it into a `HandoffError`.
    pub error: ErrorInfo<'a>,
}

impl Payload for AnnounceFailed<'_> {
    fn to_js(&self) -> JsValue {
        object(&[
            ("sessionId", text(self.session_id)),
            ("error", self.error.to_js()),
        ])
    }
}

/// `recoveryStarted` and `sessionEnded`.
pub struct SessionReason<'a> {
    pub session_id: &'a str,
    pub reason: &'static str,
}

impl Payload for SessionReason<'_> {
    fn to_js(&self) -> JsValue {
        object(&[
            ("sessionId", text(self.session_id)),
            ("reason", text(self.reason)),
        ])
    }
}

pub struct SignalRejected<'a> {
    pub reason: &'static str,
    pub message: &'a str,
}

impl Payload for SignalRejected<'_> {
    fn to_js(&self) -> JsValue {
        object(&[
            ("reason", text(self.reason)),
            ("message", text(self.message)),
        ])
    }
}

/// `js/index.js` wraps `{ key, element }` into the app's stable `Participant` object.
pub struct ParticipantJoined<'a> {
    pub key: &'a str,
    pub element: JsValue,
}

impl Payload for ParticipantJoined<'_> {
    fn to_js(&self) -> JsValue {
        object(&[("key", text(self.key)), ("element", self.element.clone())])
    }
}

pub struct ParticipantLeft<'a> {
    pub key: &'a str,
}

impl Payload for ParticipantLeft<'_> {
    fn to_js(&self) -> JsValue {
        object(&[("key", text(self.key))])
    }
}

pub struct TileStats<'a> {
    pub key: &'a str,
    pub frames_presented: u32,
    pub largest_frame_gap_ms: Option<f64>,
    pub last_swap_frame_gap_ms: Option<f64>,
}

impl Payload for TileStats<'_> {
    fn to_js(&self) -> JsValue {
        object(&[
            ("key", text(self.key)),
            ("framesPresented", JsValue::from(self.frames_presented)),
            ("largestFrameGapMs", opt_number(self.largest_frame_gap_ms)),
            (
                "lastSwapFrameGapMs",
                opt_number(self.last_swap_frame_gap_ms),
            ),
        ])
    }
}

pub struct CallStats<'a> {
    pub state: &'a str,
    pub session_id: Option<&'a str>,
    pub handoffs_completed: u32,
    pub tiles: Vec<TileStats<'a>>,
}

impl Payload for CallStats<'_> {
    fn to_js(&self) -> JsValue {
        let tiles: Array = self.tiles.iter().map(Payload::to_js).collect();
        object(&[
            ("state", text(self.state)),
            ("sessionId", opt_text(self.session_id)),
            ("handoffsCompleted", JsValue::from(self.handoffs_completed)),
            ("tiles", tiles.into()),
        ])
    }
}

impl TileStats<'_> {
    pub fn rounded(mut self) -> Self {
        self.largest_frame_gap_ms = self.largest_frame_gap_ms.map(round);
        self.last_swap_frame_gap_ms = self.last_swap_frame_gap_ms.map(round);
        self
    }
}

pub fn leave_cause(c: LeaveCause) -> &'static str {
    match c {
        LeaveCause::AllMoved => "allMoved",
        LeaveCause::MaxOverlap => "maxOverlap",
        LeaveCause::Deadline => "deadline",
        LeaveCause::OldSessionLost => "oldSessionLost",
    }
}

pub fn parse_disconnect_reason(s: &str) -> DisconnectReason {
    match s {
        "clientDisconnected" => DisconnectReason::ClientDisconnected,
        "forceDisconnected" => DisconnectReason::ForceDisconnected,
        "networkDisconnected" => DisconnectReason::NetworkDisconnected,
        "mediaIdle" => DisconnectReason::MediaIdle,
        "serverRotation" => DisconnectReason::ServerRotation,
        _ => DisconnectReason::Other,
    }
}

/// A sentence for a rejected signal (the `reason` code is the machine-readable part).
pub fn reject_message(r: &RejectReason) -> std::borrow::Cow<'static, str> {
    use std::borrow::Cow::*;
    match r {
        RejectReason::NotFromServer => {
            Borrowed("handoff signals are only obeyed from the app server (from === null)")
        }
        RejectReason::NotJson => Borrowed("the signal data is not a JSON object"),
        RejectReason::UnsupportedVersion => {
            Borrowed("the signal's protocol version \"v\" is missing or not 1")
        }
        RejectReason::MissingSessionId => Borrowed("the signal has no sessionId"),
        RejectReason::EmptySessionId => Borrowed("the signal's sessionId is empty"),
        RejectReason::OversizeSessionId => Borrowed("the signal's sessionId is too long"),
        RejectReason::WrongType { field } => {
            let mut s = String::from("the signal's field \"");
            s.push_str(field);
            s.push_str("\" has the wrong type or an out-of-range value");
            Owned(s)
        }
        RejectReason::TooLarge => Borrowed("the signal data is over 8 kB"),
        RejectReason::Duplicate => {
            Borrowed("the signal names the session already live or being moved to")
        }
        RejectReason::Stale => {
            Borrowed("the signal names a session already left, or its deadline has passed")
        }
        #[allow(unreachable_patterns)]
        _ => Borrowed("the signal was rejected"),
    }
}
