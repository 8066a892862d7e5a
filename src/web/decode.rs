//! Decode: what a callback heard, read into typed Rust before anything acts on it: the
//! engine's own [`Input`] where the engine is all it concerns, else news for the part of the
//! shell that owns the vendor object it is about ([`Owned`]).
//!
//! Every value a callback is handed (by the vendor, the DOM or the app) is read here, with
//! `ot::get` (a caught `Reflect.get`): a property that is missing, throwing or of another
//! type makes the event unreadable (`None`) or the field absent, never an exception.
//! A handoff signal's `data` is checked for size and nesting, parsed with `JSON.parse` and read
//! into the engine's `MoveFields` with serde-wasm-bindgen.

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlVideoElement;

use super::listener::{Route, SessionEvent};
use super::ot::{callback_error, error_code, flag, get, hook_error, text};
use crate::engine::{
    check_signal_text, ConnectionId, DisconnectReason, HookError, Input, MoveFields, RejectReason,
    Rejection, SessionId, StreamId,
};

const NOT_A_MOVE: &str = "resolveSession must return null or { sessionId, token?, ... }";

/// What a callback said, typed, for the stage that takes it next.
pub enum Heard {
    /// For the engine as it is.
    Engine(Input),
    /// For the part of `effects/` that owns the vendor object it is about; that part gives
    /// the engine its input, if there is one.
    Owner(Owned),
}

/// News of a vendor object the shell owns.
pub enum Owned {
    /// `session.connect` completed (a failure: the vendor's words and code).
    Connected(SessionId, Option<(String, Option<u32>)>),
    /// `sessionDisconnected`: the vendor destroyed the session's publisher and subscribers.
    Disconnected(SessionId, DisconnectReason),
    /// A remote stream appeared: the vendor's object (to subscribe to), and the engine's input.
    Stream(JsValue, Input),
    /// A remote stream ended (the engine's input, once its object is forgotten).
    StreamGone(Input),
    /// `session.subscribe` completed without an error.
    Subscribed(SessionId, StreamId),
    /// The subscriber's `<video>`.
    Video(SessionId, StreamId, HtmlVideoElement),
    /// A `requestVideoFrameCallback` ran: the video's latest frame was presented at `t` (its
    /// metadata's `presentationTime`, else `expectedDisplayTime`: performance.now() ms), and
    /// the video has presented `presented` frames in all (`presentedFrames`), when given.
    Frame {
        session: SessionId,
        stream: StreamId,
        t: f64,
        presented: Option<u32>,
    },
    /// `OT.initPublisher` or `session.publish` failed.
    PublishFailed(SessionId, String),
}

/// Reads what `route`'s callback was called with (`a`, `b`: its first two arguments);
/// `participant_key` is the app's hook, asked about every new connection. `None`: nothing
/// readable, or nothing to do (a completion without an error).
pub fn read(
    route: Route,
    a: JsValue,
    b: JsValue,
    participant_key: Option<&Function>,
) -> Option<Heard> {
    let engine = |input| Some(Heard::Engine(input));
    let owner = |owned| Some(Heard::Owner(owned));
    match route {
        Route::Connected(session) => owner(Owned::Connected(
            session,
            callback_error(&a).map(|e| (e, error_code(&a))),
        )),
        Route::Session(session, ev) => session_event(session, ev, &a, participant_key),
        Route::Subscribed(session, stream) => match callback_error(&a) {
            Some(error) => engine(Input::SubscribeFailed {
                session,
                stream,
                error,
            }),
            None => owner(Owned::Subscribed(session, stream)),
        },
        Route::VideoElement(session, stream) => {
            let video = get(&a, "element")?.dyn_into::<HtmlVideoElement>().ok()?;
            owner(Owned::Video(session, stream, video))
        }
        // Timed by presentation, as the end-to-end tests measure (tests/e2e/measure.js): the
        // callback's own `now` (its first argument) is when the main thread got to it, which a
        // busy page delays; the metadata is its second.
        Route::Frame(session, stream) => {
            let number = |key| get(&b, key).and_then(|v| v.as_f64());
            // Without metadata: the `play()` of a video whose frames are not timed settled.
            let t = number("presentationTime")
                .or_else(|| number("expectedDisplayTime"))
                .unwrap_or(0.0);
            owner(Owned::Frame {
                session,
                stream,
                t,
                presented: number("presentedFrames").map(|n| n as u32),
            })
        }
        Route::PublishDone(session) => owner(Owned::PublishFailed(session, callback_error(&a)?)),
        Route::OwnStream(session) => engine(Input::Published { session }),
        Route::Token(session, fulfilled) => engine(Input::Token {
            session,
            result: match (fulfilled, a.as_string()) {
                (true, Some(token)) if !token.is_empty() => Ok(token),
                (true, _) => Err(HookError::transient("tokenProvider returned no token")),
                (false, _) => Err(hook_error(&a)),
            },
        }),
        Route::Resolved(old, fulfilled) => engine(Input::Resolved {
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
        }),
        Route::Announced(session) => engine(Input::AnnounceFailed {
            session,
            error: callback_error(&a)?,
        }),
        // The scheduler's own timers carry nothing to read (`drive.rs` takes them).
        Route::Alarm(_) => None,
    }
}

fn connection_id(connection: &JsValue) -> Option<ConnectionId> {
    text(connection, "connectionId").map(ConnectionId::from)
}

fn session_event(
    session: SessionId,
    ev: SessionEvent,
    e: &JsValue,
    participant_key: Option<&Function>,
) -> Option<Heard> {
    let input = match ev {
        SessionEvent::ConnectionCreated => {
            let object = get(e, "connection")?;
            // The app's key for it, asked here with nothing of the call borrowed: the app may
            // call back into the call from its hook.
            let app_key = participant_key
                .and_then(|f| f.call1(&JsValue::NULL, &object).ok())
                .and_then(|k| k.as_string());
            Input::ConnectionCreated {
                session,
                connection: connection_id(&object)?,
                data: text(&object, "data"),
                app_key,
            }
        }
        SessionEvent::ConnectionDestroyed => Input::ConnectionDestroyed {
            session,
            connection: connection_id(&get(e, "connection")?)?,
        },
        SessionEvent::StreamCreated => {
            let object = get(e, "stream")?;
            let input = Input::StreamCreated {
                session,
                stream: StreamId::from(text(&object, "streamId")?),
                connection: connection_id(&get(&object, "connection")?)?,
                has_video: flag(&object, "hasVideo"),
            };
            return Some(Heard::Owner(Owned::Stream(object, input)));
        }
        SessionEvent::StreamDestroyed => {
            let object = get(e, "stream")?;
            let input = Input::StreamDestroyed {
                session,
                stream: StreamId::from(text(&object, "streamId")?),
            };
            return Some(Heard::Owner(Owned::StreamGone(input)));
        }
        SessionEvent::Signal => Input::Signal {
            from: sender(e),
            body: text(e, "data")
                .ok_or(Rejection::from(RejectReason::NotJson))
                .and_then(|data| handoff_body(&data)),
        },
        SessionEvent::Moved => Input::Moved {
            session,
            from: sender(e),
            data: text(e, "data")?,
        },
        SessionEvent::Migrated => Input::Migrated { session },
        SessionEvent::Disconnected => {
            let reason =
                text(e, "reason").map_or(DisconnectReason::Other, |r| disconnect_reason(&r));
            return Some(Heard::Owner(Owned::Disconnected(session, reason)));
        }
    };
    Some(Heard::Engine(input))
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
