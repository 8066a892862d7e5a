//! Every JS callback the shell hands out (OT listeners, completion callbacks, promise
//! reactions, video-frame callbacks), and the handles that take them back.
//!
//! All of them are one module-wide router closure bound to a numeric route id
//! (`router.bind(null, id)`). The route table maps the id to the call it belongs to (weakly)
//! and to what the callback means ([`Route`]). Dropping a [`Callback`] removes its route, and
//! dropping a [`Listener`] also calls `off` on the emitter, like gloo-timers' `Timeout` clears
//! its timer. A vendor callback that still fires after its handle is gone (a late `connect`
//! completion, a frame callback racing `close()`) finds no route and does nothing, where a
//! dropped `Closure` would throw into the vendor's event loop.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::Function;
use wasm_bindgen::prelude::*;

use super::ot::{Bindable, Emitter};
use super::shell::Core;
use crate::engine::{SessionId, StreamId};
use crate::sorted_map::SortedMap;

/// What a callback means; the shell's `on_route` gives it effect.
#[derive(Clone, Debug)]
pub enum Route {
    /// `session.connect` completed (error argument). The `u32`s number the connection
    /// attempt (see `Shell::next_gen`).
    Connected(SessionId, u32),
    /// A session-level OT event.
    Session(SessionId, u32, SessionEvent),
    /// `session.subscribe` completed (error argument).
    Subscribed(SessionId, StreamId),
    /// The subscriber's `videoElementCreated`.
    VideoElement(SessionId, StreamId),
    /// `requestVideoFrameCallback` on the subscriber's video (now, metadata).
    Frame(SessionId, StreamId),
    /// `loadeddata` on a video without `requestVideoFrameCallback`.
    Loaded(SessionId, StreamId),
    /// `OT.initPublisher` or `session.publish` completed (error argument).
    PublishDone(SessionId),
    /// The publisher's `streamCreated`: the own stream is live.
    OwnStream(SessionId),
    /// The app's `tokenProvider` promise settled.
    Token(SessionId, bool),
    /// The app's `resolveSession` promise settled.
    Resolved(SessionId, bool),
    /// `session.signal` (our moved signal) completed (error argument).
    Announced(SessionId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    ConnectionCreated,
    ConnectionDestroyed,
    StreamCreated,
    StreamDestroyed,
    /// The handoff signal type.
    Signal,
    /// Peers' moved signal type (`Config::moved_signal_type`).
    Moved,
    Disconnected,
}

impl SessionEvent {
    pub const ALL: [SessionEvent; 5] = [
        SessionEvent::ConnectionCreated,
        SessionEvent::ConnectionDestroyed,
        SessionEvent::StreamCreated,
        SessionEvent::StreamDestroyed,
        SessionEvent::Disconnected,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SessionEvent::ConnectionCreated => "connectionCreated",
            SessionEvent::ConnectionDestroyed => "connectionDestroyed",
            SessionEvent::StreamCreated => "streamCreated",
            SessionEvent::StreamDestroyed => "streamDestroyed",
            // Registered as `signal:<type>`, see `Shell::connect`.
            SessionEvent::Signal | SessionEvent::Moved => "signal",
            SessionEvent::Disconnected => "sessionDisconnected",
        }
    }
}

/// The one closure every OT listener calls: `(route id, event, extra)`.
type Router = Closure<dyn FnMut(JsValue, JsValue, JsValue)>;

struct Registry {
    next_id: u32,
    routes: SortedMap<u32, (Weak<Core>, Route)>,
    router: Option<Router>,
}

thread_local! {
    // The router closure lives as long as the module: there is exactly one, so it does not
    // grow with calls or handoffs, and late vendor callbacks always land on something that
    // exists (see the module docs). Thread-locals are never destroyed on wasm32.
    static REGISTRY: RefCell<Registry> = RefCell::new(Registry {
        next_id: 1,
        routes: SortedMap::default(),
        router: None,
    });
}

fn dispatch(id: JsValue, a: JsValue, b: JsValue) {
    let Some(id) = id.as_f64() else { return };
    let entry = REGISTRY.with(|r| r.borrow().routes.get(&(id as u32)).cloned());
    if let Some((core, route)) = entry {
        if let Some(core) = core.upgrade() {
            core.on_route(route, a, b);
        }
    }
}

/// The callbacks `core` handed out and has not taken back yet (for leak checks).
pub fn live_routes(core: &Rc<Core>) -> usize {
    let me = Rc::downgrade(core);
    REGISTRY.with(|r| {
        r.borrow()
            .routes
            .values()
            .filter(|(c, _)| c.ptr_eq(&me))
            .count()
    })
}

/// A JS function that routes its calls to `core` as `route`, until dropped.
pub struct Callback {
    id: u32,
    function: Function,
}

impl Callback {
    pub fn new(core: &Rc<Core>, route: Route) -> Callback {
        REGISTRY.with(|r| {
            let mut r = r.borrow_mut();
            let id = r.next_id;
            // Ids are not reused (a stale call must never reach a newer route); 2^32 callbacks
            // would take centuries of handoffs.
            r.next_id = r.next_id.wrapping_add(1).max(1);
            r.routes.insert(id, (Rc::downgrade(core), route));
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
}

impl Drop for Callback {
    fn drop(&mut self) {
        let id = self.id;
        REGISTRY.with(|r| {
            if let Ok(mut r) = r.try_borrow_mut() {
                r.routes.remove(&id);
            }
        });
    }
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
    pub fn new(core: &Rc<Core>, target: &Emitter, event: &str, route: Route) -> Option<Listener> {
        let callback = Callback::new(core, route);
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

/// A DOM event listener (`addEventListener`), removed when dropped.
pub struct DomListener {
    target: web_sys::EventTarget,
    event: &'static str,
    callback: Callback,
}

impl DomListener {
    pub fn new(
        core: &Rc<Core>,
        target: &web_sys::EventTarget,
        event: &'static str,
        route: Route,
    ) -> Option<DomListener> {
        let callback = Callback::new(core, route);
        target
            .add_event_listener_with_callback(event, callback.function())
            .ok()?;
        Some(DomListener {
            target: target.clone(),
            event,
            callback,
        })
    }
}

impl Drop for DomListener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.event, self.callback.function());
    }
}
