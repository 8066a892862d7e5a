//! The shell: drives the engine with OT events and the clock, and carries out its commands.
//!
//! Run loop (the str0m recipe, made re-entrancy-safe for JS):
//! 1. every OT callback, timer and app call only pushes a [`Msg`] onto the inbox and calls
//!    [`Core::drive`];
//! 2. `drive` takes messages one at a time, turns each into engine inputs with the current time,
//!    and drains `poll_output` completely, carrying out commands as they come. A vendor callback
//!    that fires synchronously inside a command (e.g. `disconnect()` firing
//!    `sessionDisconnected`) finds `driving` set and is only queued;
//! 3. then the one timer is re-armed at `poll_timeout()`, the borrow is released, and the app's
//!    events are delivered through the JS `emit` function, so app handlers may call back into
//!    the call freely.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, HtmlElement, HtmlVideoElement, MediaStream, MediaStreamTrack};

use super::error::{describe, Failure};
use super::events::{self, Gap, Name, Outbox, Outgoing};
use super::listener::{Callback, DomListener, Listener, Route, SessionEvent};
use super::options::Options;
use super::ot::{
    callback_error, Connection, ConnectionEvent, DisconnectEvent, FrameVideo, Publisher, Session,
    SignalEvent, Stream, StreamEvent, Subscriber, Thenable, VideoElementEvent,
};
use super::teardown::{self, Step, Teardown};
use super::tiles::{self, Tiles};
use crate::engine::{
    Command, ConnectionId, Engine, Event, HandoffRequest, Input, Millis, Output, ParticipantKey,
    SessionId, State, StreamId,
};
use crate::sorted_map::SortedMap;

fn now() -> Millis {
    js_sys::Date::now() as Millis
}

/// performance.now(), the time base of `requestVideoFrameCallback`.
fn perf_now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

fn set(o: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(key), value);
}

pub enum Msg {
    Input(Input),
    Route(Route, JsValue, JsValue),
    Timer,
    /// Time for the next step of media teardown (see `teardown.rs`).
    Teardown,
}

/// The call: shared by the exported `Call`, the route table (weakly) and the timer (weakly).
pub struct Core {
    shell: RefCell<Shell>,
    inbox: RefCell<VecDeque<Msg>>,
    driving: Cell<bool>,
    /// A drive scheduled in a task of its own (see `on_route`), and whether it is still to run.
    soon: RefCell<Option<Timeout>>,
    soon_armed: Cell<bool>,
    emit: Function,
}

impl Core {
    pub fn new(options: Options, emit: Function) -> Rc<Core> {
        let seed = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
        let document = web_sys::window()
            .and_then(|w| w.document())
            .expect("a document");
        Rc::new(Core {
            shell: RefCell::new(Shell {
                engine: Engine::new(options.config.clone(), seed),
                local: Local {
                    element: tiles::local_tile(&document),
                    video: None,
                    tracks: Vec::new(),
                    owned: false,
                    name: String::new(),
                },
                document,
                options,
                next_gen: 0,
                sessions: SortedMap::default(),
                tiles: Tiles::default(),
                timer: None,
                teardown: Teardown::default(),
                teardown_timer: None,
                outbox: Outbox::default(),
                state: State::Idle,
                handoffs_completed: 0,
                handoff_gap: None,
                app_calls: Vec::new(),
                closed: false,
            }),
            inbox: RefCell::new(VecDeque::new()),
            driving: Cell::new(false),
            soon: RefCell::new(None),
            soon_armed: Cell::new(false),
            emit,
        })
    }

    pub fn push(&self, msg: Msg) {
        self.inbox.borrow_mut().push_back(msg);
    }

    /// Called by the router for every callback the shell handed out.
    pub fn on_route(self: &Rc<Self>, route: Route, a: JsValue, b: JsValue) {
        // Frames come at 30-60 Hz per video and never re-enter; they are only recorded here.
        // What they cause (a first frame swapping a tile, and what the swap makes unneeded)
        // runs in a task of its own: inside a frame callback it would hold up this very frame.
        if let Route::Frame(session, stream) = &route {
            if !self.driving.get() {
                if let Ok(mut shell) = self.shell.try_borrow_mut() {
                    shell.on_frame(self, session, stream, &a);
                    drop(shell);
                    self.drive_soon();
                    return;
                }
            }
        }
        self.push(Msg::Route(route, a, b));
        self.drive();
    }

    /// Drives in a new task (once, however many frames ask for it before it runs).
    fn drive_soon(self: &Rc<Self>) {
        if self.soon_armed.replace(true) {
            return;
        }
        let weak = Rc::downgrade(self);
        // Replacing the handle drops a timeout that has already fired: nothing is cleared.
        *self.soon.borrow_mut() = Some(Timeout::new(0, move || {
            if let Some(core) = weak.upgrade() {
                core.soon_armed.set(false);
                core.drive();
            }
        }));
    }

    pub fn drive(self: &Rc<Self>) {
        if self.driving.replace(true) {
            return;
        }
        loop {
            let msg = self.inbox.borrow_mut().pop_front();
            let Some(msg) = msg else { break };
            let mut shell = self.shell.borrow_mut();
            match msg {
                Msg::Input(input) => shell.feed(self, input),
                Msg::Route(route, a, b) => shell.on_route(self, route, a, b),
                Msg::Timer => shell.on_timer(self),
                Msg::Teardown => {
                    shell.teardown_timer = None;
                    shell.teardown.run_one();
                }
            }
        }
        self.shell.borrow_mut().after_drive(self);
        self.driving.set(false);
        self.deliver();
    }

    /// Hands queued events to the app, outside any borrow.
    fn deliver(&self) {
        loop {
            let next = {
                let Ok(mut shell) = self.shell.try_borrow_mut() else {
                    return;
                };
                let gap = shell.handoff_gap;
                shell.outbox.pop(gap)
            };
            let Some((kind, payload)) = next else { return };
            // The app's handler errors are its own; js/index.js reports them, never rethrows.
            let _ = self
                .emit
                .call2(&JsValue::NULL, &JsValue::from_str(kind.as_str()), &payload);
        }
    }

    /// Runs `f` on the shell unless it is mid-drive (a getter called from inside app code the
    /// shell itself is calling, e.g. `participantKey`): then `None`.
    pub fn with<R>(&self, f: impl FnOnce(&mut Shell) -> R) -> Option<R> {
        self.shell.try_borrow_mut().ok().map(|mut s| f(&mut s))
    }

    /// Leaves everything at once: after `Input::Close` (or when the call is dropped), tears down
    /// what the engine did not, and tells the app `closed` if the engine did not.
    pub fn shutdown(self: &Rc<Self>) {
        let was_closed = self.with(|s| s.closed).unwrap_or(true);
        if was_closed {
            return;
        }
        self.push(Msg::Input(Input::Close));
        self.drive();
        if let Some(()) = self.with(|s| s.teardown()) {
            self.deliver();
        }
    }
}

struct Local {
    element: HtmlElement,
    video: Option<HtmlVideoElement>,
    /// The original tracks; each publisher gets its own clones.
    tracks: Vec<MediaStreamTrack>,
    /// The SDK obtained them itself, so it stops them on close.
    owned: bool,
    name: String,
}

struct StreamInfo {
    stream: Stream,
    key: ParticipantKey,
    has_video: bool,
}

struct Sub {
    key: ParticipantKey,
    subscriber: Subscriber,
    has_video: bool,
    video: Option<HtmlVideoElement>,
    first_frame: bool,
    frame_callback: Option<Callback>,
    frame_handle: Option<u32>,
    _done: Callback,
    _listeners: Vec<Listener>,
    _loaded: Option<DomListener>,
}

struct Pub {
    publisher: Publisher,
    /// This publisher's own clones of the local tracks.
    tracks: Vec<MediaStreamTrack>,
    _listener: Option<Listener>,
    _callbacks: [Callback; 2],
}

struct SessionIo {
    session: Session,
    gen: u32,
    own: Option<String>,
    connected: bool,
    /// Session events that came before the connect completion, replayed after `Connected`.
    early: Vec<(SessionEvent, JsValue)>,
    streams: SortedMap<StreamId, StreamInfo>,
    subs: SortedMap<StreamId, Sub>,
    publisher: Option<Pub>,
    /// The completion callback of our moved signal into this session, while it is pending.
    announce: Option<Callback>,
    _connect: Callback,
    _listeners: Vec<Listener>,
}

/// A pending app call (`tokenProvider`, `resolveSession`): its promise's two reactions.
struct AppCall {
    _settled: [Callback; 2],
    route: Route,
}

pub struct Shell {
    engine: Engine,
    options: Options,
    document: Document,
    sessions: SortedMap<SessionId, SessionIo>,
    tiles: Tiles,
    local: Local,
    timer: Option<(f64, Timeout)>,
    /// OT calls that release media, run one per task (see `teardown.rs`), and their timer.
    teardown: Teardown,
    teardown_timer: Option<Timeout>,
    outbox: Outbox,
    state: State,
    handoffs_completed: u32,
    /// Largest swap figure of the handoff under way.
    handoff_gap: Option<f64>,
    app_calls: Vec<AppCall>,
    /// Numbers each `SessionIo`, so a queued event of a left session never reaches a new
    /// connection to the same session ID.
    next_gen: u32,
    closed: bool,
}

impl Shell {
    fn input(core: &Core, input: Input) {
        core.push(Msg::Input(input));
    }

    fn feed(&mut self, core: &Rc<Core>, input: Input) {
        if self.closed {
            return;
        }
        self.engine.handle(now(), input);
        self.pump(core);
    }

    fn pump(&mut self, core: &Rc<Core>) {
        while let Some(output) = self.engine.poll_output() {
            match output {
                Output::Command(c) => self.execute(core, c),
                Output::Event(e) => self.on_event(e),
            }
        }
    }

    fn on_timer(&mut self, core: &Rc<Core>) {
        self.timer = None;
        if self.closed {
            return;
        }
        if self.engine.poll_timeout().is_some_and(|t| t <= now()) {
            self.engine.handle_timeout(now());
            self.pump(core);
        }
        let t = perf_now();
        for tile in self.tiles.iter_mut() {
            if let Some(gap) = tile.meter.expire(t) {
                self.handoff_gap = Some(self.handoff_gap.map_or(gap, |g| g.max(gap)));
            }
        }
    }

    /// Settles swap figures, re-arms the one timer.
    fn after_drive(&mut self, core: &Rc<Core>) {
        let mut claimed: Vec<ParticipantKey> = Vec::new();
        let tiles = &mut self.tiles;
        for (key, gap) in self.outbox.pending_swaps() {
            if claimed.contains(key) {
                continue;
            }
            claimed.push(key.clone());
            match tiles.get_mut(key) {
                Some(tile) => {
                    if let Some(g) = tile.meter.take_unclaimed() {
                        *gap = Gap::Known(Some(g));
                    } else if !tile.meter.measuring() {
                        *gap = Gap::Known(None);
                    }
                }
                None => *gap = Gap::Known(None),
            }
        }
        if self.closed {
            self.timer = None;
            return;
        }
        if !self.teardown.is_empty() && self.teardown_timer.is_none() {
            let weak = Rc::downgrade(core);
            self.teardown_timer = Some(Timeout::new(teardown::SPACING_MS, move || {
                if let Some(core) = weak.upgrade() {
                    core.push(Msg::Teardown);
                    core.drive();
                }
            }));
        }
        // The meters' windows in epoch ms, so one timer serves both.
        let offset = js_sys::Date::now() - perf_now();
        let meter = self
            .tiles
            .iter()
            .filter_map(|t| t.meter.ends_at())
            .fold(None::<f64>, |m, t| Some(m.map_or(t, |m| m.min(t))));
        let engine = self.engine.poll_timeout().map(|t| t as f64);
        let at = match (engine, meter.map(|m| m + offset)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match at {
            None => self.timer = None,
            Some(at) if self.timer.as_ref().is_some_and(|(t, _)| *t == at) => {}
            Some(at) => {
                let delay = (at - js_sys::Date::now()).clamp(0.0, 2_147_483_647.0) as u32;
                let weak = Rc::downgrade(core);
                self.timer = Some((
                    at,
                    Timeout::new(delay, move || {
                        if let Some(core) = weak.upgrade() {
                            core.push(Msg::Timer);
                            core.drive();
                        }
                    }),
                ));
            }
        }
    }

    // ---- commands ----

    fn execute(&mut self, core: &Rc<Core>, command: Command) {
        match command {
            Command::Connect { session, token } => self.connect(core, session, &token),
            Command::Disconnect { session } => {
                if let Some(io) = self.sessions.remove(&session) {
                    self.leave(io, true);
                    // Our handlers are gone with `io`; the engine still hears that it ended.
                    Self::input(
                        core,
                        Input::SessionDisconnected {
                            session,
                            reason: crate::engine::DisconnectReason::ClientDisconnected,
                        },
                    );
                }
            }
            Command::Publish { session } => self.publish(core, session),
            Command::Subscribe { session, stream } => self.subscribe(core, session, stream),
            Command::Unsubscribe { session, stream } => {
                let Some(io) = self.sessions.get_mut(&session) else {
                    return;
                };
                let Some(sub) = io.subs.remove(&stream) else {
                    return;
                };
                let ot_session = io.session.clone();
                let subscriber = sub.subscriber.clone();
                // Shown: it goes now (nothing may freeze on screen). Replaced by a swap: it
                // stays below the new video, muted, until its teardown step (see `teardown`).
                let keep = if self.tiles.showing(&session, &stream).is_some() {
                    self.drop_sub(&session, &stream, sub);
                    None
                } else {
                    self.unwatch_sub(&sub);
                    sub.video.clone()
                };
                self.teardown
                    .push(Step::Unsubscribe(ot_session, subscriber, keep));
            }
            Command::Show {
                key,
                session,
                stream,
                replaces,
            } => self.show(key, session, stream, replaces),
            Command::Hide { key } => {
                if let Some(tile) = self.tiles.get_mut(&key) {
                    if let Some((s, st)) = tile.active.take() {
                        if let Some(sub) = self.sessions.get(&s).and_then(|io| io.subs.get(&st)) {
                            let _ = sub.subscriber.set_audio_volume(0.0);
                            if let Some(v) = &sub.video {
                                tiles::set_shown(v, false);
                            }
                        }
                    }
                    tile.meter.blank();
                }
            }
            Command::RequestToken { session } => {
                let f = self.options.token_provider.clone();
                self.call_app(core, f, session, false);
            }
            Command::ResolveSession { old } => {
                let f = self.options.resolve_session.clone();
                self.call_app(core, f, old, true);
            }
            Command::Signal {
                session,
                kind,
                data,
            } => self.signal(core, session, &kind, &data),
        }
    }

    /// Sends a signal to every connection of `sid`; a failure is the engine's
    /// `AnnounceFailed` (thrown at once, or through the completion callback).
    fn signal(&mut self, core: &Rc<Core>, sid: SessionId, kind: &str, data: &str) {
        let Some(io) = self.sessions.get_mut(&sid) else {
            return Self::input(
                core,
                Input::AnnounceFailed {
                    session: sid,
                    error: "not connected to the session".into(),
                },
            );
        };
        let signal = Object::new();
        set(&signal, "type", &JsValue::from_str(kind));
        set(&signal, "data", &JsValue::from_str(data));
        let done = Callback::new(core, Route::Announced(sid.clone()));
        if let Err(e) = io.session.signal(&signal, done.function()) {
            return Self::input(
                core,
                Input::AnnounceFailed {
                    session: sid,
                    error: describe(&e),
                },
            );
        }
        io.announce = Some(done);
    }

    fn connect(&mut self, core: &Rc<Core>, sid: SessionId, token: &str) {
        if let Some(old) = self.sessions.remove(&sid) {
            self.leave(old, true);
        }
        // `initSession` hands back the cached object for a session ID: a pending `disconnect`
        // of an earlier connection to this ID must not run after the new `connect`.
        self.teardown.run_all();
        let session = match self
            .options
            .ot
            .init_session(&self.options.application_id, sid.as_str())
        {
            Ok(s) => s,
            Err(e) => {
                return Self::input(
                    core,
                    Input::ConnectFailed {
                        session: sid,
                        error: describe(&e),
                    },
                )
            }
        };
        self.next_gen = self.next_gen.wrapping_add(1);
        let gen = self.next_gen;
        let mut listeners: Vec<Listener> = SessionEvent::ALL
            .iter()
            .filter_map(|ev| {
                Listener::new(
                    core,
                    &session,
                    ev.name(),
                    Route::Session(sid.clone(), gen, *ev),
                )
            })
            .collect();
        for (kind, ev) in [
            (
                self.options.config.signal_type.clone(),
                SessionEvent::Signal,
            ),
            (self.options.config.moved_signal_type(), SessionEvent::Moved),
        ] {
            listeners.extend(Listener::new(
                core,
                &session,
                &format!("signal:{kind}"),
                Route::Session(sid.clone(), gen, ev),
            ));
        }
        let done = Callback::new(core, Route::Connected(sid.clone(), gen));
        if let Err(e) = session.connect(token, done.function()) {
            return Self::input(
                core,
                Input::ConnectFailed {
                    session: sid,
                    error: describe(&e),
                },
            );
        }
        self.sessions.insert(
            sid,
            SessionIo {
                session,
                gen,
                own: None,
                connected: false,
                early: Vec::new(),
                streams: SortedMap::default(),
                subs: SortedMap::default(),
                publisher: None,
                announce: None,
                _connect: done,
                _listeners: listeners,
            },
        );
    }

    /// Tears one session down: subscribers, publisher (and its track clones), and, when we are
    /// the ones leaving, the connection. Its videos leave the tiles and its listeners go at
    /// once (dropping `io`); the OT calls that release the media follow step by step.
    fn leave(&mut self, mut io: SessionIo, disconnect: bool) {
        let subs: Vec<(StreamId, Sub)> = io.subs.drain().collect();
        for (stream, sub) in subs {
            if disconnect {
                self.teardown.push(Step::Unsubscribe(
                    io.session.clone(),
                    sub.subscriber.clone(),
                    None,
                ));
            }
            self.detach_sub(&stream, sub);
        }
        if let Some(p) = io.publisher.take() {
            self.teardown.push(Step::Unpublish {
                session: disconnect.then(|| io.session.clone()),
                publisher: p.publisher,
                tracks: p.tracks,
            });
        }
        if disconnect {
            self.teardown.push(Step::Disconnect(io.session.clone()));
        }
    }

    fn drop_sub(&mut self, session: &SessionId, stream: &StreamId, sub: Sub) {
        if let Some(tile) = self.tiles.showing(session, stream) {
            tile.active = None;
            tile.meter.blank();
        }
        self.detach_sub(stream, sub);
    }

    /// Removes a subscriber's video from its tile and stops watching its frames.
    fn detach_sub(&mut self, stream: &StreamId, sub: Sub) {
        if let Some(tile) = self
            .tiles
            .iter_mut()
            .find(|t| t.active.as_ref().is_some_and(|(_, st)| st == stream) && t.key == sub.key)
        {
            tile.active = None;
            tile.meter.blank();
        }
        self.unwatch_sub(&sub);
        if let Some(video) = &sub.video {
            video.remove();
        }
    }

    /// Stops watching a subscriber's frames and silences it (hidden below, muted, volume 0);
    /// its video stays where it is.
    fn unwatch_sub(&self, sub: &Sub) {
        if let Some(video) = &sub.video {
            if let Some(h) = sub.frame_handle {
                video
                    .unchecked_ref::<FrameVideo>()
                    .cancel_video_frame_callback(h);
            }
            tiles::set_shown(video, false);
        }
        let _ = sub.subscriber.set_audio_volume(0.0);
    }

    fn publish(&mut self, core: &Rc<Core>, sid: SessionId) {
        let Some(io) = self.sessions.get_mut(&sid) else {
            return;
        };
        if self.local.tracks.is_empty() {
            return Self::input(
                core,
                Input::PublishFailed {
                    session: sid,
                    error: String::from("no local media"),
                },
            );
        }
        if let Some(old) = io.publisher.take() {
            let _ = io.session.unpublish(&old.publisher);
            drop_publisher(old);
        }
        let props = Object::new();
        set(&props, "insertDefaultUI", &JsValue::FALSE);
        set(&props, "publishAudio", &JsValue::TRUE);
        set(&props, "publishVideo", &JsValue::TRUE);
        if !self.local.name.is_empty() {
            set(&props, "name", &JsValue::from_str(&self.local.name));
        }
        // Each publisher stops its tracks when destroyed: never share one between two.
        let mut clones = Vec::new();
        for kind in ["video", "audio"] {
            let track = self
                .local
                .tracks
                .iter()
                .find(|t| t.kind() == kind)
                .map(MediaStreamTrack::clone);
            let key = if kind == "video" {
                "videoSource"
            } else {
                "audioSource"
            };
            match &track {
                Some(t) => set(&props, key, t),
                None => {
                    set(&props, key, &JsValue::NULL);
                    set(
                        &props,
                        if kind == "video" {
                            "publishVideo"
                        } else {
                            "publishAudio"
                        },
                        &JsValue::FALSE,
                    );
                }
            }
            clones.extend(track);
        }
        let init_done = Callback::new(core, Route::PublishDone(sid.clone()));
        let publisher =
            match self
                .options
                .ot
                .init_publisher(&JsValue::UNDEFINED, &props, init_done.function())
            {
                Ok(p) => p,
                Err(e) => {
                    clones.iter().for_each(|t| t.stop());
                    return Self::input(
                        core,
                        Input::PublishFailed {
                            session: sid,
                            error: describe(&e),
                        },
                    );
                }
            };
        let listener = Listener::new(
            core,
            &publisher,
            "streamCreated",
            Route::OwnStream(sid.clone()),
        );
        let publish_done = Callback::new(core, Route::PublishDone(sid.clone()));
        let result = io.session.publish(&publisher, publish_done.function());
        let p = Pub {
            publisher,
            tracks: clones,
            _listener: listener,
            _callbacks: [init_done, publish_done],
        };
        match result {
            Ok(()) => io.publisher = Some(p),
            Err(e) => {
                drop_publisher(p);
                Self::input(
                    core,
                    Input::PublishFailed {
                        session: sid,
                        error: describe(&e),
                    },
                );
            }
        }
    }

    fn subscribe(&mut self, core: &Rc<Core>, sid: SessionId, stream: StreamId) {
        let Some(io) = self.sessions.get_mut(&sid) else {
            return Self::input(
                core,
                Input::SubscribeFailed {
                    session: sid,
                    stream,
                    error: String::from("not connected"),
                },
            );
        };
        let Some(info) = io.streams.get(&stream) else {
            return Self::input(
                core,
                Input::SubscribeFailed {
                    session: sid,
                    stream,
                    error: String::from("no such stream"),
                },
            );
        };
        if io.subs.contains_key(&stream) {
            return;
        }
        let props = Object::new();
        set(&props, "insertDefaultUI", &JsValue::FALSE);
        // Silent until a Show names it: never two audible sources for one participant. Not
        // only volume 0: the vendor's client first plays a new subscriber's stream in a
        // detached, unmuted "buffer" video of its own until media flows (widget_view.js
        // `_loadVideoBuffer`), which our volume does not reach; with audio not subscribed its
        // track is disabled, and `setAudioVolume(100)` at the swap subscribes it again.
        set(&props, "subscribeToAudio", &JsValue::FALSE);
        set(&props, "subscribeToVideo", &JsValue::TRUE);
        set(&props, "audioVolume", &JsValue::from_f64(0.0));
        let done = Callback::new(core, Route::Subscribed(sid.clone(), stream.clone()));
        let subscriber =
            match io
                .session
                .subscribe(&info.stream, &JsValue::UNDEFINED, &props, done.function())
            {
                Ok(s) => s,
                Err(e) => {
                    return Self::input(
                        core,
                        Input::SubscribeFailed {
                            session: sid,
                            stream,
                            error: describe(&e),
                        },
                    );
                }
            };
        let _ = subscriber.set_audio_volume(0.0);
        let listeners = Listener::new(
            core,
            &subscriber,
            "videoElementCreated",
            Route::VideoElement(sid, stream.clone()),
        )
        .into_iter()
        .collect();
        let sub = Sub {
            key: info.key.clone(),
            subscriber,
            has_video: info.has_video,
            video: None,
            first_frame: false,
            frame_callback: None,
            frame_handle: None,
            _done: done,
            _listeners: listeners,
            _loaded: None,
        };
        io.subs.insert(stream, sub);
    }

    fn show(
        &mut self,
        key: ParticipantKey,
        sid: SessionId,
        stream: StreamId,
        replaces: Option<(SessionId, StreamId)>,
    ) {
        let document = self.document.clone();
        let tile = self.tiles.get_or_create(&document, &key);
        let previous = tile.active.take();
        let old = replaces
            .or(previous.clone())
            .filter(|o| o.0 != sid || o.1 != stream);
        let had_frames = previous.is_some();
        // One synchronous step: the new source up and audible, then the old one down and muted.
        if let Some(sub) = self.sessions.get(&sid).and_then(|io| io.subs.get(&stream)) {
            // Audible only once its video is in the tile: before, the vendor's client plays
            // the stream in a detached buffer of its own (see `subscribe`), and unmuting
            // would make that audible, outside the tile. `on_video_element` unmutes then.
            if let Some(v) = &sub.video {
                tiles::set_shown(v, true);
                let _ = sub.subscriber.set_audio_volume(100.0);
            }
        }
        if let Some((os, ost)) = &old {
            if let Some(sub) = self.sessions.get(os).and_then(|io| io.subs.get(ost)) {
                let _ = sub.subscriber.set_audio_volume(0.0);
                if let Some(v) = &sub.video {
                    tiles::set_shown(v, false);
                }
            }
        }
        let tile = self.tiles.get_or_create(&document, &key);
        tile.active = Some((sid, stream));
        if had_frames && old.is_some() {
            tile.meter.swapped(perf_now());
        }
    }

    /// Calls the app's `tokenProvider` / `resolveSession` (`resolve`) and routes the settled
    /// promise back as an engine input.
    fn call_app(
        &mut self,
        core: &Rc<Core>,
        f: Option<Function>,
        session: SessionId,
        resolve: bool,
    ) {
        let fail = |error: String| {
            if resolve {
                Input::Resolved {
                    old: session.clone(),
                    result: Err(error),
                }
            } else {
                Input::Token {
                    session: session.clone(),
                    result: Err(error),
                }
            }
        };
        let Some(f) = f else {
            let text = if resolve {
                "no resolveSession"
            } else {
                "no tokenProvider"
            };
            return Self::input(core, fail(String::from(text)));
        };
        let returned = match f.call1(&JsValue::NULL, &JsValue::from_str(session.as_str())) {
            Ok(v) => v,
            Err(e) => return Self::input(core, fail(describe(&e))),
        };
        let route = |ok| {
            if resolve {
                Route::Resolved(session.clone(), ok)
            } else {
                Route::Token(session.clone(), ok)
            }
        };
        let on_ok = Callback::new(core, route(true));
        let on_err = Callback::new(core, route(false));
        let _ = Promise::resolve(&returned)
            .unchecked_ref::<Thenable>()
            .then(on_ok.function(), on_err.function());
        self.app_calls.push(AppCall {
            _settled: [on_ok, on_err],
            route: route(true),
        });
    }

    // ---- OT callbacks ----

    fn on_route(&mut self, core: &Rc<Core>, route: Route, a: JsValue, _b: JsValue) {
        if self.closed {
            return;
        }
        match route {
            Route::Connected(sid, gen) => {
                let Some(io) = self.sessions.get_mut(&sid).filter(|io| io.gen == gen) else {
                    return;
                };
                if let Some(error) = callback_error(&a) {
                    self.sessions.remove(&sid);
                    return Self::input(
                        core,
                        Input::ConnectFailed {
                            session: sid,
                            error,
                        },
                    );
                }
                let own = io.session.connection().map(|c| c.connection_id());
                io.own = own.clone();
                io.connected = true;
                let early = std::mem::take(&mut io.early);
                Self::input(
                    core,
                    Input::Connected {
                        session: sid.clone(),
                        connection: ConnectionId::from(own.unwrap_or_default()),
                    },
                );
                for (ev, event) in early {
                    self.on_session_event(core, &sid, ev, event);
                }
            }
            Route::Session(sid, gen, ev) => {
                if self.sessions.get(&sid).is_some_and(|io| io.gen == gen) {
                    self.on_session_event(core, &sid, ev, a)
                }
            }
            Route::Subscribed(sid, stream) => {
                let Some(sub) = self
                    .sessions
                    .get_mut(&sid)
                    .and_then(|io| io.subs.get_mut(&stream))
                else {
                    return;
                };
                if let Some(error) = callback_error(&a) {
                    return Self::input(
                        core,
                        Input::SubscribeFailed {
                            session: sid,
                            stream,
                            error,
                        },
                    );
                }
                if !sub.has_video && !sub.first_frame {
                    sub.first_frame = true;
                    Self::input(
                        core,
                        Input::FirstFrame {
                            session: sid,
                            stream,
                        },
                    );
                }
            }
            Route::VideoElement(sid, stream) => self.on_video_element(core, sid, stream, a),
            Route::Frame(sid, stream) => self.on_frame(core, &sid, &stream, &a),
            Route::Loaded(sid, stream) => {
                if let Some(sub) = self
                    .sessions
                    .get_mut(&sid)
                    .and_then(|io| io.subs.get_mut(&stream))
                {
                    if !sub.first_frame {
                        sub.first_frame = true;
                        Self::input(
                            core,
                            Input::FirstFrame {
                                session: sid,
                                stream,
                            },
                        );
                    }
                }
            }
            Route::Announced(sid) => {
                if let Some(io) = self.sessions.get_mut(&sid) {
                    io.announce = None;
                }
                if let Some(error) = callback_error(&a) {
                    Self::input(
                        core,
                        Input::AnnounceFailed {
                            session: sid,
                            error,
                        },
                    );
                }
            }
            Route::PublishDone(sid) => {
                if let Some(error) = callback_error(&a) {
                    if let Some(p) = self
                        .sessions
                        .get_mut(&sid)
                        .and_then(|io| io.publisher.take())
                    {
                        drop_publisher(p);
                    }
                    Self::input(
                        core,
                        Input::PublishFailed {
                            session: sid,
                            error,
                        },
                    );
                }
            }
            Route::OwnStream(sid) => {
                if self
                    .sessions
                    .get(&sid)
                    .is_none_or(|io| io.publisher.is_none())
                {
                    return;
                }
                let Some(stream) = a.unchecked_ref::<StreamEvent>().stream() else {
                    return;
                };
                Self::input(
                    core,
                    Input::Published {
                        session: sid,
                        stream: StreamId::from(stream.stream_id()),
                    },
                );
            }
            Route::Token(sid, ok) => {
                self.app_calls
                    .retain(|c| !matches!(&c.route, Route::Token(s, _) if *s == sid));
                let result = if ok {
                    a.as_string()
                        .filter(|t| !t.is_empty())
                        .ok_or_else(|| String::from("tokenProvider returned no token"))
                } else {
                    Err(describe(&a))
                };
                Self::input(
                    core,
                    Input::Token {
                        session: sid,
                        result,
                    },
                );
            }
            Route::Resolved(old, ok) => {
                self.app_calls
                    .retain(|c| !matches!(&c.route, Route::Resolved(s, _) if *s == old));
                let result = if ok { resolved(&a) } else { Err(describe(&a)) };
                Self::input(core, Input::Resolved { old, result });
            }
        }
    }

    fn key_of(&self, connection: &Connection) -> ParticipantKey {
        if let Some(f) = &self.options.participant_key {
            if let Some(k) = f
                .call1(&JsValue::NULL, connection)
                .ok()
                .and_then(|v| v.as_string())
            {
                if !k.is_empty() {
                    return ParticipantKey::from(k);
                }
            }
        }
        // Default: the token data (a user id); a connection without data is its own participant.
        match connection.data().filter(|d| !d.is_empty()) {
            Some(d) => ParticipantKey::from(d),
            None => ParticipantKey::from(connection.connection_id()),
        }
    }

    fn on_session_event(
        &mut self,
        core: &Rc<Core>,
        sid: &SessionId,
        ev: SessionEvent,
        event: JsValue,
    ) {
        let Some(io) = self.sessions.get_mut(sid) else {
            return;
        };
        if !io.connected && ev != SessionEvent::Disconnected {
            io.early.push((ev, event));
            return;
        }
        let own = io.own.clone();
        let is_own = |c: &Connection| own.as_deref() == Some(c.connection_id().as_str());
        let session = sid.clone();
        match ev {
            SessionEvent::ConnectionCreated => {
                let Some(c) = event.unchecked_ref::<ConnectionEvent>().connection() else {
                    return;
                };
                if is_own(&c) {
                    return;
                }
                let key = self.key_of(&c);
                Self::input(
                    core,
                    Input::ConnectionCreated {
                        session,
                        connection: ConnectionId::from(c.connection_id()),
                        key,
                    },
                );
            }
            SessionEvent::ConnectionDestroyed => {
                let Some(c) = event.unchecked_ref::<ConnectionEvent>().connection() else {
                    return;
                };
                if !is_own(&c) {
                    Self::input(
                        core,
                        Input::ConnectionDestroyed {
                            session,
                            connection: ConnectionId::from(c.connection_id()),
                        },
                    );
                }
            }
            SessionEvent::StreamCreated => {
                let Some(stream) = event.unchecked_ref::<StreamEvent>().stream() else {
                    return;
                };
                let Some(c) = stream.connection() else { return };
                if is_own(&c) {
                    return;
                }
                let key = self.key_of(&c);
                let id = StreamId::from(stream.stream_id());
                let (has_video, has_audio) = (stream.has_video(), stream.has_audio());
                let io = self.sessions.get_mut(sid).expect("checked above");
                io.streams.insert(
                    id.clone(),
                    StreamInfo {
                        stream,
                        key,
                        has_video,
                    },
                );
                Self::input(
                    core,
                    Input::StreamCreated {
                        session,
                        stream: id,
                        connection: ConnectionId::from(c.connection_id()),
                        has_video,
                        has_audio,
                    },
                );
            }
            SessionEvent::StreamDestroyed => {
                let Some(stream) = event.unchecked_ref::<StreamEvent>().stream() else {
                    return;
                };
                let id = StreamId::from(stream.stream_id());
                if io.streams.remove(&id).is_some() {
                    Self::input(
                        core,
                        Input::StreamDestroyed {
                            session,
                            stream: id,
                        },
                    );
                }
            }
            SessionEvent::Signal | SessionEvent::Moved => {
                let e = event.unchecked_ref::<SignalEvent>();
                let from = e.from().map(|c| ConnectionId::from(c.connection_id()));
                let kind = if ev == SessionEvent::Moved {
                    self.options.config.moved_signal_type()
                } else {
                    self.options.config.signal_type.clone()
                };
                Self::input(
                    core,
                    Input::Signal {
                        session,
                        from,
                        kind,
                        data: e.data().unwrap_or_default(),
                    },
                );
            }
            SessionEvent::Disconnected => {
                let reason = event
                    .unchecked_ref::<DisconnectEvent>()
                    .reason()
                    .unwrap_or_default();
                if let Some(io) = self.sessions.remove(sid) {
                    // The vendor already destroyed this session's publisher and subscribers.
                    self.leave(io, false);
                }
                Self::input(
                    core,
                    Input::SessionDisconnected {
                        session,
                        reason: events::parse_disconnect_reason(&reason),
                    },
                );
            }
        }
    }

    fn on_video_element(
        &mut self,
        core: &Rc<Core>,
        sid: SessionId,
        stream: StreamId,
        event: JsValue,
    ) {
        let document = self.document.clone();
        let Some(sub) = self
            .sessions
            .get_mut(&sid)
            .and_then(|io| io.subs.get_mut(&stream))
        else {
            return;
        };
        let Some(element) = event.unchecked_ref::<VideoElementEvent>().element() else {
            return;
        };
        let Ok(video) = element.dyn_into::<HtmlVideoElement>() else {
            return;
        };
        if let Some(old) = sub.video.take() {
            old.remove();
        }
        tiles::stack(&video);
        let tile = self.tiles.get_or_create(&document, &sub.key);
        let shown = tile
            .active
            .as_ref()
            .is_some_and(|(s, st)| *s == sid && *st == stream);
        tiles::set_shown(&video, shown);
        let _ = tile.element.append_child(&video);
        if shown {
            let _ = sub.subscriber.set_audio_volume(100.0);
        }
        if Reflect::has(&video, &JsValue::from_str("requestVideoFrameCallback")).unwrap_or(false) {
            let cb = Callback::new(core, Route::Frame(sid, stream));
            sub.frame_handle = Some(
                video
                    .unchecked_ref::<FrameVideo>()
                    .request_video_frame_callback(cb.function()),
            );
            sub.frame_callback = Some(cb);
        } else {
            sub._loaded = DomListener::new(
                core,
                &video,
                "loadeddata",
                Route::Loaded(sid.clone(), stream.clone()),
            );
            if video.ready_state() >= 2 && !sub.first_frame {
                sub.first_frame = true;
                Self::input(
                    core,
                    Input::FirstFrame {
                        session: sid,
                        stream,
                    },
                );
            }
        }
        sub.video = Some(video);
    }

    fn on_frame(&mut self, core: &Core, sid: &SessionId, stream: &StreamId, now: &JsValue) {
        if self.closed {
            return;
        }
        let Some(sub) = self
            .sessions
            .get_mut(sid)
            .and_then(|io| io.subs.get_mut(stream))
        else {
            return;
        };
        let (Some(video), Some(cb)) = (&sub.video, &sub.frame_callback) else {
            return;
        };
        sub.frame_handle = Some(
            video
                .unchecked_ref::<FrameVideo>()
                .request_video_frame_callback(cb.function()),
        );
        if !sub.first_frame {
            sub.first_frame = true;
            Self::input(
                core,
                Input::FirstFrame {
                    session: sid.clone(),
                    stream: stream.clone(),
                },
            );
        }
        let t = now.as_f64().unwrap_or_else(perf_now);
        if let Some(tile) = self.tiles.showing(sid, stream) {
            if let Some(gap) = tile.meter.frame(t) {
                self.handoff_gap = Some(self.handoff_gap.map_or(gap, |g| g.max(gap)));
            }
        }
    }

    // ---- engine events ----

    fn on_event(&mut self, event: Event) {
        let out = &mut self.outbox;
        match event {
            Event::StateChanged { state } => {
                self.state = state;
                out.ready(
                    Name::StateChanged,
                    &events::StateChanged {
                        state: state.as_str(),
                    },
                );
            }
            Event::HandoffStarted {
                from,
                to,
                reason,
                id,
            } => {
                self.handoff_gap = None;
                out.ready(
                    Name::HandoffStarted,
                    &events::HandoffStarted {
                        from: from.as_str(),
                        to: to.as_str(),
                        reason: reason.as_deref(),
                        id: id.as_deref(),
                    },
                );
            }
            Event::ParticipantSwapped { key, from, to } => out.push(Outgoing::Swapped {
                key,
                from,
                to,
                gap: Gap::Pending,
            }),
            Event::HandoffCompleted {
                from,
                to,
                duration_ms,
                overlap_ms,
                ended_by,
            } => {
                self.handoffs_completed += 1;
                out.push(Outgoing::Completed {
                    from,
                    to,
                    duration_ms,
                    overlap_ms,
                    ended_by,
                });
            }
            Event::HandoffFailed {
                to,
                error,
                will_retry,
                next_attempt_at,
            } => {
                let failure = Failure::from(&error);
                out.ready(
                    Name::HandoffFailed,
                    &events::HandoffFailed {
                        to: to.as_str(),
                        error: (&failure).into(),
                        will_retry,
                        next_attempt_at: next_attempt_at.map(|t| t as f64),
                    },
                );
            }
            Event::SubscribeFailed {
                key,
                session,
                stream,
                detail,
            } => {
                let message = format!("subscribing to the stream failed: {detail}");
                out.ready(
                    Name::SubscribeFailed,
                    &events::SubscribeFailed {
                        key: key.as_ref().map(|k| k.as_str()),
                        session_id: session.as_str(),
                        stream_id: stream.as_str(),
                        error: events::ErrorInfo {
                            code: "subscribeFailed",
                            message: &message,
                        },
                    },
                );
            }
            Event::AnnounceFailed { session, detail } => {
                let message = format!("telling the peers that we moved failed: {detail}");
                out.ready(
                    Name::AnnounceFailed,
                    &events::AnnounceFailed {
                        session_id: session.as_str(),
                        error: events::ErrorInfo {
                            code: "announceFailed",
                            message: &message,
                        },
                    },
                );
            }
            Event::RecoveryStarted { session, reason } => out.ready(
                Name::RecoveryStarted,
                &events::SessionReason {
                    session_id: session.as_str(),
                    reason: reason.code(),
                },
            ),
            Event::SignalRejected { reason } => {
                let message = events::reject_message(&reason);
                out.ready(
                    Name::SignalRejected,
                    &events::SignalRejected {
                        reason: reason.code(),
                        message: &message,
                    },
                );
            }
            Event::ParticipantJoined { key } => {
                let document = self.document.clone();
                let element: JsValue = self
                    .tiles
                    .get_or_create(&document, &key)
                    .element
                    .clone()
                    .into();
                self.outbox.ready(
                    Name::ParticipantJoined,
                    &events::ParticipantJoined {
                        key: key.as_str(),
                        element,
                    },
                );
            }
            Event::SessionEnded { session, reason } => out.ready(
                Name::SessionEnded,
                &events::SessionReason {
                    session_id: session.as_str(),
                    reason: reason.code(),
                },
            ),
            Event::ParticipantLeft { key } => {
                self.tiles.remove(&key);
                out.ready(
                    Name::ParticipantLeft,
                    &events::ParticipantLeft { key: key.as_str() },
                );
            }
        }
    }

    // ---- app calls ----

    pub fn set_local_media(&mut self, media: &JsValue) {
        let get =
            |k: &str| Reflect::get(media, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
        self.local.tracks.clear();
        for k in ["videoSource", "audioSource"] {
            if let Ok(t) = get(k).dyn_into::<MediaStreamTrack>() {
                self.local.tracks.push(t);
            }
        }
        self.local.owned = get("owned").is_truthy();
        self.local.name = get("name").as_string().unwrap_or_default();
        let video_track = self.local.tracks.iter().find(|t| t.kind() == "video");
        if let (Some(track), Ok(el)) = (video_track, self.document.create_element("video")) {
            let video: HtmlVideoElement = el.unchecked_into();
            tiles::stack(&video);
            tiles::set_shown(&video, true);
            video.set_muted(true);
            let tracks = js_sys::Array::of1(track);
            if let Ok(stream) = MediaStream::new_with_tracks(&tracks) {
                video.set_src_object(Some(&stream));
            }
            let _ = self.local.element.append_child(&video);
            self.local.video = Some(video);
        }
    }

    pub fn local_element(&self) -> HtmlElement {
        self.local.element.clone()
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn session_id(&self) -> Option<String> {
        self.engine.live_session().map(|s| s.0.clone())
    }

    pub fn participants(&self) -> js_sys::Array {
        let list = js_sys::Array::new();
        for tile in self.tiles.iter() {
            let o = Object::new();
            set(&o, "key", &JsValue::from_str(tile.key.as_str()));
            set(&o, "element", &tile.element);
            list.push(&o);
        }
        list
    }

    pub fn stats(&self) -> JsValue {
        events::to_js(&events::CallStats {
            state: self.state.as_str(),
            session_id: self.engine.live_session().map(|s| s.as_str()),
            handoffs_completed: self.handoffs_completed,
            tiles: self
                .tiles
                .iter()
                .map(|t| {
                    events::TileStats {
                        key: t.key.as_str(),
                        frames_presented: t.meter.frames,
                        largest_frame_gap_ms: t.meter.largest_gap,
                        last_swap_frame_gap_ms: t.meter.last_swap_gap,
                    }
                    .rounded()
                })
                .collect(),
        })
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Everything the shell holds goes: sessions, tiles' videos, local preview, timer, pending
    /// app calls. Tracks the SDK obtained itself are stopped.
    pub fn teardown(&mut self) {
        if self.closed {
            return;
        }
        let sids: Vec<SessionId> = self.sessions.keys().cloned().collect();
        for sid in sids {
            if let Some(io) = self.sessions.remove(&sid) {
                self.leave(io, true);
            }
        }
        self.teardown.run_all();
        self.teardown_timer = None;
        self.tiles.clear();
        if let Some(v) = self.local.video.take() {
            v.set_src_object(None);
            v.remove();
        }
        if self.local.owned {
            self.local.tracks.iter().for_each(|t| t.stop());
        }
        self.local.tracks.clear();
        self.timer = None;
        self.app_calls.clear();
        if self.state != State::Closed {
            self.state = State::Closed;
            self.outbox.ready(
                Name::StateChanged,
                &events::StateChanged { state: "closed" },
            );
        }
        self.closed = true;
    }
}

fn drop_publisher(p: Pub) {
    let _ = p.publisher.destroy();
    // The vendor stops a destroyed publisher's tracks; stop ours too in case it did not.
    p.tracks.iter().for_each(|t| t.stop());
}

/// `resolveSession`'s answer: `null` (rejoin the same ID) or `{ sessionId, token? }`.
fn resolved(value: &JsValue) -> Result<Option<HandoffRequest>, String> {
    if value.is_null() || value.is_undefined() {
        return Ok(None);
    }
    let get = |k: &str| {
        Reflect::get(value, &JsValue::from_str(k))
            .ok()
            .and_then(|v| v.as_string())
    };
    match get("sessionId").filter(|s| !s.is_empty()) {
        Some(session) => Ok(Some(HandoffRequest {
            session: SessionId::from(session),
            token: get("token").filter(|t| !t.is_empty()),
            reason: Some(String::from("serverRotation")),
            deadline: None,
            spread_ms: 0,
            id: None,
        })),
        None => Err(String::from(
            "resolveSession must return null or { sessionId, token? }",
        )),
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        self.teardown();
    }
}
