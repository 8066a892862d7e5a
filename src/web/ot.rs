//! The part of the vendor's `OT` API (`@vonage/client-sdk-video`, `@opentok/client`, or the
//! sandbox's client) that the shell uses, as wasm-bindgen externs.
//!
//! Every method is `catch`, and properties are read with [`get`] (`Reflect.get`, caught) as
//! plain `JsValue`s that `decode.rs` checks: a vendor call that throws, or a property of another
//! type than its typings say, becomes an `Err` or a `None` in Rust. Either thrown through wasm
//! frames would skip their destructors and leave the shell's state borrowed for good.

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::engine::HookError;

#[wasm_bindgen]
extern "C" {
    /// The `OT` namespace object the app passes in.
    #[derive(Clone)]
    pub type Ot;

    #[wasm_bindgen(method, catch, js_name = initSession)]
    pub fn init_session(
        this: &Ot,
        application_id: &str,
        session_id: &str,
        options: &JsValue,
    ) -> Result<OtSession, JsValue>;

    /// `OT.initPublisher(undefined, properties, callback)`: no target element, the shell owns
    /// the DOM.
    #[wasm_bindgen(method, catch, js_name = initPublisher)]
    pub fn init_publisher(
        this: &Ot,
        target: &JsValue,
        properties: &Object,
        callback: &Function,
    ) -> Result<Publisher, JsValue>;

    /// Anything with the vendor's `on(name, fn)` / `off(name, fn)`.
    #[derive(Clone)]
    pub type Emitter;

    #[wasm_bindgen(method, catch)]
    pub fn on(this: &Emitter, event: &str, callback: &Function) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch)]
    pub fn off(this: &Emitter, event: &str, callback: &Function) -> Result<(), JsValue>;

    /// The vendor's `OT.Session` (named apart from the engine's record of a session).
    #[wasm_bindgen(extends = Emitter)]
    #[derive(Clone)]
    pub type OtSession;

    #[wasm_bindgen(method, catch)]
    pub fn connect(this: &OtSession, token: &str, callback: &Function) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch)]
    pub fn disconnect(this: &OtSession) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch)]
    pub fn publish(
        this: &OtSession,
        publisher: &Publisher,
        callback: &Function,
    ) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch)]
    pub fn unpublish(this: &OtSession, publisher: &Publisher) -> Result<(), JsValue>;

    /// `session.subscribe(stream, undefined, properties, callback)`.
    #[wasm_bindgen(method, catch)]
    pub fn subscribe(
        this: &OtSession,
        stream: &JsValue,
        target: &JsValue,
        properties: &Object,
        callback: &Function,
    ) -> Result<Subscriber, JsValue>;

    #[wasm_bindgen(method, catch)]
    pub fn unsubscribe(this: &OtSession, subscriber: &Subscriber) -> Result<(), JsValue>;

    /// `session.signal({ type, data }, callback)`: to every connection of the session.
    #[wasm_bindgen(method, catch)]
    pub fn signal(this: &OtSession, signal: &Object, callback: &Function) -> Result<(), JsValue>;

    #[wasm_bindgen(extends = Emitter)]
    #[derive(Clone)]
    pub type Publisher;

    #[wasm_bindgen(method, catch)]
    pub fn destroy(this: &Publisher) -> Result<(), JsValue>;

    #[wasm_bindgen(extends = Emitter)]
    #[derive(Clone)]
    pub type Subscriber;

    /// 0 mutes, 100 is full volume.
    #[wasm_bindgen(method, catch, js_name = setAudioVolume)]
    pub fn set_audio_volume(this: &Subscriber, volume: f64) -> Result<(), JsValue>;
}

#[wasm_bindgen]
extern "C" {
    /// A `<video>` seen through `requestVideoFrameCallback`, which web-sys only has among its
    /// unstable APIs.
    #[wasm_bindgen(extends = web_sys::HtmlVideoElement)]
    pub type FrameVideo;

    #[wasm_bindgen(method, catch, js_name = requestVideoFrameCallback)]
    pub fn request_video_frame_callback(
        this: &FrameVideo,
        callback: &Function,
    ) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = cancelVideoFrameCallback)]
    pub fn cancel_video_frame_callback(this: &FrameVideo, handle: u32) -> Result<(), JsValue>;

    /// A promise, with `then(onFulfilled, onRejected)` taking plain functions.
    pub type Thenable;

    #[wasm_bindgen(method, catch)]
    pub fn then(
        this: &Thenable,
        on_fulfilled: &Function,
        on_rejected: &Function,
    ) -> Result<JsValue, JsValue>;

    /// A function, for `bind(thisArg, id)`.
    pub type Bindable;

    #[wasm_bindgen(method)]
    pub fn bind(this: &Bindable, this_arg: &JsValue, id: u32) -> Function;
}

/// The property `key` of a vendor object: `None` when it is missing, or reading it throws
/// (a getter that throws, or `value` not an object).
pub fn get(value: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(value, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined())
}

/// A string property, or `None` when absent, throwing, or of another type.
pub fn text(value: &JsValue, key: &str) -> Option<String> {
    get(value, key)?.as_string()
}

/// A boolean property (`true` only for `true`).
pub fn flag(value: &JsValue, key: &str) -> bool {
    get(value, key).and_then(|v| v.as_bool()).unwrap_or(false)
}

/// A completion callback's error argument: `None` on success, else the vendor's name or
/// message (the engine only needs a short, stable-ish text).
pub fn callback_error(value: &JsValue) -> Option<String> {
    if value.is_undefined() || value.is_null() {
        return None;
    }
    Some(describe(value))
}

/// The numeric `code` of a vendor error (1004, 1005, 1006, ...), if it has one.
pub fn error_code(value: &JsValue) -> Option<u32> {
    get(value, "code")?
        .as_f64()
        .filter(|c| c.fract() == 0.0 && *c >= 0.0 && *c <= u32::MAX as f64)
        .map(|c| c as u32)
}

/// What an app hook threw or rejected with: its words, and whether it said that retrying
/// cannot help (`permanent: true` on the error, e.g. the app server answered that the session
/// is unknown or this user may not join it).
pub fn hook_error(value: &JsValue) -> HookError {
    HookError {
        detail: describe(value),
        permanent: flag(value, "permanent"),
    }
}

/// A short text for a JS value thrown or rejected by app code or the vendor: `name: message`
/// (`OT_CONNECT_FAILED: ...`), the message alone for a plain `Error`, else what there is.
pub fn describe(value: &JsValue) -> String {
    if let Some(s) = value.as_string() {
        return s;
    }
    let (name, message) = (text(value, "name"), text(value, "message"));
    let name = name.filter(|n| !n.is_empty() && n != "Error");
    match (name, message.filter(|m| !m.is_empty())) {
        (Some(mut n), Some(m)) => {
            n.push_str(": ");
            n.push_str(&m);
            n
        }
        (Some(n), None) | (None, Some(n)) => n,
        (None, None) => String::from("error"),
    }
}
