//! Decode: what a callback heard, read into typed Rust ([`Heard`]) before anything acts on it.
//!
//! Every value a callback is handed (by the vendor, the DOM or the app) is read here, with
//! `ot::get` (a caught `Reflect.get`): a property that is missing, throwing or of another
//! type makes the event unreadable (`Heard::Nothing`) or the field absent, never an exception.
//! A handoff signal's `data` is checked for size and nesting, parsed with `JSON.parse` and read
//! into the engine's `MoveFields` with serde-wasm-bindgen.

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlVideoElement;

use super::listener::{Route, SessionEvent};
use super::ot::{callback_error, error_code, flag, get, hook_error, text};
use crate::engine::{
    check_signal_text, ConnectionId, DisconnectReason, HookError, MoveFields, RejectReason,
    Rejection, SessionId, StreamId,
};

const NOT_A_MOVE: &str = "resolveSession must return null or { sessionId, token?, ... }";

/// What a callback heard, typed.
pub enum Heard {
    /// `session.connect` of attempt `gen` completed (a failure: the vendor's words and code).
    Connected {
        session: SessionId,
        gen: u32,
        error: Option<(String, Option<u32>)>,
    },
    /// An event of attempt `gen` of `session`.
    Session {
        session: SessionId,
        gen: u32,
        event: SessionHeard,
    },
    Subscribed {
        session: SessionId,
        stream: StreamId,
        error: Option<String>,
    },
    Video {
        session: SessionId,
        stream: StreamId,
        video: HtmlVideoElement,
    },
    /// A `requestVideoFrameCallback`: the video's latest frame was presented at `t` (its
    /// metadata's `presentationTime`, else `expectedDisplayTime`: performance.now() ms), and
    /// the video has presented `presented` frames in all (`presentedFrames`), when given.
    Frame {
        session: SessionId,
        stream: StreamId,
        t: f64,
        presented: Option<u32>,
    },
    Loaded {
        session: SessionId,
        stream: StreamId,
    },
    PublishDone {
        session: SessionId,
        error: Option<String>,
    },
    OwnStream {
        session: SessionId,
    },
    Token {
        session: SessionId,
        result: Result<String, HookError>,
    },
    Resolved {
        old: SessionId,
        result: Result<Option<MoveFields>, HookError>,
    },
    Announced {
        session: SessionId,
        error: Option<String>,
    },
    /// Nothing readable.
    Nothing,
}

pub enum SessionHeard {
    /// A connection appeared; `object` is the vendor's, for the app's `participantKey`.
    Connection {
        connection: ConnectionId,
        data: Option<String>,
        object: JsValue,
    },
    ConnectionGone(ConnectionId),
    Stream {
        id: StreamId,
        object: JsValue,
        connection: ConnectionId,
        has_video: bool,
    },
    StreamGone(StreamId),
    Signal {
        from: Option<ConnectionId>,
        body: Result<MoveFields, Rejection>,
    },
    Moved {
        from: Option<ConnectionId>,
        data: String,
    },
    Disconnected(DisconnectReason),
    Migrated,
}

/// Reads what `route`'s callback was called with (`a`: its first argument; for a frame, the
/// `requestVideoFrameCallback` metadata, its second).
pub fn read(route: Route, a: JsValue) -> Heard {
    match route {
        Route::Connected(session, gen) => Heard::Connected {
            session,
            gen,
            error: callback_error(&a).map(|e| (e, error_code(&a))),
        },
        Route::Session(session, gen, ev) => match session_event(ev, &a) {
            Some(event) => Heard::Session {
                session,
                gen,
                event,
            },
            None => Heard::Nothing,
        },
        Route::Subscribed(session, stream) => Heard::Subscribed {
            session,
            stream,
            error: callback_error(&a),
        },
        Route::VideoElement(session, stream) => {
            match get(&a, "element").and_then(|e| e.dyn_into::<HtmlVideoElement>().ok()) {
                Some(video) => Heard::Video {
                    session,
                    stream,
                    video,
                },
                None => Heard::Nothing,
            }
        }
        // Timed by presentation, as the end-to-end tests measure (tests/e2e/measure.js): the
        // callback's own `now` is when the main thread got to it, which a busy page delays.
        Route::Frame(session, stream) => {
            let number = |key| get(&a, key).and_then(|v| v.as_f64());
            match number("presentationTime").or_else(|| number("expectedDisplayTime")) {
                Some(t) => Heard::Frame {
                    session,
                    stream,
                    t,
                    presented: number("presentedFrames").map(|n| n as u32),
                },
                None => Heard::Nothing,
            }
        }
        Route::Loaded(session, stream) => Heard::Loaded { session, stream },
        Route::PublishDone(session) => Heard::PublishDone {
            session,
            error: callback_error(&a),
        },
        Route::OwnStream(session) => Heard::OwnStream { session },
        Route::Token(session, fulfilled) => Heard::Token {
            session,
            result: match (fulfilled, a.as_string()) {
                (true, Some(token)) if !token.is_empty() => Ok(token),
                (true, _) => Err(HookError::transient("tokenProvider returned no token")),
                (false, _) => Err(hook_error(&a)),
            },
        },
        Route::Resolved(old, fulfilled) => Heard::Resolved {
            old,
            result: if !fulfilled {
                Err(hook_error(&a))
            } else if a.is_null() || a.is_undefined() {
                Ok(None)
            } else {
                // Its fields are checked by the engine, like a handoff signal's.
                Some(a)
                    .filter(JsValue::is_object)
                    .and_then(|a| serde_wasm_bindgen::from_value(a).ok())
                    .map(Some)
                    // The same answer would come again: retrying cannot help.
                    .ok_or_else(|| HookError::permanent(NOT_A_MOVE))
            },
        },
        Route::Announced(session) => Heard::Announced {
            session,
            error: callback_error(&a),
        },
    }
}

fn connection_id(connection: &JsValue) -> Option<ConnectionId> {
    text(connection, "connectionId").map(ConnectionId::from)
}

fn session_event(ev: SessionEvent, e: &JsValue) -> Option<SessionHeard> {
    Some(match ev {
        SessionEvent::ConnectionCreated => {
            let object = get(e, "connection")?;
            SessionHeard::Connection {
                connection: connection_id(&object)?,
                data: text(&object, "data"),
                object,
            }
        }
        SessionEvent::ConnectionDestroyed => {
            SessionHeard::ConnectionGone(connection_id(&get(e, "connection")?)?)
        }
        SessionEvent::StreamCreated => {
            let object = get(e, "stream")?;
            SessionHeard::Stream {
                id: StreamId::from(text(&object, "streamId")?),
                connection: connection_id(&get(&object, "connection")?)?,
                has_video: flag(&object, "hasVideo"),
                object,
            }
        }
        SessionEvent::StreamDestroyed => {
            let object = get(e, "stream")?;
            SessionHeard::StreamGone(StreamId::from(text(&object, "streamId")?))
        }
        SessionEvent::Signal => SessionHeard::Signal {
            from: sender(e),
            body: text(e, "data")
                .ok_or(Rejection::from(RejectReason::NotJson))
                .and_then(|data| handoff_body(&data)),
        },
        SessionEvent::Moved => SessionHeard::Moved {
            from: sender(e),
            data: text(e, "data")?,
        },
        SessionEvent::Migrated => SessionHeard::Migrated,
        SessionEvent::Disconnected => SessionHeard::Disconnected(
            text(e, "reason").map_or(DisconnectReason::Other, |r| disconnect_reason(&r)),
        ),
    })
}

/// A signal's sender: `None` only when `from` is exactly `null` (sent by the app server
/// through the REST API); anything else is a client, even one whose ID cannot be read.
fn sender(e: &JsValue) -> Option<ConnectionId> {
    match Reflect::get(e, &JsValue::from_str("from")) {
        Ok(from) if from.is_null() => None,
        Ok(from) => Some(connection_id(&from).unwrap_or_else(|| ConnectionId::from(""))),
        Err(_) => Some(ConnectionId::from("")),
    }
}

/// A handoff signal's `data` as a move request: checked for size and nesting, parsed with
/// `JSON.parse`, and a JSON object read into [`MoveFields`].
fn handoff_body(data: &str) -> Result<MoveFields, Rejection> {
    check_signal_text(data)?;
    let not_json = |_| Rejection::from(RejectReason::NotJson);
    let value = js_sys::JSON::parse(data).map_err(not_json)?;
    if !value.is_object() || Array::is_array(&value) {
        return Err(RejectReason::NotJson.into());
    }
    serde_wasm_bindgen::from_value(value).map_err(|_| RejectReason::NotJson.into())
}

fn disconnect_reason(s: &str) -> DisconnectReason {
    match s {
        "clientDisconnected" => DisconnectReason::ClientDisconnected,
        "forceDisconnected" => DisconnectReason::ForceDisconnected,
        "networkDisconnected" => DisconnectReason::NetworkDisconnected,
        "mediaIdle" => DisconnectReason::MediaIdle,
        "serverRotation" => DisconnectReason::ServerRotation,
        _ => DisconnectReason::Other,
    }
}
