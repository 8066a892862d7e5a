//! What goes into the engine and what comes out of it.
//!
//! This file is the contract between the engine (pure policy) and the web shell (all I/O).
//! The shell turns OT events into [`Input`]s, carries out every [`Command`] and hands every
//! [`Event`] to the app. All times are milliseconds passed in by the caller from a monotonic
//! clock (the shell's: `performance.now()`, shifted once to read as epoch ms), so durations
//! and timers never jump with the wall clock. A signal's `deadline` is epoch ms on the
//! server's clock: the engine reads it through the server's time at connect
//! ([`Input::Connected`]'s `server_time`).

use core::fmt;

use serde::Serialize;

use super::{HandoffError, MoveFields, Rejection};

/// Milliseconds on the caller's monotonic clock (read as epoch ms), always supplied by the
/// caller; the engine never reads a clock.
pub type Millis = u64;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A Video API session ID (`2_MX4...`).
    SessionId
);
id_type!(
    /// A connection ID, unique within a session. Differs between sessions for the same person.
    ConnectionId
);
id_type!(
    /// A stream ID, unique within a session.
    StreamId
);
id_type!(
    /// Identifies a participant across sessions (by default the connection's token `data`).
    ParticipantKey
);

/// Policy knobs. Every field has a default a user would expect; see [`Config::default`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The signal `type` that carries handoff requests.
    pub signal_type: String,
    /// Group mode: stay in the old session until every remote connection of it has appeared
    /// in the new one and (when publishing) has said that it shows everyone from there (the
    /// [`moved`](Config::moved_signal_type) signal), so peers that have not moved yet keep
    /// seeing and hearing us.
    pub group_mode: bool,
    /// Whether the client publishes its camera and microphone in every session it joins.
    pub publish: bool,
    /// Longest overlap of old and new session, counted from the new session's connect.
    pub max_overlap_ms: Millis,
    /// How long before a signal's `deadline` the old session is left at the latest.
    pub deadline_margin_ms: Millis,
    /// A connect attempt that has not succeeded by then counts as failed.
    pub connect_timeout_ms: Millis,
    /// First retry delay bound; each retry doubles it (full jitter: uniform in `[0, bound)`).
    pub retry_base_ms: Millis,
    /// The retry delay bound never exceeds this.
    pub retry_cap_ms: Millis,
    /// Connect attempts one session gets in a row before it is given up (a handoff's new
    /// session, or each step of a recovery).
    pub max_attempts: u32,
    /// A session is given up when its next attempt would start this long after its first.
    pub max_attempt_ms: Millis,
    /// The app's `tokenProvider` and `resolveSession` must answer within this; a later
    /// answer is ignored and the call counts as failed (`hookTimeout`).
    pub hook_timeout_ms: Millis,
    /// During a handoff, at most this many subscriptions in the new session may be waiting
    /// for their first frame; the other participants' new streams wait their turn (each
    /// still shown from the old session). Every new subscription sets up a peer connection,
    /// and with the old session's media still flowing a page that sets up all of them at
    /// once stalls its video (issue 13). `0`: no limit. A participant with nothing shown is
    /// subscribed at once.
    pub max_pending_subscribes: u32,
    /// The same bound for a routed session (media through the platform's media servers):
    /// there a new subscription is one more stream the server already has, not one more
    /// encode on the publisher's machine, and making them one at a time only added their
    /// set-up times up (measured: 8-9 s handoffs all at once against 10-11 s one at a time,
    /// three pages on two cores). A session whose mode is unknown is paced as relayed.
    pub max_pending_subscribes_routed: u32,
    /// A subscription stops counting as waiting this long after it was made, so one that
    /// never renders cannot hold the others back for longer.
    pub subscribe_pace_ms: Millis,
    /// How long a `participantSwapped` may wait for its frame gap ([`Input::SwapMeasured`]),
    /// counted from the swap; every event behind it waits with it, so the app's events stay
    /// in order. `0`: events are never held (the figure is the shell's business).
    pub swap_figure_wait_ms: Millis,
    /// Time between two commands that only release media (`Unsubscribe`, the `Disconnect` of
    /// a session left), the first that long after it was queued: each closes peer
    /// connections, which can hold a busy page for tens of milliseconds, and frames get
    /// painted in between (about three frames at 30 fps). `0`: released at once.
    pub release_spacing_ms: Millis,
    /// The app supplied a `tokenProvider(sessionId)`.
    pub has_token_provider: bool,
    /// The app supplied a `resolveSession(oldSessionId)` hook.
    pub has_resolve_session: bool,
}

impl Config {
    /// The signal a client sends into the new session once it shows every participant of the
    /// old one from there: `"<signal_type>-moved"`, data the old session's ID. A peer in
    /// group mode keeps publishing into the old session until every connection of it has
    /// said so (or left it). Before, it left once everyone had appeared in the new session,
    /// however far they were from showing its new stream: in the end-to-end tests an old
    /// stream outlived a viewer's swap event by as little as 9 ms, and nothing bounded it
    /// from below. A connection only speaks for itself (the server sets `from`), so a forged
    /// one can only cost its sender a frozen picture.
    pub fn moved_signal_type(&self) -> String {
        // Concatenated, not `format!`: the shipped wasm keeps `core::fmt` off this path.
        let mut kind = String::with_capacity(self.signal_type.len() + 6);
        kind.push_str(&self.signal_type);
        kind.push_str("-moved");
        kind
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            signal_type: "handoff".to_owned(),
            group_mode: true,
            publish: true,
            max_overlap_ms: 30_000,
            deadline_margin_ms: 2_000,
            connect_timeout_ms: 15_000,
            retry_base_ms: 500,
            retry_cap_ms: 8_000,
            max_attempts: 5,
            max_attempt_ms: 60_000,
            hook_timeout_ms: 10_000,
            max_pending_subscribes: 1,
            max_pending_subscribes_routed: 0,
            subscribe_pace_ms: 3_000,
            swap_figure_wait_ms: 0,
            release_spacing_ms: 100,
            has_token_provider: false,
            has_resolve_session: false,
        }
    }
}

/// Why a session ended, as the OT `sessionDisconnected` event says (plus what the shell saw).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[non_exhaustive]
pub enum DisconnectReason {
    ClientDisconnected,
    ForceDisconnected,
    NetworkDisconnected,
    MediaIdle,
    ServerRotation,
    /// A reason string the engine does not know.
    Other,
}

impl DisconnectReason {
    /// The vendor's reason string (`"other"` for [`DisconnectReason::Other`]).
    pub fn code(self) -> &'static str {
        match self {
            DisconnectReason::ClientDisconnected => "clientDisconnected",
            DisconnectReason::ForceDisconnected => "forceDisconnected",
            DisconnectReason::NetworkDisconnected => "networkDisconnected",
            DisconnectReason::MediaIdle => "mediaIdle",
            DisconnectReason::ServerRotation => "serverRotation",
            DisconnectReason::Other => "other",
        }
    }
}

/// A validated request to move to another session (from a handoff signal or from the app).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandoffRequest {
    pub session: SessionId,
    /// The client's token for `session`; without it the engine asks the token provider.
    pub token: Option<String>,
    /// Free text from the app server, e.g. `serverRotation`.
    pub reason: Option<String>,
    /// Epoch ms at which the old session will be destroyed.
    pub deadline: Option<Millis>,
    /// Each client waits uniformly in `[0, spread_ms)` before connecting.
    pub spread_ms: Millis,
    /// Optional ID of this move, echoed in events.
    pub id: Option<String>,
}

/// Something that happened, fed to [`crate::engine::Engine::handle`] with the current time.
///
/// The shell filters the client's own connection and own streams out of the session-level
/// events (`ConnectionCreated`, `StreamCreated`, ...); its own stream arrives as `Published`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The app joins its first session.
    Join {
        session: SessionId,
        token: Option<String>,
    },
    /// The app asks to move to another session (breakout rooms, region moves...).
    Move(HandoffRequest),
    /// `session.connect` succeeded; `connection` is this client's own connection, and
    /// `server_time` its `creationTime`: the server's clock (epoch ms) as it accepted us,
    /// which is what a signal's `deadline` is compared with (see [`crate::engine`] docs).
    /// `routed`: whether the session's media goes through the platform's media servers (the
    /// vendor's session info), `None` if the client did not say.
    Connected {
        session: SessionId,
        connection: ConnectionId,
        server_time: Option<Millis>,
        routed: Option<bool>,
    },
    /// `session.connect` failed: the vendor's error message and numeric code (1004, 1005,
    /// 1006, ...; see [`PERMANENT_CONNECT_CODES`]).
    ConnectFailed {
        session: SessionId,
        error: String,
        code: Option<u32>,
    },
    /// `sessionDisconnected` (also when the engine asked for the disconnect).
    SessionDisconnected {
        session: SessionId,
        reason: DisconnectReason,
    },
    /// A connection appeared in `session` (this client's own is told apart once connected).
    /// Its participant key is the app's `participantKey` answer if it gave a non-empty one,
    /// else the token `data` if not empty, else the connection ID.
    ConnectionCreated {
        session: SessionId,
        connection: ConnectionId,
        /// The connection's token data.
        data: Option<String>,
        /// What the app's `participantKey(connection)` returned.
        app_key: Option<String>,
    },
    /// A remote connection left `session`.
    ConnectionDestroyed {
        session: SessionId,
        connection: ConnectionId,
    },
    /// A remote stream appeared in `session`.
    StreamCreated {
        session: SessionId,
        stream: StreamId,
        connection: ConnectionId,
        has_video: bool,
    },
    /// A remote stream ended in `session`.
    StreamDestroyed {
        session: SessionId,
        stream: StreamId,
    },
    /// The subscriber to `stream` presented its first video frame on this client
    /// (for an audio-only stream: the subscriber connected).
    FirstFrame {
        session: SessionId,
        stream: StreamId,
    },
    /// Subscribing to `stream` failed.
    SubscribeFailed {
        session: SessionId,
        stream: StreamId,
        error: String,
    },
    /// This client's own stream is live in `session`.
    Published { session: SessionId },
    /// Publishing into `session` failed.
    PublishFailed { session: SessionId, error: String },
    /// The shell has measured the frame gap of `key`'s latest swap, or has nothing to measure
    /// (see [`Config::swap_figure_wait_ms`]).
    SwapMeasured { key: ParticipantKey },
    /// The signal a [`Command::Signal`] sent to `session` could not be sent.
    AnnounceFailed { session: SessionId, error: String },
    /// The vendor's client finished its own migration of `session` (the app passed
    /// `sessionMigration: true` and the platform rotated the session): the same session ID,
    /// every stream and subscription made again, the old paths closed. Nothing to do.
    Migrated { session: SessionId },
    /// A handoff signal ([`Config::signal_type`]) arrived in a session this client is in;
    /// `from` is `None` for server-originated signals. `body` is its `data` read as a move
    /// request, or why it could not be read ([`crate::engine::check_signal_text`], not a JSON
    /// object). Which session carried it does not matter: only the server can send one.
    Signal {
        from: Option<ConnectionId>,
        body: Result<MoveFields, Rejection>,
    },
    /// A peer's moved signal ([`Config::moved_signal_type`]) arrived in `session`; `data` is
    /// the session it says it moved from.
    Moved {
        session: SessionId,
        from: Option<ConnectionId>,
        data: String,
    },
    /// Answer to [`Command::RequestToken`].
    Token {
        session: SessionId,
        result: Result<String, HookError>,
    },
    /// Answer to [`Command::ResolveSession`]: `Ok(None)` means "rejoin the same session ID";
    /// a request is checked like every move ([`MoveFields::request`]).
    Resolved {
        old: SessionId,
        result: Result<Option<MoveFields>, HookError>,
    },
    /// The app closes the call: leave every session, emit nothing after `Closed`.
    Close,
}

/// The vendor's connect errors that no retry can fix: 1004 (authentication: a bad, expired
/// or foreign token), 1005 (invalid session ID: no such session, or destroyed), 1026 (terms
/// of service). Every other code (1006 connect failed, 2001, a timeout...) is retried.
pub const PERMANENT_CONNECT_CODES: [u32; 3] = [1004, 1005, 1026];

/// How an app hook (`tokenProvider`, `resolveSession`) failed: its error's message, and
/// whether it said that retrying cannot help (the session is unknown or forbidden: the shell
/// reads that from the error, see the README).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookError {
    pub detail: String,
    pub permanent: bool,
}

impl From<&str> for HookError {
    /// A transient failure with this message.
    fn from(detail: &str) -> Self {
        HookError::transient(detail)
    }
}

impl HookError {
    pub fn transient(detail: impl Into<String>) -> Self {
        HookError {
            detail: detail.into(),
            permanent: false,
        }
    }

    pub fn permanent(detail: impl Into<String>) -> Self {
        HookError {
            detail: detail.into(),
            permanent: true,
        }
    }
}

/// One thing the engine produced, drained with [`crate::engine::Engine::poll_output`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Command(Command),
    Event(Event),
}

/// I/O the shell must carry out, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `OT.initSession(...)` (with handlers) and `session.connect(token)`.
    Connect { session: SessionId, token: String },
    /// Leave `session` (destroys its publisher and subscribers, removes its handlers).
    Disconnect { session: SessionId },
    /// Make the publisher for `session` (clones of the local camera and microphone tracks)
    /// without publishing it: the connect is still under way. It lives as long as the connect
    /// attempt: dropped when that fails, published by the [`Command::Publish`] that follows
    /// a success. Repeated for each attempt (one already made is kept).
    PreparePublish { session: SessionId },
    /// Publish into `session` with clones of the local camera and microphone tracks (the
    /// prepared publisher, if there is one).
    Publish { session: SessionId },
    /// Subscribe to `key`'s `stream`, hidden and muted until a [`Command::Show`] names it.
    Subscribe {
        session: SessionId,
        stream: StreamId,
        key: ParticipantKey,
    },
    /// Destroy the subscriber to `stream` (it is already hidden and muted).
    Unsubscribe {
        session: SessionId,
        stream: StreamId,
    },
    /// In one step: make this subscriber the visible and audible source in `key`'s tile, and
    /// hide and mute `replaces` (which is unsubscribed by a following command).
    ///
    /// `replaces` is the tile's previous source, named even when it is already gone (its
    /// stream ended or its session dropped): then no `Unsubscribe` follows and the shell
    /// has nothing to mute. The new source may not have rendered yet when the old one is
    /// gone (that beats a blank tile).
    Show {
        key: ParticipantKey,
        session: SessionId,
        stream: StreamId,
        replaces: Option<(SessionId, StreamId)>,
    },
    /// Stop showing anything in `key`'s tile (its last stream ended).
    Hide { key: ParticipantKey },
    /// Call the app's `tokenProvider(session)`; answer with [`Input::Token`].
    RequestToken { session: SessionId },
    /// Call the app's `resolveSession(old)`; answer with [`Input::Resolved`].
    ResolveSession { old: SessionId },
    /// Send a signal of `kind` with `data` to every connection of `session`; a failure comes
    /// back as [`Input::AnnounceFailed`] (the only signal the engine sends is
    /// [`Config::moved_signal_type`]).
    Signal {
        session: SessionId,
        kind: String,
        data: String,
    },
}

/// The call's overall state, as the app sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[cfg_attr(target_arch = "wasm32", tsify(rename = "CallState"))]
pub enum State {
    Idle,
    Connecting,
    Live,
    Handoff,
    Recovering,
    Closed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::Connecting => "connecting",
            State::Live => "live",
            State::Handoff => "handoff",
            State::Recovering => "recovering",
            State::Closed => "closed",
        }
    }
}

/// What the app is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    StateChanged {
        state: State,
    },
    HandoffStarted {
        from: SessionId,
        to: SessionId,
        reason: Option<String>,
        id: Option<String>,
    },
    /// `key` is now shown and heard from `to` (the shell adds the measured frame gap).
    ParticipantSwapped {
        key: ParticipantKey,
        from: SessionId,
        to: SessionId,
    },
    /// The old session was left; `overlap_ms` counts from the new session's connect.
    HandoffCompleted {
        from: SessionId,
        to: SessionId,
        duration_ms: Millis,
        overlap_ms: Millis,
        /// Why the old session was left: every rule held, or which bound ended the overlap.
        ended_by: LeaveCause,
    },
    HandoffFailed {
        to: SessionId,
        error: HandoffError,
        will_retry: bool,
        /// When the next attempt starts (the engine's clock), when `will_retry`.
        next_attempt_at: Option<Millis>,
        /// Why there is no next attempt, when not `will_retry`.
        stopped: Option<StopCause>,
    },
    /// The live session was lost without a handoff under way; the engine is recovering.
    RecoveryStarted {
        session: SessionId,
        reason: DisconnectReason,
    },
    SignalRejected {
        rejection: Rejection,
    },
    /// Subscribing to `key`'s stream in `session` failed (the vendor's error in `detail`).
    /// The participant stays shown from the other session where they have a stream there.
    SubscribeFailed {
        key: Option<ParticipantKey>,
        session: SessionId,
        stream: StreamId,
        detail: String,
    },
    /// Telling the peers in `session` that this client shows them all from there (see
    /// [`Config::moved_signal_type`]) failed: they keep publishing into the old session for
    /// us until their overlap bound.
    AnnounceFailed {
        session: SessionId,
        detail: String,
    },
    /// The vendor's client finished migrating `session`, a session this client is in (see
    /// [`Input::Migrated`]); the shell adds the largest frame gap of the tiles during it.
    SessionMigrated {
        session: SessionId,
    },
    /// A connection appeared in `session` whose participant key another live connection there
    /// already has (one user on two devices, or a page claiming another's identity). It is
    /// shown in a tile of its own, as `shown_as`, never hidden behind the other.
    DuplicateKey {
        session: SessionId,
        key: ParticipantKey,
        connection: ConnectionId,
        shown_as: ParticipantKey,
    },
    /// `session` has as many remote connections or streams as the engine tracks per session
    /// ([`MAX_CONNECTIONS`], [`MAX_STREAMS`]): this one (`what`: `"connections"` or
    /// `"streams"`) is ignored, neither shown nor subscribed to.
    ///
    /// [`MAX_CONNECTIONS`]: super::MAX_CONNECTIONS
    /// [`MAX_STREAMS`]: super::MAX_STREAMS
    TrackingCapped {
        session: SessionId,
        what: &'static str,
    },
    /// A participant appeared for the first time (never re-emitted when they move sessions).
    ParticipantJoined {
        key: ParticipantKey,
    },
    /// A participant is gone from every session this client is in.
    ParticipantLeft {
        key: ParticipantKey,
    },
    /// The call ended without the app closing it: this client was force-disconnected (or
    /// the session was disconnected outside the engine). `StateChanged { Closed }` follows
    /// and nothing more is emitted.
    SessionEnded {
        session: SessionId,
        reason: DisconnectReason,
    },
}

/// Why a session gets no more connect attempts (a handoff given up, or a recovery step).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
pub enum StopCause {
    /// The error cannot be fixed by retrying (the vendor's 1004/1005, no token, a hook that
    /// said the session is unknown or forbidden).
    Permanent,
    /// [`Config::max_attempts`] attempts failed.
    MaxAttempts,
    /// The next attempt would start [`Config::max_attempt_ms`] after the first.
    MaxDuration,
    /// The next attempt would start after the signal's deadline (minus the margin).
    Deadline,
}

/// Why the old session was left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
pub enum LeaveCause {
    /// Own stream live in the new session, every participant moved, every connection present.
    AllMoved,
    /// The maximum overlap ran out.
    MaxOverlap,
    /// The signal's deadline (minus the safety margin) came.
    Deadline,
    /// The old session was destroyed or dropped under us.
    OldSessionLost,
}
