//! The property test's random steps: what one can be (garbage and forged signals, events out
//! of order, shell answers, hooks, clock jumps) and how sequences and configs are drawn. Part
//! of `engine_props.rs`.

use super::*;

pub(crate) const SESSIONS: [&str; 3] = ["A", "B", "C"];
pub(crate) const PEOPLE: [&str; 3] = ["p1", "p2", "p3"];
pub(crate) const SEQUENCES: u32 = 400;

#[derive(Clone, Debug)]
pub(crate) enum Body {
    Valid {
        to: usize,
        token: bool,
        deadline_in: Option<u64>,
        spread: u64,
    },
    Garbage(String),
}

#[derive(Clone, Debug)]
pub(crate) enum Step {
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

pub(crate) fn body() -> impl Strategy<Value = Body> {
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

pub(crate) fn step() -> impl Strategy<Value = Step> {
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
pub(crate) fn peers_follow() -> Vec<Step> {
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
pub(crate) fn sequence() -> impl Strategy<Value = Vec<Step>> {
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
pub(crate) fn config() -> impl Strategy<Value = (Config, i64)> {
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

pub(crate) fn reason(r: u8) -> DisconnectReason {
    match r {
        0 => DisconnectReason::ServerRotation,
        1 => DisconnectReason::NetworkDisconnected,
        2 => DisconnectReason::ForceDisconnected,
        3 => DisconnectReason::ClientDisconnected,
        4 => DisconnectReason::MediaIdle,
        _ => DisconnectReason::Other,
    }
}

pub(crate) fn stream_id(p: usize, s: usize, n: u8) -> StreamId {
    StreamId::from(format!("{}-cam{n}@{}", PEOPLE[p], SESSIONS[s]))
}
