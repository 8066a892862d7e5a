//! The handoff engine: a sans-IO state machine that decides everything and does nothing.
//!
//! It reads no clock, opens no socket and draws no entropy: the shell (`src/web`) turns OT
//! events into [`Input`]s with the current time (epoch ms), carries out the [`Command`]s,
//! hands the [`Event`]s to the app and owns the one timer. Policy lives here, in one file
//! per concept:
//!
//! | file | holds |
//! | --- | --- |
//! | `io.rs` | the contract: [`Input`], [`Output`], [`Command`], [`Event`], [`Config`] |
//! | `errors.rs` | refusals and failures: [`Rejection`] with its [`RejectReason`], [`HandoffError`] |
//! | `signal.rs` | the one move request (signal, `moveTo`, `resolveSession`) and its checks |
//! | `connect.rs` | joining one session: token, connect, timeout, retries, publishing |
//! | `handoff.rs` | moving from the live session to another: start, supersede, leave rule |
//! | `media.rs` | remote connections and streams: what is subscribed, what each tile shows |
//! | `recovery.rs` | the live session lost without a handoff: resolve or rejoin |
//! | `participants.rs` | who is in the call across sessions (joined/left) |
//! | `figures.rs` | app events held back until a swap's frame gap is measured |
//! | `release.rs` | the commands that release media, spread out in time |
//! | `timers.rs` | the one timer: [`Engine::poll_timeout`] and what fires when it runs out |
//! | `backoff.rs`, `rng.rs` | retry delays with full jitter from a seeded generator |
//! | `sorted_map.rs` | the small sorted map behind connections, streams and participants |
//!
//! # The run loop
//!
//! Every mutation ([`Engine::handle`], [`Engine::handle_timeout`]) is followed by draining
//! [`Engine::poll_output`] until it returns `None`, carrying out each output in order, and
//! then re-arming the one timer at [`Engine::poll_timeout`] (`None`: no timer). When the
//! timer fires, call [`Engine::handle_timeout`] and drain again. Inputs that arrive while the
//! outputs are being carried out are queued and handled after the drain (never re-entered).
//!
//! ```
//! use video_handoff::engine::{Command, Config, Engine, Input, Output};
//!
//! let mut engine = Engine::new(Config::default(), 42);
//! let now = 1_764_000_000_000;
//! engine.handle(now, Input::Join { session: "2_MX4a".into(), token: Some("T".into()) });
//! while let Some(output) = engine.poll_output() {
//!     match output {
//!         Output::Command(Command::Connect { session, token }) => {
//!             // shell: OT.initSession(..., session).connect(token, ...)
//!             # let _ = (session, token);
//!         }
//!         Output::Command(_other) => { /* carry it out */ }
//!         Output::Event(_event) => { /* hand it to the app */ }
//!     }
//! }
//! if let Some(at) = engine.poll_timeout() {
//!     // shell: (re)arm the one timer to call engine.handle_timeout(now) at `at`
//!     # let _ = at;
//! }
//! ```
//!
//! The engine never panics on any input, tolerates inputs out of order, repeated or about
//! sessions it is not in (they are ignored), and clamps time that goes backwards. After
//! [`Input::Close`] (or the call ending on its own, see [`Event::SessionEnded`]) and the
//! outputs it produced, nothing more is ever emitted.
//!
//! # Decisions the design left open
//!
//! - Who a connection is: the app's `participantKey` answer if it gave a non-empty one, else
//!   the token `data` if not empty, else the connection ID (a participant of its own). The
//!   shell only reports what it read ([`Input::ConnectionCreated`]).
//! - Connection and stream events of a session whose connect has not completed are recorded
//!   and taken in, in the order they came, once it has (this client's own connection left
//!   out); a new connect attempt starts from nothing.
//! - One move request ([`MoveFields`]) for a handoff signal, `moveTo` and `resolveSession`'s
//!   answer, with the same checks (a signal also needs `v: 1`). Numbers are JSON numbers,
//!   so `1.7e12` is a valid deadline; a `deadline` or `spreadMs` with a fraction is floored.
//!   An answer of `resolveSession` that fails the checks is a
//!   [`HandoffError::ResolveFailed`] with the problem as its detail.
//! - Participants: a participant gets one tile and one shown stream. In each session the
//!   engine subscribes to one stream per participant (the first it saw; another stands in
//!   when it ends). [`ParticipantLeft`](Event::ParticipantLeft) waits [`LEFT_GRACE_MS`]
//!   of absence from every session and, while a handoff or a recovery is under way, until it
//!   ends, so a moving participant is never reported as leaving and rejoining.
//! - Handoff: the spread delay never runs past `deadline - margin - connect_timeout`.
//!   A token from a signal or `Join` is reused for every retry; without one the token
//!   provider is asked before each attempt. A connect attempt that times out is disconnected
//!   before the retry. When retries are given up (deadline), the request is remembered: if
//!   the live session is then lost to a server rotation, recovery goes to that session.
//!   A move whose old session is lost before the new one connects carries on (state
//!   `recovering`) and retries without the deadline until the new session connects.
//! - Signals naming a session this client left are `stale`; an app that moves the call
//!   back to such a session (breakout rooms) uses [`Input::Move`], which is not checked
//!   against left sessions.
//! - The live session lost with no handoff under way: `serverRotation` asks
//!   `resolveSession` (or goes to a move that was given up), else rejoins the same session
//!   ID; `networkDisconnected`, `mediaIdle` and unknown reasons rejoin the same session ID;
//!   all with backoff and no deadline, in state `recovering`. `forceDisconnected` and a
//!   `clientDisconnected` the engine did not ask for end the call ([`Event::SessionEnded`],
//!   then state `closed`). While recovering, tiles are hidden (their subscribers are gone)
//!   but participants stay until they fail to reappear within the grace after recovery.
//! - Publishing fails: retried with backoff [`MAX_PUBLISH_ATTEMPTS`] times, each failure
//!   reported as [`HandoffError::PublishFailed`]; without our own stream in the new session
//!   the old one is left only by a bound.
//! - Group mode's "peers that have not moved yet still see us from A" needs more than their
//!   presence in B: a peer that has connected to B may not show our B stream yet. So each
//!   client says so in B ([`Config::moved_signal_type`]) once it shows everyone from B, and a
//!   publishing client in group mode leaves A only when every connection still in A has said
//!   it (or the bounds end the overlap). A connection speaks only for its own participant.

mod backoff;
mod connect;
mod errors;
mod figures;
mod handoff;
mod io;
mod media;
mod participants;
mod recovery;
mod release;
mod rng;
mod session;
mod signal;
mod timers;

pub use errors::{HandoffError, Hook, RejectReason, Rejection};
pub use io::*;
pub use participants::{ParticipantView, LEFT_GRACE_MS};
pub use session::{MAX_CONNECTIONS, MAX_PUBLISH_ATTEMPTS, MAX_STREAMS};
pub use signal::{
    check_signal_text, Field, MoveFields, MAX_DEPTH, MAX_ID_BYTES, MAX_REASON_BYTES,
    MAX_SESSION_ID_BYTES, MAX_SIGNAL_BYTES, MAX_SPREAD_MS, MAX_TOKEN_BYTES,
};

use participants::Participants;
use rng::Rng;
use session::Session;

/// Who a connection is across sessions: the app's key if it gave a non-empty one, else the
/// token data if not empty, else the connection itself (a participant of its own).
fn participant_key(
    connection: &ConnectionId,
    data: Option<String>,
    app_key: Option<String>,
) -> ParticipantKey {
    match app_key.filter(|k| !k.is_empty()) {
        Some(k) => ParticipantKey::from(k),
        None => match data.filter(|d| !d.is_empty()) {
            Some(d) => ParticipantKey::from(d),
            None => ParticipantKey::from(connection.as_str()),
        },
    }
}

/// The handoff state machine. See the [module docs](self) for the run loop.
pub struct Engine {
    config: Config,
    rng: Rng,
    /// The latest time passed in (never goes backwards).
    now: Millis,
    /// The state last announced with [`Event::StateChanged`].
    state: State,
    closed: bool,
    /// A handoff or recovery was under way at the last [`Engine::sync_state`].
    was_paused: bool,
    /// The session the call is in; during a handoff the old one. While (re)joining, not yet
    /// connected. `None` when nothing is joined or a lost session awaits `resolveSession`.
    live: Option<Session>,
    /// The move under way.
    handoff: Option<Handoff>,
    /// The live session was lost without a handoff under way.
    recovery: Option<Recovery>,
    participants: Participants,
    /// Sessions this client left (a signal naming one is stale). Bounded: oldest dropped.
    left: Vec<SessionId>,
    /// A move given up at its deadline: `(from, request)`, where to recover if `from` dies.
    abandoned: Option<(SessionId, HandoffRequest)>,
    /// The server's clock minus ours (ms), from the `creationTime` the server stamped on our
    /// own connection at the latest connect: deadlines (server epoch ms) are read with it.
    clock_offset: Option<i64>,
    out: Vec<Output>,
    /// App events waiting for a swap's figure (`figures.rs`).
    held: figures::Held,
    /// Media releases waiting their turn (`release.rs`).
    releases: release::Releases,
    /// How many of `out` were already polled (a `Vec` and a cursor: smaller wasm than a
    /// `VecDeque`).
    polled: usize,
}

/// A move from the live session to `target`.
struct Handoff {
    from: SessionId,
    request: HandoffRequest,
    target: Session,
    started_at: Millis,
    /// Connections of `target` that said they show everyone from it (the moved signal).
    moved: Vec<ConnectionId>,
    /// This client sent its own moved signal into `target`.
    announced: bool,
    /// The old session was lost meanwhile: why, and the token it was joined with.
    from_lost: Option<(DisconnectReason, Option<String>)>,
}

impl Handoff {
    /// A move that starts now: nobody has said yet that they moved, we included.
    fn new(from: SessionId, request: HandoffRequest, target: Session, started_at: Millis) -> Self {
        Handoff {
            from,
            request,
            target,
            started_at,
            moved: Vec::new(),
            announced: false,
            from_lost: None,
        }
    }
}

/// Getting back into a call whose live session was lost with no handoff under way.
struct Recovery {
    lost: SessionId,
    /// Why it was lost (what [`Event::SessionEnded`] says if every way back fails).
    reason: DisconnectReason,
    /// The ways back still to try, the next one last; each is one bounded attempt sequence.
    steps: Vec<RecoveryStep>,
    /// `ResolveSession` sent; its answer counts until then (the hook timeout).
    resolving_until: Option<Millis>,
    /// The token the lost session was joined with (for rejoining without a provider).
    last_token: Option<String>,
}

/// One way back into a lost call.
#[derive(Clone, Debug, PartialEq, Eq)]
enum RecoveryStep {
    /// Ask the app's `resolveSession(lost)` where the room is now.
    Resolve,
    /// The session a move given up earlier was going to.
    Move(HandoffRequest),
    /// The same session ID (the platform moves a rotated session to a new server).
    SameId,
}

/// Which of the (at most) two sessions an attempt or event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Live,
    Target,
}

/// How many sessions [`Engine`] remembers having left.
const LEFT_MEMORY: usize = 64;

impl Engine {
    /// A new engine in state `idle`. `seed` feeds the jitter of spread and retry delays; use
    /// a different one per client (e.g. from `crypto.getRandomValues`).
    pub fn new(config: Config, seed: u64) -> Self {
        Self {
            config,
            rng: Rng::new(seed),
            now: 0,
            state: State::Idle,
            closed: false,
            was_paused: false,
            live: None,
            handoff: None,
            recovery: None,
            participants: Participants::default(),
            left: Vec::new(),
            abandoned: None,
            clock_offset: None,
            out: Vec::new(),
            held: figures::Held::default(),
            releases: release::Releases::default(),
            polled: 0,
        }
    }

    // ----- getters -----

    /// The call's state as last announced.
    pub fn state(&self) -> State {
        self.state
    }

    /// The session the call is connected to; during a handoff, the old one.
    pub fn live_session(&self) -> Option<&SessionId> {
        self.live
            .as_ref()
            .filter(|s| s.is_connected())
            .map(|s| &s.id)
    }

    /// The session a handoff is moving to.
    pub fn target_session(&self) -> Option<&SessionId> {
        self.handoff.as_ref().map(|h| &h.target.id)
    }

    /// Every remote participant of the call, by key, with the stream their tile shows.
    pub fn participants(&self) -> impl Iterator<Item = ParticipantView<'_>> {
        self.participants.views()
    }

    // ----- handle_* -----

    /// Feeds one input that happened at `now` (epoch ms). Drain [`Engine::poll_output`] next.
    pub fn handle(&mut self, now: Millis, input: Input) {
        if self.closed {
            return;
        }
        self.advance(now);
        match input {
            Input::Join { session, token } => self.on_join(session, token),
            Input::Move(request) => self.on_move(request, false),
            Input::Signal { from, body } => self.on_signal(from, body),
            Input::Moved {
                session,
                from,
                data,
            } => self.on_moved(&session, from, &data),
            Input::Connected {
                session,
                connection,
                server_time,
                routed,
            } => self.on_connected(&session, connection, server_time, routed),
            Input::ConnectFailed {
                session,
                error,
                code,
            } => self.on_connect_failed(&session, error, code),
            Input::Token { session, result } => self.on_token(&session, result),
            Input::SessionDisconnected { session, reason } => {
                self.sweep_releases(release::Sweep::Forget(&session));
                self.on_session_disconnected(&session, reason)
            }
            Input::Resolved { old, result } => self.on_resolved(&old, result),
            Input::Published { session } => self.on_published(&session),
            Input::PublishFailed { session, error } => self.on_publish_failed(&session, error),
            Input::AnnounceFailed { session, error } => self.on_announce_failed(session, error),
            Input::Migrated { session } => {
                // News of a session left already is not the app's.
                if self.slot_of(&session).is_some() {
                    self.event(Event::SessionMigrated { session });
                }
            }
            Input::ConnectionCreated {
                session,
                connection,
                data,
                app_key,
            } => {
                let key = participant_key(&connection, data, app_key);
                self.on_connection_created(&session, connection, key)
            }
            Input::ConnectionDestroyed {
                session,
                connection,
            } => self.on_connection_destroyed(&session, &connection),
            Input::StreamCreated {
                session,
                stream,
                connection,
                has_video,
            } => self.on_stream_created(&session, stream, connection, has_video),
            Input::StreamDestroyed { session, stream } => {
                self.on_stream_destroyed(&session, &stream)
            }
            Input::FirstFrame { session, stream } => self.on_first_frame(&session, &stream),
            Input::SubscribeFailed {
                session,
                stream,
                error,
            } => self.on_subscribe_failed(&session, &stream, error),
            Input::SwapMeasured { key } => self.on_swap_measured(&key),
            Input::Close => self.close(),
        }
        self.settle();
    }

    /// The timer set from [`Engine::poll_timeout`] ran out (calling it early is harmless).
    pub fn handle_timeout(&mut self, now: Millis) {
        if self.closed {
            return;
        }
        self.advance(now);
        self.settle();
    }

    // ----- poll_* -----

    /// The next command or event, in the order they must be carried out.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        let next = self.out.get_mut(self.polled).map(|o| {
            // Taken out in place (a cheap placeholder stays until the queue is cleared).
            core::mem::replace(o, Output::Event(Event::StateChanged { state: State::Idle }))
        });
        self.polled += 1;
        if self.polled >= self.out.len() {
            self.out.clear();
            self.polled = 0;
        }
        next
    }

    /// When to call [`Engine::handle_timeout`] next (epoch ms; may be in the past: call it
    /// at once). `None`: no timer needed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Millis> {
        if self.closed {
            return None;
        }
        self.next_timeout()
    }

    // ----- internals shared by the other files -----

    /// How many outputs are queued (to tell whether a step produced any).
    fn out_len(&self) -> usize {
        self.out.len()
    }

    /// Moves time forward and runs whatever fell due.
    fn advance(&mut self, now: Millis) {
        self.now = self.now.max(now);
        self.fire_due();
        self.release_held(false);
    }

    /// After every input: apply the leave rule, announce a state change.
    fn settle(&mut self) {
        if self.closed {
            return;
        }
        self.announce_moved();
        self.check_leave();
        self.sync_state();
    }

    fn slot(&self, slot: Slot) -> Option<&Session> {
        match slot {
            Slot::Live => self.live.as_ref(),
            Slot::Target => self.handoff.as_ref().map(|h| &h.target),
        }
    }

    fn slot_mut(&mut self, slot: Slot) -> Option<&mut Session> {
        match slot {
            Slot::Live => self.live.as_mut(),
            Slot::Target => self.handoff.as_mut().map(|h| &mut h.target),
        }
    }

    /// Which slot holds `session`.
    fn slot_of(&self, session: &SessionId) -> Option<Slot> {
        [Slot::Live, Slot::Target]
            .into_iter()
            .find(|s| self.slot(*s).is_some_and(|x| &x.id == session))
    }

    /// A time on the server's clock (a signal's `deadline`) on ours.
    fn local_time(&self, server_ms: Millis) -> Millis {
        shift(server_ms, -self.clock_offset.unwrap_or(0))
    }

    /// Now on the server's clock, as well as we know it.
    fn server_now(&self) -> Millis {
        shift(self.now, self.clock_offset.unwrap_or(0))
    }

    fn remember_left(&mut self, session: SessionId) {
        if self.left.len() >= LEFT_MEMORY {
            self.left.remove(0);
        }
        self.left.push(session);
    }

    /// The state the sessions add up to.
    fn derived_state(&self) -> State {
        let live_connected = self.live.as_ref().is_some_and(Session::is_connected);
        if self.closed {
            State::Closed
        } else if live_connected {
            if self.handoff.is_some() {
                State::Handoff
            } else {
                State::Live
            }
        } else if self.handoff.is_some() || self.recovery.is_some() {
            State::Recovering
        } else if self.live.is_some() {
            State::Connecting
        } else {
            State::Idle
        }
    }

    fn sync_state(&mut self) {
        // Absence clocks restart when a move or recovery ends: whoever is still missing
        // then gets the full grace to turn up in the session we are now in.
        let paused = self.left_paused();
        if self.was_paused && !paused {
            self.participants.restart_absence(self.now);
        }
        self.was_paused = paused;
        let state = self.derived_state();
        if state != self.state {
            self.state = state;
            self.event(Event::StateChanged { state });
        }
    }

    /// Leaves every session joined or joining; nothing is emitted afterwards.
    fn close(&mut self) {
        // What waited to be released goes first: nothing is left behind.
        self.sweep_releases(release::Sweep::All);
        // Tiles first, so that no tile is left naming a subscriber that Disconnect destroys.
        let shown: Vec<ParticipantKey> = self
            .participants
            .views()
            .filter(|p| p.shown.is_some())
            .map(|p| p.key.clone())
            .collect();
        for key in shown {
            self.command(Command::Hide { key });
        }
        let open: Vec<SessionId> = [Slot::Live, Slot::Target]
            .into_iter()
            .filter_map(|s| self.slot(s).filter(|x| x.is_open()).map(|x| x.id.clone()))
            .collect();
        for session in open {
            // At once, not spaced: the call is going.
            self.out
                .push(Output::Command(Command::Disconnect { session }));
        }
        self.live = None;
        self.handoff = None;
        self.recovery = None;
        self.abandoned = None;
        self.participants.clear();
        self.closed = true;
        self.sync_state();
    }
}

/// `t + by`, saturating at 0 and `Millis::MAX` (plain integer ops: i128 would link its
/// formatting into the shipped wasm).
fn shift(t: Millis, by: i64) -> Millis {
    if by >= 0 {
        t.saturating_add(by.unsigned_abs())
    } else {
        t.saturating_sub(by.unsigned_abs())
    }
}
