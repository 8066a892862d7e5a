//! Drive: the run loop (its timers are `schedule.rs`).
//!
//! Every callback, timer and app call only queues a [`Msg`] and calls [`Core::drive`]; one
//! drive takes the messages one at a time, each in one pass:
//! 1. a callback is read by `decode.rs` into the engine's input, or into news for the part of
//!    `effects/` that owns the vendor object it is about, which makes the engine's input of
//!    it (the app's `participantKey` is asked while decoding, with nothing borrowed);
//! 2. the engine takes the input and its outputs are drained completely: commands to the
//!    effects, events to `present.rs` (with what the effects add to them). Inputs the
//!    effects hand back (a call that failed at once) and hook calls are queued behind;
//! 3. an app hook (`tokenProvider`, `resolveSession`) is called between two messages, with
//!    nothing borrowed, so the app may call back in, `close()` included.
//!
//! Then the one timer is re-armed at the engine's `poll_timeout()` (or a frame meter's window,
//! whichever comes first), and the events go to the app. A vendor callback that fires
//! synchronously inside a command (`disconnect()` firing `sessionDisconnected`) finds the loop
//! running and is only queued, as is a `close()` from inside a hook; `close()` goes to the
//! front of the queue.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use js_sys::Function;
use wasm_bindgen::prelude::*;
use web_sys::Document;

use super::contract::events::TileStats;
use super::contract::options::Options;
use super::decode::{self, Heard};
use super::effects::{Back, Effects};
use super::hooks::{HookCall, Hooks};
use super::listener::{self, Alarm, Route, Sink};
use super::present::Present;
use super::schedule::Schedule;
use crate::engine::{Engine, HandoffRequest, Hook, Input, Output, State};

pub enum Msg {
    Input(Input),
    /// Callback `id` was called with these arguments (its route is read when it is taken).
    Callback(u32, JsValue, JsValue),
    Hook(HookCall),
    /// The one timer ran out.
    Timer,
    Close,
}

/// What a call owns while it is open; gone (and every listener with it) once closed.
struct Parts {
    engine: Engine,
    effects: Effects,
    hooks: Hooks,
}

/// The call: shared by the exported `Call`, the route table (weakly) and the timers (weakly).
pub struct Core {
    me: Weak<Core>,
    /// The local preview tile, also after close (the app may still hold it).
    local: web_sys::HtmlElement,
    /// Oldest first (a few messages at most: a `Vec` is smaller code than a `VecDeque`).
    inbox: RefCell<Vec<Msg>>,
    /// What frame callbacks caused, for a drive in a task of its own (see `callback`).
    later: RefCell<Vec<Back>>,
    driving: Cell<bool>,
    /// `close()` was asked for (it may still be queued behind the current message).
    closing: Cell<bool>,
    parts: RefCell<Option<Parts>>,
    present: Present,
    schedule: Schedule,
}

impl Core {
    /// A call in state `idle`; `None` when the document cannot make the local tile.
    pub fn new(options: Options, emit: Function, document: Document) -> Option<Rc<Core>> {
        let effects = Effects::new(&options, document)?;
        let local = effects.local_element();
        let seed = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
        let parts = Parts {
            engine: Engine::new(options.config.clone(), seed),
            effects,
            hooks: Hooks::new(
                options.token_provider,
                options.resolve_session,
                options.participant_key,
            ),
        };
        Some(Rc::new_cyclic(|me| Core {
            me: me.clone(),
            local,
            inbox: RefCell::default(),
            later: RefCell::default(),
            driving: Cell::new(false),
            closing: Cell::new(false),
            parts: RefCell::new(Some(parts)),
            present: Present::new(emit),
            schedule: Schedule::default(),
        }))
    }

    fn sink(&self) -> Weak<dyn Sink> {
        self.me.clone()
    }

    /// Runs `f` on the open call's parts; `None` once closed (or while they are borrowed,
    /// which only a vendor callback fired synchronously inside a command can meet).
    fn with<R>(&self, f: impl FnOnce(&mut Parts) -> R) -> Option<R> {
        let mut parts = self.parts.try_borrow_mut().ok()?;
        parts.as_mut().map(f)
    }

    fn push(&self, msg: Msg) {
        self.inbox.borrow_mut().push(msg);
    }

    pub fn is_closed(&self) -> bool {
        self.closing.get() || self.present.queued_state() == State::Closed
    }

    /// The state the app sees: that of the last `stateChanged` delivered to it (`closed`
    /// once `close()` has delivered it).
    pub fn state(&self) -> State {
        self.present.state()
    }

    pub fn session_id(&self) -> Option<String> {
        self.present.session_id()
    }

    pub fn handoffs_completed(&self) -> u32 {
        self.present.handoffs_completed()
    }

    /// Starts the call with the local media (no tracks: publish nothing): joins the first
    /// session.
    pub fn start(
        self: &Rc<Self>,
        tracks: Vec<web_sys::MediaStreamTrack>,
        name: String,
        owned: bool,
        join: Input,
    ) {
        self.with(|p| p.effects.set_local_media(tracks, name, owned));
        self.push(Msg::Input(join));
        self.drive();
    }

    pub fn move_to(self: &Rc<Self>, request: HandoffRequest) {
        self.push(Msg::Input(Input::Move(request)));
        self.drive();
    }

    /// Leaves every session and lets go of everything; the `closed` event is delivered before
    /// this returns unless it was called from inside a hook or a vendor callback, in which
    /// case it follows as soon as that returns.
    pub fn close(self: &Rc<Self>) {
        if self.closing.replace(true) {
            return;
        }
        self.inbox.borrow_mut().insert(0, Msg::Close);
        self.drive();
    }

    pub fn local_element(&self) -> web_sys::HtmlElement {
        self.local.clone()
    }

    pub fn participants(&self) -> js_sys::Array {
        self.with(|p| p.effects.participants()).unwrap_or_default()
    }

    pub fn tile_stats(&self) -> Vec<TileStats> {
        self.with(|p| p.effects.stats()).unwrap_or_default()
    }

    pub fn drive(self: &Rc<Self>) {
        if self.driving.replace(true) {
            return;
        }
        loop {
            let msg = {
                let mut inbox = self.inbox.borrow_mut();
                (!inbox.is_empty()).then(|| inbox.remove(0))
            };
            let Some(msg) = msg else { break };
            self.step(msg);
        }
        self.after();
        self.driving.set(false);
        self.present.deliver();
    }

    fn step(self: &Rc<Self>, msg: Msg) {
        match msg {
            Msg::Input(input) => {
                self.with(|p| self.feed(p, input));
            }
            Msg::Callback(id, a, b) => self.callback(id, a, b),
            Msg::Hook(call) => self.call_hook(call),
            Msg::Timer => {
                self.with(|p| {
                    let mut measured = Vec::new();
                    p.effects.expire(&mut measured);
                    self.take_back(p, measured);
                    let now = self.schedule.clock.now();
                    if p.engine.poll_timeout().is_some_and(|t| t <= now) {
                        p.engine.handle_timeout(now);
                        self.pump(p);
                    }
                });
            }
            Msg::Close => {
                self.with(|p| {
                    p.engine.handle(self.schedule.clock.now(), Input::Close);
                    self.pump(p);
                    p.effects.close();
                });
                // Everything the call owned goes now: listeners, callbacks, the app's hooks.
                let parts = self.parts.try_borrow_mut().ok().and_then(|mut p| p.take());
                drop(parts);
                self.inbox.borrow_mut().clear();
                self.present.closed();
            }
        }
    }

    /// A callback, in one pass: decoded (its route read now: one whose handle went while it
    /// waited does nothing), then to the engine, through the part that owns its object if it
    /// is about one.
    fn callback(self: &Rc<Self>, id: u32, a: JsValue, b: JsValue) {
        let Some(route) = listener::route(id) else {
            return;
        };
        if let Route::Alarm(alarm) = route {
            return self.alarm(alarm);
        }
        let frame = matches!(route, Route::Frame(..));
        // Cloned out for a session event, then called by `decode` with nothing borrowed.
        let participant_key = match route {
            Route::Session(..) => self.with(|p| p.hooks.participant_key()).flatten(),
            _ => None,
        };
        let Some(heard) = decode::read(route, a, b, participant_key.as_ref()) else {
            return;
        };
        let sink = self.sink();
        self.with(|p| {
            let news = match heard {
                Heard::Engine(input) => return self.feed(p, input),
                Heard::Owner(news) => news,
            };
            let mut back = Vec::new();
            p.effects.take(&sink, news, &mut back);
            if frame && !back.is_empty() {
                // Frames come at 30-60 Hz per video; what one causes (a first frame swapping
                // a tile, and what the swap makes unneeded) runs in a task of its own: inside
                // a frame callback it would hold up this very frame.
                self.later.borrow_mut().append(&mut back);
                self.schedule.soon(&self.sink());
                return;
            }
            self.take_back(p, back);
        });
    }

    /// What the effects handed back, now: inputs to the engine, hook calls queued.
    fn take_back(&self, p: &mut Parts, back: Vec<Back>) {
        for b in back {
            match b {
                Back::Input(input) => self.feed(p, input),
                Back::Hook(call) => self.push(Msg::Hook(call)),
            }
        }
    }

    /// Calls an app hook with nothing borrowed, then awaits what it returned.
    fn call_hook(self: &Rc<Self>, call: HookCall) {
        let Some(f) = self.with(|p| p.hooks.function(call.hook)) else {
            return; // closed
        };
        let returned = match f {
            Some(f) => f.call1(&JsValue::NULL, &JsValue::from_str(call.session.as_str())),
            None => Err(JsValue::from_str(match call.hook {
                Hook::TokenProvider => "no tokenProvider",
                Hook::ResolveSession => "no resolveSession",
            })),
        };
        let sink = self.sink();
        self.with(|p| {
            if let Some(input) = p.hooks.returned(&sink, call, returned) {
                self.feed(p, input);
            }
        });
    }

    fn feed(&self, p: &mut Parts, input: Input) {
        p.hooks.settled(&input);
        p.engine.handle(self.schedule.clock.now(), input);
        self.pump(p);
    }

    /// Drains the engine: commands to the effects, events to the app's queue.
    fn pump(&self, p: &mut Parts) {
        let sink = self.sink();
        let mut back = Vec::new();
        while let Some(output) = p.engine.poll_output() {
            match output {
                Output::Command(c) => p.effects.execute(&sink, c, &mut back),
                Output::Event(e) => {
                    let extra = p.effects.on_event(&e);
                    self.present.push(e, extra);
                }
            }
        }
        self.present.set_session_id(p.engine.live_session());
        if p.engine.state() == State::Closed && !self.closing.replace(true) {
            // The call ended on its own (force-disconnected): let go of everything too.
            self.inbox.borrow_mut().insert(0, Msg::Close);
        }
        self.queue(back);
    }

    /// What the effects handed back, behind the messages waiting.
    fn queue(&self, back: Vec<Back>) {
        for b in back {
            self.push(match b {
                Back::Input(input) => Msg::Input(input),
                Back::Hook(call) => Msg::Hook(call),
            });
        }
    }

    /// Re-arms the one timer.
    fn after(&self) {
        let at = self.with(|p| {
            // The meters' windows on the engine's clock, so one timer serves both.
            let clock = self.schedule.clock;
            match (
                p.engine.poll_timeout().map(|t| t as f64),
                p.effects.next_deadline().map(|m| clock.from_perf(m)),
            ) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        });
        match at {
            Some(at) => self.schedule.arm(&self.sink(), at),
            None => self.schedule.clear(),
        }
    }

    /// A timer of the scheduler went off (the one timer's work, or what frames caused), or the
    /// animation frame the tiles asked for after a swap.
    fn alarm(&self, alarm: Alarm) {
        self.schedule.fired(alarm);
        match alarm {
            Alarm::Timer => self.push(Msg::Timer),
            Alarm::Soon => self.queue(std::mem::take(&mut *self.later.borrow_mut())),
            Alarm::Paint => {
                self.with(|p| p.effects.painted());
            }
        }
    }
}

impl Sink for Core {
    fn on_callback(self: Rc<Self>, id: u32, a: JsValue, b: JsValue) {
        self.push(Msg::Callback(id, a, b));
        self.drive();
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        // Dropped without close(): the parts' own drops remove every listener and callback;
        // the sessions are left too.
        if let Ok(mut parts) = self.parts.try_borrow_mut() {
            if let Some(p) = parts.as_mut() {
                p.effects.close();
            }
        }
    }
}
