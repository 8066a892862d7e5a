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
//! - nothing is emitted after `closed`, and no timer stays armed.
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
    ConnectFailed(usize),
    Lost(usize, u8),
    /// Answer the shell's oldest pending connect.
    AnswerConnect(bool),
    Connection(usize, usize),
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
    Token(usize, bool),
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
        1 => s.clone().prop_map(Step::ConnectFailed),
        1 => (s.clone(), 0..6u8).prop_map(|(s, r)| Step::Lost(s, r)),
        8 => prop::bool::weighted(0.85).prop_map(Step::AnswerConnect),
        6 => (s.clone(), p.clone()).prop_map(|(s, p)| Step::Connection(s, p)),
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
        2 => (s.clone(), any::<bool>()).prop_map(|(s, ok)| Step::Token(s, ok)),
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

fn config() -> impl Strategy<Value = Config> {
    (
        any::<bool>(),
        prop::bool::weighted(0.8),
        any::<bool>(),
        any::<bool>(),
        1..60_000u64,
        0..3_000u64,
        1..30_000u64,
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
            )| {
                Config {
                    group_mode,
                    publish,
                    has_token_provider,
                    has_resolve_session,
                    max_overlap_ms,
                    deadline_margin_ms: margin,
                    connect_timeout_ms: timeout,
                    ..Config::default()
                }
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
        },
        Step::ConnectFailed(i) => Input::ConnectFailed {
            session: s(i),
            error: "E".into(),
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
                }
            } else {
                Input::ConnectFailed {
                    session,
                    error: "E".into(),
                }
            }
        }
        Step::Connection(i, p) => Input::ConnectionCreated {
            session: s(i),
            connection: conn(PEOPLE[p], SESSIONS[i]),
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
                        d.push_str(&format!(r#","deadline":{}"#, h.now + x));
                    }
                    d.push('}');
                    d
                }
                Body::Garbage(g) => g,
            }),
        },
        Step::Token(i, ok) => Input::Token {
            session: s(i),
            result: if ok {
                Ok("tok".into())
            } else {
                Err("E".into())
            },
        },
        Step::Resolved(k, i) => Input::Resolved {
            old: s(i),
            result: match k {
                0 => Ok(None),
                1 => Err("E".into()),
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
    config: Config,
    seed: u64,
    live_call: bool,
    steps: &[Step],
) -> Result<(), TestCaseError> {
    let mut h = Harness::with_seed(config.clone(), seed);
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
    for c in commands(outs) {
        match c.clone() {
            // (A publish retry in the old session, scheduled before the move, may go on.)
            Command::Connect { session, .. } if session == a => {
                prop_assert!(closed, "{c:?} touched the old session during the handoff");
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
