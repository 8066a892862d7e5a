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
#[path = "engine/props_checks.rs"]
mod props_checks;
#[path = "engine/props_steps.rs"]
mod props_steps;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use harness::*;
use props_checks::{check_bounds, check_old_session_rules};
use props_steps::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};
use video_handoff::engine::*;

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
            routed: None,
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
                    routed: None,
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
        Step::Published(i) => Input::Published { session: s(i) },
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
