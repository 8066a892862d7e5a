//! Property test: random sequences of inputs (garbage and forged signals, out-of-order and
//! repeated events, random shell answers, time jumps back and forth) with the invariants
//! checked after every step:
//!
//! - no panic;
//! - at most one shown (visible and audible) source per participant, and it is a live
//!   subscriber of that participant's stream (the model shell applies Show/Hide/
//!   Unsubscribe/Disconnect, and OT's own removal of subscribers on stream/session end);
//! - a participant with a subscribed video stream (one the engine subscribed and has not
//!   unsubscribed, whose stream and session still exist) has a shown source;
//! - during a handoff the old session is never reconnected or disconnected except to
//!   leave it (a publish retry there, scheduled before the move, may go on), and left only when a cause holds: all moved (own stream published
//!   in the new session, no tile showing the old one), the overlap or deadline bound has
//!   come, or the old session was lost;
//! - nothing is emitted after `closed`, and no timer stays armed;
//! - every attempt sequence ends within its bounds: at most `max_attempts` connect
//!   failures in a row for one session before it is given up, never a retry scheduled
//!   `max_attempt_ms` or more after the first failure, nothing retried after a permanent
//!   error (the vendor's 1004/1005, a hook saying so);
//! - a hook's question (token provider, `resolveSession`) never waits longer than the hook
//!   timeout: while one is unanswered a timer is armed no later than that.
//!
//! The random inputs include the vendor's permanent and transient error codes, hooks that
//! answer, fail (permanently or not) or never answer, a second device with a participant's
//! key, and a server clock minutes off ours.
//!
//! `cargo test --test engine_props -- --nocapture` shows `engine props: N sequences, M steps`.
#![cfg(not(target_arch = "wasm32"))] // native only: proptest and serde_json are native dev-dependencies

#[path = "engine/harness.rs"]
mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use harness::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};
use video_handoff::engine::*;

const SESSIONS: [&str; 3] = ["A", "B", "C"];
const PEOPLE: [&str; 3] = ["p1", "p2", "p3"];
const SEQUENCES: u32 = 400;

#[derive(Clone, Debug)]
enum Body {
    Valid {
        to: usize,
        token: bool,
        deadline_in: Option<u64>,
        spread: u64,
    },
    Garbage(String),
}

#[derive(Clone, Debug)]
enum Step {
    Join(usize),
    Connected(usize),
    /// A connect failure with the vendor's code: none, 1006 (transient), 1004 or 1005.
    ConnectFailed(usize, u8),
    Lost(usize, u8),
    /// Answer the shell's oldest pending connect.
    AnswerConnect(bool),
    Connection(usize, usize),
    /// A second connection with a participant's key (another device, or an impostor).
    SecondDevice(usize, usize),
    /// A participant's connection or stream in the session the engine is moving to (or
    /// live in): the world following the engine, so that swaps happen often.
    InTarget(usize, Option<u8>),
    InLive(usize, Option<u8>),
    /// A participant's moved signal in the session being moved to: about the live session
    /// (`true`) or some other one.
    MovedInTarget(usize, bool),
    ConnectionGone(usize, usize),
    Stream(usize, usize, u8, bool),
    StreamGone(usize, usize, u8),
    FirstFrame(usize, usize, u8),
    /// A first frame for the i-th current subscriber.
    RenderSubscriber(usize),
    /// A first frame for a current subscriber in the session being moved to.
    RenderInTarget(usize),
    SubscribeFailed(usize, usize, u8),
    Published(usize),
    PublishFailed(usize),
    Signal {
        session: usize,
        from_client: bool,
        ours: bool,
        body: Body,
    },
    /// A token answer: 0 ok, 1 transient failure, 2 permanent failure.
    Token(usize, u8),
    Resolved(u8, usize),
    Move(usize),
    Advance(u64),
    FireTimer,
    Rewind(u64),
    Close,
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        4 => (0..3usize, any::<bool>(), prop::option::of(0..40_000u64), prop_oneof![Just(0u64), 0..5_000u64])
            .prop_map(|(to, token, deadline_in, spread)| Body::Valid { to, token, deadline_in, spread }),
        1 => "\\PC{0,40}".prop_map(Body::Garbage),
        1 => prop::sample::select(vec![
            r#"{"v":2,"sessionId":"B"}"#, r#"{"v":1}"#, r#"{"v":1,"sessionId":""}"#, r#"{"v":1,"sessionId":7}"#,
            r#"{"v":1,"sessionId":"B","spreadMs":-1}"#, r#"[1]"#, r#"{"v":1,"sessionId":"B","token":1}"#,
            r#"{"v":1,"sessionId":"B","deadline":1}"#, r#"{"v":1,"sessionId":"B"}"#,
        ]).prop_map(|s| Body::Garbage(s.to_string())),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let s = 0..3usize;
    let p = 0..3usize;
    let n = 0..2u8;
    prop_oneof![
        1 => s.clone().prop_map(Step::Join),
        2 => s.clone().prop_map(Step::Connected),
        1 => (s.clone(), 0..4u8).prop_map(|(s, c)| Step::ConnectFailed(s, c)),
        1 => (s.clone(), 0..6u8).prop_map(|(s, r)| Step::Lost(s, r)),
        8 => prop::bool::weighted(0.85).prop_map(Step::AnswerConnect),
        6 => (s.clone(), p.clone()).prop_map(|(s, p)| Step::Connection(s, p)),
        1 => (s.clone(), p.clone()).prop_map(|(s, p)| Step::SecondDevice(s, p)),
        2 => (s.clone(), p.clone()).prop_map(|(s, p)| Step::ConnectionGone(s, p)),
        8 => (p.clone(), prop::option::of(0..2u8)).prop_map(|(p, n)| Step::InTarget(p, n)),
        4 => (p.clone(), prop::option::of(0..2u8)).prop_map(|(p, n)| Step::InLive(p, n)),
        4 => (p.clone(), prop::bool::weighted(0.8)).prop_map(|(p, about_live)| Step::MovedInTarget(p, about_live)),
        6 => (s.clone(), p.clone(), n.clone(), prop::bool::weighted(0.8)).prop_map(|(s, p, n, v)| Step::Stream(s, p, n, v)),
        2 => (s.clone(), p.clone(), n.clone()).prop_map(|(s, p, n)| Step::StreamGone(s, p, n)),
        2 => (s.clone(), p.clone(), n.clone()).prop_map(|(s, p, n)| Step::FirstFrame(s, p, n)),
        4 => any::<usize>().prop_map(Step::RenderSubscriber),
        6 => any::<usize>().prop_map(Step::RenderInTarget),
        1 => (s.clone(), p.clone(), n).prop_map(|(s, p, n)| Step::SubscribeFailed(s, p, n)),
        3 => s.clone().prop_map(Step::Published),
        1 => s.clone().prop_map(Step::PublishFailed),
        3 => (s.clone(), prop::bool::weighted(0.15), prop::bool::weighted(0.9), body())
            .prop_map(|(session, from_client, ours, body)| Step::Signal { session, from_client, ours, body }),
        2 => (s.clone(), 0..3u8).prop_map(|(s, k)| Step::Token(s, k)),
        1 => (0..3u8, s.clone()).prop_map(|(k, s)| Step::Resolved(k, s)),
        1 => s.prop_map(Step::Move),
        4 => prop_oneof![4 => 0..100u64, 2 => 0..5_000u64, 1 => 0..60_000u64].prop_map(Step::Advance),
        2 => Just(Step::FireTimer),
        1 => (0..10_000u64).prop_map(Step::Rewind),
        1 => prop::bool::weighted(0.1).prop_map(|close| if close { Step::Close } else { Step::FireTimer }),
    ]
}

/// The peers doing their part of a move at once, as clients of this SDK do: each appears in
/// the session being moved to with a stream, renders here, and says it moved. Without it the
/// random steps rarely line all of that up, and the leave rule's every-rule-holds path
/// (`allMoved`) would be rare.
fn peers_follow() -> Vec<Step> {
    let mut steps = Vec::new();
    for p in 0..PEOPLE.len() {
        steps.push(Step::InTarget(p, None));
        steps.push(Step::InTarget(p, Some(0)));
    }
    for k in 0..PEOPLE.len() {
        steps.push(Step::RenderInTarget(k));
    }
    for p in 0..PEOPLE.len() {
        steps.push(Step::MovedInTarget(p, true));
    }
    steps
}

/// A sequence: single steps, now and then [`peers_follow`].
fn sequence() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            30 => step().prop_map(|s| vec![s]),
            1 => Just(peers_follow()),
        ],
        20..200,
    )
    .prop_map(|chunks| chunks.into_iter().flatten().collect())
}

/// A configuration, and the server's clock minus ours (up to ten minutes either way).
fn config() -> impl Strategy<Value = (Config, i64)> {
    (
        any::<bool>(),
        prop::bool::weighted(0.8),
        any::<bool>(),
        any::<bool>(),
        1..60_000u64,
        0..3_000u64,
        1..30_000u64,
        (1..8u32, 1..120_000u64, 1..30_000u64, -600_000..600_000i64),
    )
        .prop_map(
            |(
                group_mode,
                publish,
                has_token_provider,
                has_resolve_session,
                max_overlap_ms,
                margin,
                timeout,
                (max_attempts, max_attempt_ms, hook_timeout_ms, skew),
            )| {
                (
                    Config {
                        group_mode,
                        publish,
                        has_token_provider,
                        has_resolve_session,
                        max_overlap_ms,
                        deadline_margin_ms: margin,
                        connect_timeout_ms: timeout,
                        max_attempts,
                        max_attempt_ms,
                        hook_timeout_ms,
                        ..Config::default()
                    },
                    skew,
                )
            },
        )
}

fn reason(r: u8) -> DisconnectReason {
    match r {
        0 => DisconnectReason::ServerRotation,
        1 => DisconnectReason::NetworkDisconnected,
        2 => DisconnectReason::ForceDisconnected,
        3 => DisconnectReason::ClientDisconnected,
        4 => DisconnectReason::MediaIdle,
        _ => DisconnectReason::Other,
    }
}

fn stream_id(p: usize, s: usize, n: u8) -> StreamId {
    StreamId::from(format!("{}-cam{n}@{}", PEOPLE[p], SESSIONS[s]))
}

/// What the property checks remember across steps.
#[derive(Default)]
struct Memory {
    /// The engine's time: the latest it has been given.
    max_now: Millis,
    /// Sessions with a `Connect` not yet answered, failed or abandoned (oldest first).
    awaiting: Vec<SessionId>,
    connected_at: BTreeMap<SessionId, Millis>,
    published_since_connect: BTreeMap<SessionId, bool>,
    deadline: BTreeMap<SessionId, Option<Millis>>,
    /// Moved signals fed: (session, from connection, data).
    moved: BTreeSet<(SessionId, ConnectionId, String)>,
    /// Connections announced while the engine was connected to their session (OT announces
    /// a session's connections only once connected; the random steps also send them early,
    /// which the engine rightly ignores).
    told: BTreeSet<(SessionId, ConnectionId)>,
    /// Per session: connect failures reported in a row (since it last connected, a move to
    /// it started, or it was given up), and the engine time of the first.
    failures: BTreeMap<SessionId, (u32, Millis)>,
    /// Hook questions not answered yet: session -> when asked.
    asked: BTreeMap<SessionId, Millis>,
}

fn input_for(h: &Harness, mem: &Memory, step: &Step) -> Option<Input> {
    let s = |i: usize| sid(SESSIONS[i]);
    Some(match step.clone() {
        Step::Join(i) => Input::Join {
            session: s(i),
            token: Some(format!("t-{}", SESSIONS[i])),
        },
        Step::Connected(i) => Input::Connected {
            session: s(i),
            connection: conn("me", SESSIONS[i]),
            server_time: Some(h.now.saturating_add_signed(h.server_skew)),
        },
        Step::ConnectFailed(i, c) => Input::ConnectFailed {
            session: s(i),
            error: "E".into(),
            code: [None, Some(1006), Some(1004), Some(1005)][usize::from(c)],
        },
        Step::Lost(i, r) => Input::SessionDisconnected {
            session: s(i),
            reason: reason(r),
        },
        Step::AnswerConnect(ok) => {
            let session = mem.awaiting.first()?.clone();
            if ok {
                let c = conn("me", session.as_str());
                Input::Connected {
                    session,
                    connection: c,
                    server_time: Some(h.now.saturating_add_signed(h.server_skew)),
                }
            } else {
                Input::ConnectFailed {
                    session,
                    error: "E".into(),
                    code: None,
                }
            }
        }
        Step::Connection(i, p) => Input::ConnectionCreated {
            session: s(i),
            connection: conn(PEOPLE[p], SESSIONS[i]),
            data: Some(PEOPLE[p].to_owned()),
            app_key: None,
        },
        Step::SecondDevice(i, p) => Input::ConnectionCreated {
            session: s(i),
            connection: ConnectionId::from(format!("{}-2@{}", PEOPLE[p], SESSIONS[i])),
            data: Some(PEOPLE[p].to_owned()),
            app_key: None,
        },
        Step::InTarget(p, n) | Step::InLive(p, n) => {
            let target = matches!(step, Step::InTarget(..));
            let session = if target {
                h.engine.target_session()
            } else {
                h.engine.live_session()
            }?
            .clone();
            let connection = conn(PEOPLE[p], session.as_str());
            match n {
                None => Input::ConnectionCreated {
                    session,
                    connection,
                    data: Some(PEOPLE[p].to_owned()),
                    app_key: None,
                },
                Some(n) => Input::StreamCreated {
                    stream: StreamId::from(format!("{}-cam{n}@{}", PEOPLE[p], session)),
                    session,
                    connection,
                    has_video: true,
                    has_audio: true,
                },
            }
        }
        Step::MovedInTarget(p, about_live) => {
            let session = h.engine.target_session()?.clone();
            let data = match (about_live, h.engine.live_session()) {
                (true, Some(live)) => live.to_string(),
                _ => "elsewhere".to_owned(),
            };
            Input::Moved {
                from: Some(conn(PEOPLE[p], session.as_str())),
                session,
                data,
            }
        }
        Step::ConnectionGone(i, p) => Input::ConnectionDestroyed {
            session: s(i),
            connection: conn(PEOPLE[p], SESSIONS[i]),
        },
        Step::Stream(i, p, n, video) => Input::StreamCreated {
            session: s(i),
            stream: stream_id(p, i, n),
            connection: conn(PEOPLE[p], SESSIONS[i]),
            has_video: video,
            has_audio: true,
        },
        Step::StreamGone(i, p, n) => Input::StreamDestroyed {
            session: s(i),
            stream: stream_id(p, i, n),
        },
        Step::FirstFrame(i, p, n) => Input::FirstFrame {
            session: s(i),
            stream: stream_id(p, i, n),
        },
        Step::RenderSubscriber(k) => {
            let subs: Vec<_> = h.shell.subs.iter().cloned().collect();
            let (session, stream) = subs.get(k % subs.len().max(1))?.clone();
            Input::FirstFrame { session, stream }
        }
        Step::RenderInTarget(k) => {
            let target = h.engine.target_session()?;
            let subs: Vec<_> = h
                .shell
                .subs
                .iter()
                .filter(|(s, _)| s == target)
                .cloned()
                .collect();
            let (session, stream) = subs.get(k % subs.len().max(1))?.clone();
            Input::FirstFrame { session, stream }
        }
        Step::SubscribeFailed(i, p, n) => Input::SubscribeFailed {
            session: s(i),
            stream: stream_id(p, i, n),
            error: "E".into(),
        },
        Step::Published(i) => Input::Published {
            session: s(i),
            stream: cam("me", SESSIONS[i]),
        },
        Step::PublishFailed(i) => Input::PublishFailed {
            session: s(i),
            error: "E".into(),
        },
        // The shell only listens for the handoff signal type: other types never reach the engine.
        Step::Signal { ours: false, .. } => return None,
        Step::Signal {
            session,
            from_client,
            ours: true,
            body,
        } => Input::Signal {
            session: s(session),
            from: from_client.then(|| conn("p1", SESSIONS[session])),
            body: wire(&match body {
                Body::Valid {
                    to,
                    token,
                    deadline_in,
                    spread,
                } => {
                    let mut d = format!(
                        r#"{{"v":1,"sessionId":"{}","spreadMs":{spread}"#,
                        SESSIONS[to]
                    );
                    if token {
                        d.push_str(&format!(r#","token":"t-{}""#, SESSIONS[to]));
                    }
                    if let Some(x) = deadline_in {
                        // On the server's clock, as the app server sends it.
                        let server_now = h.now.saturating_add_signed(h.server_skew);
                        d.push_str(&format!(r#","deadline":{}"#, server_now + x));
                    }
                    d.push('}');
                    d
                }
                Body::Garbage(g) => g,
            }),
        },
        Step::Token(i, k) => Input::Token {
            session: s(i),
            result: match k {
                0 => Ok("tok".into()),
                1 => Err(HookError::transient("E")),
                _ => Err(HookError::permanent("unknownSession")),
            },
        },
        Step::Resolved(k, i) => Input::Resolved {
            old: s(i),
            result: match k {
                0 => Ok(None),
                1 => Err(HookError::transient("E")),
                _ => Ok(Some(MoveFields {
                    token: Field::from("tr"),
                    ..MoveFields::to(SESSIONS[(i + 1) % 3])
                })),
            },
        },
        Step::Move(i) => Input::Move(HandoffRequest {
            session: s(i),
            token: Some(format!("t-{}", SESSIONS[i])),
            reason: None,
            deadline: None,
            spread_ms: 0,
            id: None,
        }),
        Step::Close => Input::Close,
        Step::Advance(_) | Step::FireTimer | Step::Rewind(_) => return None,
    })
}

/// What the sequences got up to, to show that they reach the interesting paths.
static COMPLETED: AtomicUsize = AtomicUsize::new(0);
static ALL_MOVED: AtomicUsize = AtomicUsize::new(0);
static SWAPPED: AtomicUsize = AtomicUsize::new(0);
static RECOVERIES: AtomicUsize = AtomicUsize::new(0);
static FAILURES: AtomicUsize = AtomicUsize::new(0);

fn count(outs: &[Output]) {
    for e in events(outs) {
        if matches!(
            e,
            Event::HandoffCompleted {
                ended_by: LeaveCause::AllMoved,
                ..
            }
        ) {
            ALL_MOVED.fetch_add(1, Ordering::Relaxed);
        }
        let counter = match e {
            Event::HandoffCompleted { .. } => &COMPLETED,
            Event::ParticipantSwapped { .. } => &SWAPPED,
            Event::RecoveryStarted { .. } => &RECOVERIES,
            Event::HandoffFailed { .. } => &FAILURES,
            _ => continue,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

fn run_sequence(
    (config, skew): (Config, i64),
    seed: u64,
    live_call: bool,
    steps: &[Step],
) -> Result<(), TestCaseError> {
    let mut h = Harness::with_seed(config.clone(), seed);
    h.server_skew = skew;
    let mut mem = Memory {
        max_now: h.now,
        ..Memory::default()
    };
    h.join("A");
    if live_call {
        // Most sequences start from a call under way: live in A with p1 and p2 shown.
        h.connected("A");
        h.arrives("p1", "A");
        h.arrives("p2", "A");
    } else {
        mem.awaiting.push(sid("A"));
    }
    for step in steps {
        let prev_state = h.engine.state();
        let prev_live = h.engine.live_session().cloned();
        let prev_target = h.engine.target_session().cloned();
        let input = input_for(&h, &mem, step);
        // A connect or hook question this step answered (for the bounds check).
        let answered = match &input {
            Some(Input::Connected { session, .. }) => Some((session.clone(), true)),
            Some(Input::Token { session, .. }) => Some((session.clone(), false)),
            _ => None,
        };
        let outs = match (step, input) {
            (Step::Advance(ms), _) => h.advance(*ms),
            (Step::FireTimer, _) => match h.engine.poll_timeout() {
                Some(_) => h.fire_timer(),
                None => Vec::new(),
            },
            (Step::Rewind(ms), _) => {
                h.now = h.now.saturating_sub(*ms);
                Vec::new()
            }
            (_, Some(input)) => {
                match &input {
                    Input::Connected { session, .. } if mem.awaiting.contains(session) => {
                        mem.published_since_connect.insert(session.clone(), false);
                    }
                    Input::Published { session, .. } => {
                        mem.published_since_connect.insert(session.clone(), true);
                    }
                    _ => {}
                }
                let pending_deadline = match &input {
                    Input::Signal { body, .. } => body
                        .clone()
                        .ok()
                        .and_then(|b| b.signal().ok())
                        .map(|r| (r.session, r.deadline)),
                    Input::Move(r) => Some((r.session.clone(), r.deadline)),
                    _ => None,
                };
                match &input {
                    Input::Moved {
                        session,
                        from: Some(c),
                        data,
                    } => {
                        mem.moved.insert((session.clone(), c.clone(), data.clone()));
                    }
                    // Told while connecting counts too: the engine takes those in on connect.
                    Input::ConnectionCreated {
                        session,
                        connection,
                        ..
                    } if h.shell.open.contains(session) => {
                        mem.told.insert((session.clone(), connection.clone()));
                    }
                    Input::ConnectionDestroyed {
                        session,
                        connection,
                    } => {
                        mem.told.remove(&(session.clone(), connection.clone()));
                    }
                    Input::SessionDisconnected { session, .. } => {
                        mem.told.retain(|(s, _)| s != session);
                    }
                    _ => {}
                }
                let outs = h.input(input.clone());
                if let Some((s, d)) = pending_deadline {
                    if outs.iter().any(|o| matches!(o, Output::Event(Event::HandoffStarted { to, .. }) if to == &s)) {
                        mem.deadline.insert(s, d);
                    }
                }
                match &input {
                    Input::Connected { session, .. } if mem.awaiting.contains(session) => {
                        mem.connected_at.insert(session.clone(), h.engine_now);
                        mem.awaiting.retain(|s| s != session);
                    }
                    Input::ConnectFailed { session, .. }
                    | Input::SessionDisconnected { session, .. } => {
                        mem.awaiting.retain(|s| s != session);
                    }
                    _ => {}
                }
                outs
            }
            (_, None) => Vec::new(),
        };
        mem.max_now = h.engine_now;
        count(&outs);
        if std::env::var_os("ENGINE_PROPS_TRACE").is_some() {
            eprintln!("{step:?} at {} -> {outs:?}", h.now);
        }
        for c in commands(&outs) {
            match c {
                Command::Connect { session, .. } => {
                    // A new connection: what the last attempt was told is forgotten.
                    mem.told.retain(|(s, _)| s != &session);
                    mem.awaiting.push(session);
                }
                Command::Disconnect { session } => mem.awaiting.retain(|s| s != &session),
                _ => {}
            }
        }
        check_old_session_rules(&h, &config, &mem, prev_state, prev_live, prev_target, &outs)?;
        check_bounds(&h, &config, &mut mem, answered, &outs)?;
    }
    Ok(())
}

/// Every attempt sequence ends within its bounds; no hook question outlives its timeout.
fn check_bounds(
    h: &Harness,
    config: &Config,
    mem: &mut Memory,
    answered: Option<(SessionId, bool)>,
    outs: &[Output],
) -> Result<(), TestCaseError> {
    let now = h.engine_now;
    if let Some((s, connected)) = answered {
        mem.asked.remove(&s);
        if connected {
            mem.failures.remove(&s);
        }
    }
    for o in outs {
        match o {
            Output::Event(Event::HandoffStarted { to, .. }) => {
                mem.failures.remove(to);
            }
            // One question at a time: a new one supersedes the last.
            Output::Command(Command::RequestToken { session }) => {
                mem.asked.clear();
                mem.asked.insert(session.clone(), now);
            }
            // Connecting now: whatever was asked was answered or superseded (the engine
            // joins one session at a time, its question being about that one).
            Output::Command(Command::Connect { .. }) => {
                mem.asked.clear();
            }
            Output::Command(Command::ResolveSession { old }) => {
                mem.asked.clear();
                mem.asked.insert(old.clone(), now);
            }
            Output::Event(Event::HandoffFailed {
                to,
                error,
                will_retry,
                next_attempt_at,
                stopped,
            }) => {
                let is_resolve = matches!(
                    error,
                    HandoffError::ResolveFailed { .. }
                        | HandoffError::HookTimeout {
                            hook: Hook::ResolveSession
                        }
                );
                if is_resolve || matches!(error, HandoffError::PublishFailed { .. }) {
                    mem.asked.remove(to);
                    continue;
                }
                mem.asked.remove(to);
                prop_assert!(
                    !(error.permanent() && *will_retry),
                    "{error:?} is permanent, yet retried"
                );
                let (n, first) = mem.failures.entry(to.clone()).or_insert((0, now));
                *n += 1;
                if *will_retry {
                    prop_assert!(
                        *n < config.max_attempts,
                        "{to}: failure {n} of {} and still retrying",
                        config.max_attempts
                    );
                    let next = next_attempt_at.unwrap_or(now);
                    prop_assert!(
                        next < first.saturating_add(config.max_attempt_ms),
                        "{to}: a retry at {next}, {} ms after the first failure",
                        next - *first
                    );
                } else {
                    prop_assert!(stopped.is_some(), "given up without saying why");
                    mem.failures.remove(to);
                }
            }
            _ => {}
        }
    }
    // Questions about a session the engine no longer tries to join are moot: in state
    // live none is pending, during a handoff only the new session's.
    match h.engine.state() {
        State::Live | State::Idle | State::Closed => mem.asked.clear(),
        State::Handoff => {
            let target = h.engine.target_session().cloned();
            mem.asked.retain(|s, _| Some(s) == target.as_ref());
        }
        State::Connecting | State::Recovering => {}
    }
    if !h.closed {
        if let Some(asked_at) = mem.asked.values().min() {
            let bound = asked_at.saturating_add(config.hook_timeout_ms);
            let timer = h.engine.poll_timeout();
            prop_assert!(
                timer.is_some_and(|t| t <= bound.max(now)),
                "a hook question from {asked_at} waits with no timer by {bound} ({timer:?})"
            );
        }
    } else {
        mem.asked.clear();
    }
    Ok(())
}

/// During a handoff the old session is left only for a reason, and otherwise untouched.
fn check_old_session_rules(
    h: &Harness,
    config: &Config,
    mem: &Memory,
    prev_state: State,
    prev_live: Option<SessionId>,
    prev_target: Option<SessionId>,
    outs: &[Output],
) -> Result<(), TestCaseError> {
    let (State::Handoff, Some(a), Some(b)) = (prev_state, prev_live, prev_target) else {
        return Ok(());
    };
    let closed = outs.contains(&Output::Event(Event::StateChanged {
        state: State::Closed,
    }));
    // A was lost in this step: if the move cannot go on either, recovery may rejoin it.
    let a_lost = events(outs)
        .iter()
        .any(|e| matches!(e, Event::RecoveryStarted { session, .. } if *session == a));
    for c in commands(outs) {
        match c.clone() {
            // (A publish retry in the old session, scheduled before the move, may go on.)
            Command::Connect { session, .. } if session == a => {
                prop_assert!(
                    closed || a_lost,
                    "{c:?} touched the old session during the handoff"
                );
            }
            Command::Disconnect { session } if session == a && !closed => {
                let completed = events(outs).into_iter().find_map(|e| match e {
                    Event::HandoffCompleted {
                        from, to, ended_by, ..
                    } if from == a => Some((to, ended_by)),
                    _ => None,
                });
                let Some((to, cause)) = completed else {
                    return Err(TestCaseError::fail(format!(
                        "old session {a} disconnected without completing"
                    )));
                };
                let now = mem.max_now;
                match cause {
                    LeaveCause::AllMoved => {
                        prop_assert!(
                            !config.publish
                                || mem
                                    .published_since_connect
                                    .get(&to)
                                    .copied()
                                    .unwrap_or(false),
                            "left {a} before our stream was live in {to}"
                        );
                        // Group mode: everyone still in A said, from B, that they moved from A.
                        if config.group_mode && config.publish {
                            for ((s, c), k) in &h.world.connections {
                                if s != &a || !mem.told.contains(&(s.clone(), c.clone())) {
                                    continue;
                                }
                                let said = mem.moved.iter().any(|(ms, c, data)| {
                                    ms == &to
                                        && data == a.as_str()
                                        && h.world.connections.get(&(to.clone(), c.clone()))
                                            == Some(k)
                                });
                                prop_assert!(
                                    said,
                                    "left {a} while {k} there had not said it moved to {to}"
                                );
                            }
                        }
                    }
                    LeaveCause::MaxOverlap => {
                        let at = mem.connected_at.get(&to).copied().unwrap_or(Millis::MAX);
                        prop_assert!(
                            now >= at.saturating_add(config.max_overlap_ms),
                            "overlap bound too early"
                        );
                    }
                    LeaveCause::Deadline => {
                        let d = mem
                            .deadline
                            .get(&to)
                            .copied()
                            .flatten()
                            .unwrap_or(Millis::MAX);
                        // The deadline is on the server's clock: on ours it is skew earlier.
                        let d = d.saturating_add_signed(-h.server_skew);
                        prop_assert!(
                            now >= d.saturating_sub(config.deadline_margin_ms),
                            "deadline bound too early"
                        );
                    }
                    LeaveCause::OldSessionLost => {
                        prop_assert!(false, "disconnected a session already lost")
                    }
                }
                prop_assert_eq!(&to, &b);
            }
            _ => {}
        }
    }
    let _ = h;
    Ok(())
}

#[test]
fn random_sequences_keep_every_invariant() {
    // Deterministic, so that a failure in CI is the same failure on a laptop.
    let runner_config = RunnerConfig {
        cases: SEQUENCES,
        failure_persistence: None,
        ..RunnerConfig::default()
    };
    let mut runner = TestRunner::new_with_rng(
        runner_config,
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let steps = std::cell::Cell::new(0usize);
    let sequences = std::cell::Cell::new(0usize);
    let strategy = (
        config(),
        any::<u64>(),
        prop::bool::weighted(0.75),
        sequence(),
    );
    let result = runner.run(&strategy, |(config, seed, live_call, seq)| {
        sequences.set(sequences.get() + 1);
        steps.set(steps.get() + seq.len());
        run_sequence(config, seed, live_call, &seq)
    });
    eprintln!(
        "engine props: {} sequences, {} steps ({} handoffs completed, {} of them with everyone moved, {} swaps, {} recoveries, {} failures reported)",
        sequences.get(),
        steps.get(),
        COMPLETED.load(Ordering::Relaxed),
        ALL_MOVED.load(Ordering::Relaxed),
        SWAPPED.load(Ordering::Relaxed),
        RECOVERIES.load(Ordering::Relaxed),
        FAILURES.load(Ordering::Relaxed),
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}
