//! The part of the vendor's `OT` API (`@vonage/client-sdk-video`, `@opentok/client`, or the
//! sandbox's client) that the shell uses, as typed wasm-bindgen externs.
//!
//! Every method is `catch`: a vendor call that throws becomes an `Err` in Rust instead of a JS
//! exception unwinding through wasm frames (which would leave the shell's state borrowed).
//! Property reads are plain getters on the event and model objects the vendor hands out.

use js_sys::{Function, Object};
use wasm_bindgen::prelude::*;
use web_sys::HtmlElement;

#[wasm_bindgen]
extern "C" {
    /// The `OT` namespace object the app passes in.
    pub type Ot;

    #[wasm_bindgen(method, catch, js_name = initSession)]
    pub fn init_session(
        this: &Ot,
        application_id: &str,
        session_id: &str,
    ) -> Result<Session, JsValue>;

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

    #[wasm_bindgen(extends = Emitter)]
    #[derive(Clone)]
    pub type Session;

    #[wasm_bindgen(method, catch)]
    pub fn connect(this: &Session, token: &str, callback: &Function) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch)]
    pub fn disconnect(this: &Session) -> Result<(), JsValue>;

    /// This client's own connection, once connected.
    #[wasm_bindgen(method, getter)]
    pub fn connection(this: &Session) -> Option<Connection>;

    #[wasm_bindgen(method, catch)]
    pub fn publish(
        this: &Session,
        publisher: &Publisher,
        callback: &Function,
    ) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch)]
    pub fn unpublish(this: &Session, publisher: &Publisher) -> Result<(), JsValue>;

    /// `session.subscribe(stream, undefined, properties, callback)`.
    #[wasm_bindgen(method, catch)]
    pub fn subscribe(
        this: &Session,
        stream: &Stream,
        target: &JsValue,
        properties: &Object,
        callback: &Function,
    ) -> Result<Subscriber, JsValue>;

    #[wasm_bindgen(method, catch)]
    pub fn unsubscribe(this: &Session, subscriber: &Subscriber) -> Result<(), JsValue>;

    /// `session.signal({ type, data }, callback)`: to every connection of the session.
    #[wasm_bindgen(method, catch)]
    pub fn signal(this: &Session, signal: &Object, callback: &Function) -> Result<(), JsValue>;

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

    pub type Stream;

    #[wasm_bindgen(method, getter, js_name = streamId)]
    pub fn stream_id(this: &Stream) -> String;

    #[wasm_bindgen(method, getter, js_name = hasVideo)]
    pub fn has_video(this: &Stream) -> bool;

    #[wasm_bindgen(method, getter, js_name = hasAudio)]
    pub fn has_audio(this: &Stream) -> bool;

    #[wasm_bindgen(method, getter)]
    pub fn connection(this: &Stream) -> Option<Connection>;

    pub type Connection;

    #[wasm_bindgen(method, getter, js_name = connectionId)]
    pub fn connection_id(this: &Connection) -> String;

    /// The token's `data`.
    #[wasm_bindgen(method, getter)]
    pub fn data(this: &Connection) -> Option<String>;

    /// `connectionCreated` / `connectionDestroyed`.
    pub type ConnectionEvent;

    #[wasm_bindgen(method, getter)]
    pub fn connection(this: &ConnectionEvent) -> Option<Connection>;

    /// `streamCreated` / `streamDestroyed` (of a session or of a publisher).
    pub type StreamEvent;

    #[wasm_bindgen(method, getter)]
    pub fn stream(this: &StreamEvent) -> Option<Stream>;

    /// `signal:<type>`; `from` is null for signals sent by the app server through REST.
    pub type SignalEvent;

    #[wasm_bindgen(method, getter)]
    pub fn from(this: &SignalEvent) -> Option<Connection>;

    #[wasm_bindgen(method, getter)]
    pub fn data(this: &SignalEvent) -> Option<String>;

    /// `sessionDisconnected`.
    pub type DisconnectEvent;

    #[wasm_bindgen(method, getter)]
    pub fn reason(this: &DisconnectEvent) -> Option<String>;

    /// `videoElementCreated`.
    pub type VideoElementEvent;

    #[wasm_bindgen(method, getter)]
    pub fn element(this: &VideoElementEvent) -> Option<HtmlElement>;

    /// The vendor's `OTError` passed to completion callbacks (`undefined` on success).
    pub type OtError;

    #[wasm_bindgen(method, getter)]
    pub fn name(this: &OtError) -> Option<String>;

    #[wasm_bindgen(method, getter)]
    pub fn message(this: &OtError) -> Option<String>;
}

#[wasm_bindgen]
extern "C" {
    /// A `<video>` seen through `requestVideoFrameCallback`, which web-sys only has among its
    /// unstable APIs.
    #[wasm_bindgen(extends = web_sys::HtmlVideoElement)]
    pub type FrameVideo;

    #[wasm_bindgen(method, js_name = requestVideoFrameCallback)]
    pub fn request_video_frame_callback(this: &FrameVideo, callback: &Function) -> u32;

    #[wasm_bindgen(method, js_name = cancelVideoFrameCallback)]
    pub fn cancel_video_frame_callback(this: &FrameVideo, handle: u32);

    /// A promise, with `then(onFulfilled, onRejected)` taking plain functions.
    pub type Thenable;

    #[wasm_bindgen(method)]
    pub fn then(this: &Thenable, on_fulfilled: &Function, on_rejected: &Function) -> JsValue;

    /// A function, for `bind(thisArg, id)`.
    pub type Bindable;

    #[wasm_bindgen(method)]
    pub fn bind(this: &Bindable, this_arg: &JsValue, id: u32) -> Function;
}

/// A completion callback's error argument: `None` on success, else the vendor's name or
/// message (the engine only needs a short, stable-ish text).
pub fn callback_error(value: &JsValue) -> Option<String> {
    if value.is_undefined() || value.is_null() {
        return None;
    }
    let err: &OtError = value.unchecked_ref();
    Some(
        err.name()
            .filter(|s| !s.is_empty())
            .or_else(|| err.message())
            .unwrap_or_else(|| "error".to_owned()),
    )
}
