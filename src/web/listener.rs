//! Every JS callback the shell hands out (OT listeners, completion callbacks, promise
//! reactions, video-frame callbacks, the scheduler's timers), and the handles that take them
//! back.
//!
//! All of them are one module-wide router closure bound to a numeric route id
//! (`router.bind(null, id)`). The route table maps the id to the call it belongs to (weakly,
//! as a [`Sink`]) and to what the callback means ([`Route`]). Dropping a [`Callback`] removes
//! its route, and dropping a [`Listener`] also calls `off` on the emitter, like gloo-timers'
//! `Timeout` clears its timer. A vendor callback that still fires after its handle is gone
//! (a late completion, a frame callback racing `close()`) finds no route and does nothing,
//! where a dropped `Closure` would throw into the vendor's event loop. The sink reads the
//! route when it gets to the callback ([`route`]), so one that waited in its queue while its
//! handle went (the session it listened to was left meanwhile) does nothing either.
//!
//! One kind of callback must outlive the call: the completion of a `connect` that was left
//! before it completed. [`Callback::disconnect_if_connected`] turns it into an orphan that
//! disconnects the session if it connects after all, so no connection is left behind.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::Function;
use wasm_bindgen::prelude::*;

use super::ot::{Bindable, Emitter, OtSession};
use crate::engine::{SessionId, StreamId};
use crate::sorted_map::SortedMap;

/// What a callback means; `decode.rs` reads its arguments by it.
#[derive(Clone, Debug)]
pub enum Route {
    /// `session.connect` completed (error argument).
    Connected(SessionId),
    /// A session-level OT event.
    Session(SessionId, SessionEvent),
    /// `session.subscribe` completed (error argument).
    Subscribed(SessionId, StreamId),
    /// The subscriber's `videoElementCreated`.
    VideoElement(SessionId, StreamId),
    /// `requestVideoFrameCallback` on the subscriber's video (now, metadata).
    Frame(SessionId, StreamId),
    /// `OT.initPublisher` or `session.publish` completed (error argument).
    PublishDone(SessionId),
    /// The publisher's `streamCreated`: the own stream is live.
    OwnStream(SessionId),
    /// The app's `tokenProvider` promise settled (fulfilled: `true`).
    Token(SessionId, bool),
    /// The app's `resolveSession` promise settled (fulfilled: `true`).
    Resolved(SessionId, bool),
    /// `session.signal` (our moved signal) completed (error argument).
    Announced(SessionId),
    /// A `setTimeout` of the call's scheduler ran out (`schedule.rs`).
    Alarm(Alarm),
}

/// Why a scheduler's timer went off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alarm {
    /// The one timer.
    Timer,
    /// The drive asked for by `Schedule::soon`.
    Soon,
    /// The animation frame the tiles ask for after a swap ([`next_frame`]); not the
    /// scheduler's.
    Paint,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    ConnectionCreated,
    ConnectionDestroyed,
    StreamCreated,
    StreamDestroyed,
    /// `signal:<signalType>`.
    Signal,
    /// `signal:<signalType>-moved` (`Config::moved_signal_type`).
    Moved,
    Disconnected,
    /// The vendor's `migrated` (its own migration ended).
    Migrated,
}

impl SessionEvent {
    /// The events registered by name (the two signal types are registered as `signal:<type>`).
    pub const NAMED: [(SessionEvent, &'static str); 6] = [
        (SessionEvent::ConnectionCreated, "connectionCreated"),
        (SessionEvent::ConnectionDestroyed, "connectionDestroyed"),
        (SessionEvent::StreamCreated, "streamCreated"),
        (SessionEvent::StreamDestroyed, "streamDestroyed"),
        (SessionEvent::Disconnected, "sessionDisconnected"),
        (SessionEvent::Migrated, "migrated"),
    ];
}

/// Where a call's callbacks land: the drive loop (`drive.rs`) implements it. `id` is the
/// callback's route ([`route`]); `a` and `b` are its first two arguments.
pub trait Sink {
    fn on_callback(self: Rc<Self>, id: u32, a: JsValue, b: JsValue);
}

enum Entry {
    Call(Weak<dyn Sink>, Route),
    /// A left session's `connect` completion: disconnect it if it connected after all.
    DisconnectIfConnected(OtSession),
}

/// The one closure every callback calls: `(route id, first argument, second argument)`.
type Router = Closure<dyn FnMut(JsValue, JsValue, JsValue)>;

struct Registry {
    next_id: u32,
    routes: SortedMap<u32, Entry>,
    router: Option<Router>,
}

thread_local! {
    // The router closure lives as long as the module: there is exactly one, so it does not
    // grow with calls or handoffs, and late vendor callbacks always land on something that
    // exists (see the module docs). Thread-locals are never destroyed on wasm32.
    static REGISTRY: RefCell<Registry> = const {
        RefCell::new(Registry {
            next_id: 1,
            routes: SortedMap::new(),
            router: None,
        })
    };
}

fn dispatch(id: JsValue, a: JsValue, b: JsValue) {
    let Some(id) = id.as_f64().map(|n| n as u32) else {
        return;
    };
    let target = REGISTRY.with(|r| {
        let mut r = r.try_borrow_mut().ok()?;
        match r.routes.get(&id)? {
            Entry::Call(sink, _) => Some(Ok(sink.clone())),
            Entry::DisconnectIfConnected(_) => match r.routes.remove(&id) {
                Some(Entry::DisconnectIfConnected(session)) => Some(Err(session)),
                _ => None,
            },
        }
    });
    match target {
        Some(Ok(sink)) => {
            if let Some(sink) = sink.upgrade() {
                sink.on_callback(id, a, b);
            }
        }
        // No error argument: the connect succeeded after we had left.
        Some(Err(session)) if a.is_undefined() || a.is_null() => {
            let _ = session.disconnect();
        }
        _ => {}
    }
}

/// What callback `id` means, while its handle lives.
pub fn route(id: u32) -> Option<Route> {
    REGISTRY.with(|r| match r.try_borrow().ok()?.routes.get(&id)? {
        Entry::Call(_, route) => Some(route.clone()),
        Entry::DisconnectIfConnected(_) => None,
    })
}

/// Callbacks handed to JS and not taken back yet, of every call (for leak checks).
pub fn live_callbacks() -> usize {
    REGISTRY.with(|r| r.borrow().routes.keys().count())
}

/// A JS function that routes its calls to `sink` as `route`, until dropped.
pub struct Callback {
    id: u32,
    function: Function,
}

impl Callback {
    pub fn new(sink: &Weak<dyn Sink>, route: Route) -> Callback {
        REGISTRY.with(|r| {
            let mut r = r.borrow_mut();
            let id = r.next_id;
            // Ids are not reused (a stale call must never reach a newer route); 2^32 callbacks
            // would take centuries of handoffs.
            r.next_id = r.next_id.wrapping_add(1).max(1);
            r.routes.insert(id, Entry::Call(sink.clone(), route));
            let router = r.router.get_or_insert_with(|| Closure::new(dispatch));
            let function = router
                .as_ref()
                .unchecked_ref::<Bindable>()
                .bind(&JsValue::NULL, id);
            Callback { id, function }
        })
    }

    pub fn function(&self) -> &Function {
        &self.function
    }

    /// For the completion callback of a `connect` that is being left: if the session still
    /// connects, it is disconnected at once; either way the entry goes when the vendor calls.
    pub fn disconnect_if_connected(self, session: OtSession) {
        // The orphan replaces the call's entry; dropping `self` then leaves it in place.
        REGISTRY.with(|r| {
            if let Ok(mut r) = r.try_borrow_mut() {
                r.routes
                    .insert(self.id, Entry::DisconnectIfConnected(session));
            }
        });
    }
}

impl Drop for Callback {
    fn drop(&mut self) {
        let id = self.id;
        REGISTRY.with(|r| {
            if let Ok(mut r) = r.try_borrow_mut() {
                if matches!(r.routes.get(&id), Some(Entry::Call(..))) {
                    r.routes.remove(&id);
                }
            }
        });
    }
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, ms: u32) -> JsValue;

    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);

    // Asked for only after a swap in a tile, so where there is a document.
    #[wasm_bindgen(js_name = requestAnimationFrame)]
    fn request_animation_frame(callback: &Function);
}

/// A `setTimeout` that routes to `sink` as `route` when it runs out, cleared when dropped (as
/// gloo-timers' `Timeout`, through the one router closure).
pub struct Timer {
    handle: JsValue,
    _callback: Callback,
}

impl Timer {
    pub fn new(sink: &Weak<dyn Sink>, alarm: Alarm, ms: u32) -> Timer {
        let callback = Callback::new(sink, Route::Alarm(alarm));
        Timer {
            handle: set_timeout(callback.function(), ms),
            _callback: callback,
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        clear_timeout(&self.handle);
    }
}

/// A `requestAnimationFrame` that routes to `sink` as [`Alarm::Paint`] in the next rendering
/// update, until the returned callback is dropped. Not cancelled then: the browser calls the
/// router once more with a route that is gone (nothing happens) and lets go of it, one
/// rendering update later at most.
pub fn next_frame(sink: &Weak<dyn Sink>) -> Callback {
    let callback = Callback::new(sink, Route::Alarm(Alarm::Paint));
    request_animation_frame(callback.function());
    callback
}

/// A listener registered with `on`; calls `off` and forgets its route when dropped.
pub struct Listener {
    target: Emitter,
    event: Box<str>,
    callback: Callback,
}

impl Listener {
    /// Registers `route` for `event` on `target`. A vendor that refuses the registration
    /// (throws) gives `None`: nothing to take back.
    pub fn new(
        sink: &Weak<dyn Sink>,
        target: &Emitter,
        event: &str,
        route: Route,
    ) -> Option<Listener> {
        let callback = Callback::new(sink, route);
        target.on(event, callback.function()).ok()?;
        Some(Listener {
            target: target.clone(),
            event: event.into(),
            callback,
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.target.off(&self.event, self.callback.function());
    }
}
