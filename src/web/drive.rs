//! Drive: the run loop (its timers are `schedule.rs`).
//!
//! Every callback, timer and app call only queues a [`Msg`] and calls [`Core::drive`]; one
//! drive takes the messages one at a time:
//! 1. a callback's arguments are decoded (`decode.rs`), then applied by the part that owns
//!    what they are about (`effects/`), which gives the engine its input;
//! 2. the engine's outputs are drained completely: commands go to the effects, events to
//!    `present.rs`. Inputs the effects hand back (a call that failed at once) and hook calls
//!    are queued behind;
//! 3. an app hook (`tokenProvider`, `resolveSession`, `participantKey`) is called between two
//!    messages, with nothing borrowed, so the app may call back in, `close()` included.
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

use super::contract::options::Options;
use super::decode::{self, Heard, SessionHeard};
use super::effects::{perf_now, Back, Effects};
use super::hooks::{HookCall, Hooks};
use super::listener::{Route, Sink};
use super::present::Present;
use super::schedule::{Alarm, Schedule, Wake};
use crate::engine::{Engine, Event, HandoffRequest, Hook, Input, Output, State};

pub enum Msg {
    Input(Input),
    Route(Route, JsValue),
    Hook(HookCall),
    /// The one timer ran out.
    Timer,
    /// Time for the next step of media teardown (see `effects/teardown.rs`).
    Teardown,
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
    driving: Cell<bool>,
    /// `close()` was asked for (it may still be queued behind the current message).
    closing: Cell<bool>,
    parts: RefCell<Option<Parts>>,
    pub present: Present,
    schedule: Schedule,
}

impl Core {
    /// A call in state `idle`; `None` when the document cannot make the local tile.
    pub fn new(options: Options, emit: Function, document: Document) -> Option<Rc<Core>> {
        let effects = Effects::new(&options, document)?;
        let local = effects.publishers.element().clone();
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

    pub fn push(&self, msg: Msg) {
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
        self.with(|p| p.effects.tiles.participants())
            .unwrap_or_default()
    }

    pub fn tile_stats(&self) -> Vec<super::contract::events::TileStats> {
        self.with(|p| p.effects.tiles.stats()).unwrap_or_default()
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
            Msg::Route(route, a) => self.heard(decode::read(route, a)),
            Msg::Hook(call) => self.call_hook(call),
            Msg::Timer => {
                self.with(|p| {
                    for (key, gap) in p.effects.tiles.expire(perf_now()) {
                        self.present.note_gap(gap);
                        self.feed(p, Input::SwapMeasured { key });
                    }
                    let now = self.schedule.clock.now();
                    if p.engine.poll_timeout().is_some_and(|t| t <= now) {
                        p.engine.handle_timeout(now);
                        self.pump(p);
                    }
                });
            }
            Msg::Teardown => {
                self.with(|p| p.effects.teardown.run_one());
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

    /// A decoded callback: the effects' bookkeeping, then the engine.
    fn heard(self: &Rc<Self>, heard: Heard) {
        let sink = self.sink();
        match heard {
            Heard::Session {
                session,
                gen,
                event:
                    SessionHeard::Connection {
                        connection,
                        data,
                        object,
                    },
            } => {
                let hook = self.with(|p| {
                    p.effects
                        .sessions
                        .is_current(&session, gen)
                        .then(|| p.hooks.participant_key())
                });
                let Some(Some(hook)) = hook else { return };
                // Called with nothing borrowed: the app may call back in.
                let app_key = hook
                    .and_then(|f| f.call1(&JsValue::NULL, &object).ok())
                    .and_then(|k| k.as_string());
                self.push_front(Msg::Input(Input::ConnectionCreated {
                    session,
                    connection,
                    data,
                    app_key,
                }));
            }
            Heard::Token { session, result } => {
                self.with(|p| {
                    p.hooks.settled(Hook::TokenProvider, &session);
                    self.feed(p, Input::Token { session, result });
                });
            }
            Heard::Resolved { old, result } => {
                self.with(|p| {
                    p.hooks.settled(Hook::ResolveSession, &old);
                    self.feed(p, Input::Resolved { old, result });
                });
            }
            heard => {
                self.with(|p| {
                    let (input, measured) = p.effects.heard(&sink, heard);
                    if let Some(input) = input {
                        self.feed(p, input);
                    }
                    if let Some((key, gap)) = measured {
                        self.present.note_gap(gap);
                        self.feed(p, Input::SwapMeasured { key });
                    }
                });
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

    fn push_front(&self, msg: Msg) {
        self.inbox.borrow_mut().insert(0, msg);
    }

    fn feed(&self, p: &mut Parts, input: Input) {
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
                    let participant = p.effects.on_event(&e);
                    // A swap's figure, measured by now unless the engine stopped waiting.
                    let gap = match &e {
                        Event::ParticipantSwapped { key, .. } => {
                            p.effects.tiles.swap_gap(key).flatten()
                        }
                        // The vendor's migration ends 20 s after it began (its
                        // MIGRATION_TIMEOUT, from its session info); a second more for the
                        // notification and that request.
                        Event::SessionMigrated { .. } => {
                            let now = perf_now();
                            p.effects.tiles.largest_since(now - 21_000.0, now)
                        }
                        _ => None,
                    };
                    self.present.push(e, participant, gap);
                }
            }
        }
        self.present.set_session_id(p.engine.live_session());
        if p.engine.state() == State::Closed && !self.closing.replace(true) {
            // The call ended on its own (force-disconnected): let go of everything too.
            self.push_front(Msg::Close);
        }
        for b in back {
            self.push(match b {
                Back::Input(input) => Msg::Input(input),
                Back::Hook(call) => Msg::Hook(call),
            });
        }
    }

    /// Settles swap figures and re-arms the timers.
    fn after(&self) {
        let due = self.with(|p| {
            let tiles = &mut p.effects.tiles;
            // The meters' windows on the engine's clock, so one timer serves both.
            let clock = self.schedule.clock;
            let at = match (
                p.engine.poll_timeout().map(|t| t as f64),
                tiles.next_deadline().map(|m| clock.from_perf(m)),
            ) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            (at, !p.effects.teardown.is_empty())
        });
        match due {
            Some((at, teardown)) => self.schedule.arm(&self.waker(), at, teardown),
            None => self.schedule.clear(),
        }
    }

    fn waker(&self) -> Weak<dyn Wake> {
        self.me.clone()
    }
}

impl Wake for Core {
    fn wake(self: Rc<Self>, alarm: Alarm) {
        self.schedule.fired(alarm);
        match alarm {
            Alarm::Timer => self.push(Msg::Timer),
            Alarm::Teardown => self.push(Msg::Teardown),
            Alarm::Soon => {}
        }
        self.drive();
    }
}

impl Sink for Core {
    fn on_route(self: Rc<Self>, route: Route, a: JsValue, b: JsValue) {
        // A frame is read from its `requestVideoFrameCallback` metadata, the second argument.
        let a = if matches!(route, Route::Frame(..)) {
            b
        } else {
            a
        };
        // Frames come at 30-60 Hz per video and never re-enter; they are only recorded here.
        // What they cause (a first frame swapping a tile, and what the swap makes unneeded)
        // runs in a task of its own: inside a frame callback it would hold up this very frame.
        if let (Route::Frame(..), false) = (&route, self.driving.get()) {
            let heard = decode::read(route, a);
            let sink = self.sink();
            let done = self.with(|p| p.effects.heard(&sink, heard));
            if let Some((input, measured)) = done {
                if let Some((key, gap)) = measured {
                    // A swap's figure is ready: the engine may let its event out.
                    self.present.note_gap(gap);
                    self.push(Msg::Input(Input::SwapMeasured { key }));
                    self.schedule.soon(&self.waker());
                }
                if let Some(input) = input {
                    self.push(Msg::Input(input));
                    self.schedule.soon(&self.waker());
                }
            }
            return;
        }
        self.push(Msg::Route(route, a));
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
