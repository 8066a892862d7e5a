//! Scenarios: participants joining and leaving around a handoff (never left-and-rejoined
//! when they move), and closing from every state.
#![cfg(not(target_arch = "wasm32"))] // native only: proptest and serde_json are native dev-dependencies

#[path = "engine/harness.rs"]
mod harness;

use harness::*;
use video_handoff::engine::*;

fn joins_and_leaves(h: &Harness) -> Vec<Event> {
    h.events_so_far()
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                Event::ParticipantJoined { .. } | Event::ParticipantLeft { .. }
            )
        })
        .collect()
}

#[test]
fn a_participant_leaving_the_live_call_is_reported_once_after_the_grace() {
    let mut h = live_in_a_with(&["p1"], Config::default());
    let outs = h.leaves("p1", "A");
    assert_eq!(commands(&outs), vec![Command::Hide { key: key("p1") }]);
    assert!(events(&outs).is_empty());
    let outs = h.advance(LEFT_GRACE_MS - 1);
    assert!(outs.is_empty());
    let outs = h.advance(1);
    assert_eq!(
        events(&outs),
        vec![Event::ParticipantLeft { key: key("p1") }]
    );
    assert_eq!(h.engine.participants().count(), 0);
    h.advance(60_000);
    assert_eq!(joins_and_leaves(&h).len(), 2);
}

#[test]
fn a_participant_joining_only_b_is_joined_and_shown_at_once() {
    let mut h = moving_to_b(&["p1"], Config::default());
    let outs = h.arrives("p3", "B");
    assert_eq!(
        events(&outs),
        vec![Event::ParticipantJoined { key: key("p3") }]
    );
    assert_eq!(
        commands(&outs),
        vec![
            Command::Subscribe {
                session: sid("B"),
                stream: cam("p3", "B"),
                key: key("p3")
            },
            Command::Show {
                key: key("p3"),
                session: sid("B"),
                stream: cam("p3", "B"),
                replaces: None
            },
        ]
    );
}

#[test]
fn a_participant_leaving_only_a_mid_handoff_is_hidden_and_left_after_the_move() {
    let mut h = moving_to_b(&["p1", "p2"], Config::default());
    let outs = h.leaves("p2", "A");
    assert_eq!(commands(&outs), vec![Command::Hide { key: key("p2") }]);
    h.advance(LEFT_GRACE_MS * 2);
    assert!(
        !h.events_so_far()
            .contains(&Event::ParticipantLeft { key: key("p2") }),
        "not while moving"
    );
    h.moves("p1", "A", "B");
    h.first_frame("p1", "B"); // completes the move
    assert_eq!(h.engine.state(), State::Live);
    let outs = h.advance(LEFT_GRACE_MS);
    assert_eq!(
        events(&outs),
        vec![Event::ParticipantLeft { key: key("p2") }]
    );
}

#[test]
fn a_participant_shown_from_a_whose_a_stream_ends_mid_handoff_is_shown_from_b_at_once() {
    let mut h = moving_to_b(&["p1", "p2"], Config::default());
    h.arrives("p1", "B"); // not rendered yet
    let outs = h.leaves("p1", "A");
    assert_eq!(
        commands(&outs),
        vec![Command::Show {
            key: key("p1"),
            session: sid("B"),
            stream: cam("p1", "B"),
            replaces: Some(src("A", cam("p1", "A")))
        }]
    );
    assert!(!h
        .events_so_far()
        .contains(&Event::ParticipantLeft { key: key("p1") }));
}

#[test]
fn a_moving_participant_is_never_left_and_joined_when_a_destroy_comes_before_b_create() {
    let mut h = moving_to_b(&["p1"], Config::default());
    h.leaves("p1", "A"); // gone from A before appearing in B
    h.advance(3_000);
    h.arrives("p1", "B");
    h.first_frame("p1", "B");
    h.advance(60_000);
    assert_eq!(
        joins_and_leaves(&h),
        vec![Event::ParticipantJoined { key: key("p1") }]
    );
    assert_eq!(h.tile("p1"), Some(src("B", cam("p1", "B"))));
}

#[test]
fn a_moving_participant_is_never_left_and_joined_when_b_create_comes_first() {
    let mut h = moving_to_b(&["p1"], Config::default());
    h.arrives("p1", "B");
    h.leaves("p1", "A");
    h.first_frame("p1", "B");
    h.advance(60_000);
    assert_eq!(
        joins_and_leaves(&h),
        vec![Event::ParticipantJoined { key: key("p1") }]
    );
}

#[test]
fn a_participant_who_moves_just_before_our_own_signal_is_not_left_and_joined() {
    // p1 got the signal first and left A; ours arrives 2 s later (within the grace).
    let mut h = live_in_a_with(&["p1"], Config::default());
    h.leaves("p1", "A");
    h.advance(2_000);
    h.signal(&handoff_to("B", ""));
    h.advance(4_000); // grace would have run out by now, but a move is under way
    h.connected("B");
    h.published("B");
    h.arrives("p1", "B");
    h.advance(60_000);
    assert_eq!(
        joins_and_leaves(&h),
        vec![Event::ParticipantJoined { key: key("p1") }]
    );
    assert_eq!(h.tile("p1"), Some(src("B", cam("p1", "B"))));
}

#[test]
fn participants_stay_through_a_recovery_and_leave_if_they_never_come_back() {
    let mut h = live_in_a_with(&["p1", "p2"], Config::default());
    h.lost("A", DisconnectReason::NetworkDisconnected);
    h.advance(30_000);
    assert!(!h
        .events_so_far()
        .iter()
        .any(|e| matches!(e, Event::ParticipantLeft { .. })));
    h.connected("A");
    h.arrives("p1", "A");
    let outs = h.advance(LEFT_GRACE_MS);
    assert_eq!(
        events(&outs),
        vec![Event::ParticipantLeft { key: key("p2") }]
    );
    assert_eq!(h.tile("p1"), Some(src("A", cam("p1", "A"))));
}

/// Close in some state: every open session disconnected, `closed` last, then silence.
fn assert_close(mut h: Harness, open: &[&str]) {
    let shown: Vec<ParticipantKey> = h.shell.shown.keys().cloned().collect();
    let outs = h.input(Input::Close);
    let expected: Vec<Command> = shown
        .into_iter()
        .map(|key| Command::Hide { key })
        .chain(open.iter().map(|s| Command::Disconnect { session: sid(s) }))
        .collect();
    assert_eq!(commands(&outs), expected);
    assert_eq!(
        outs.last(),
        Some(&Output::Event(Event::StateChanged {
            state: State::Closed
        }))
    );
    assert_eq!(h.engine.state(), State::Closed);
    assert_eq!(h.engine.poll_timeout(), None);
    // Nothing more, whatever happens.
    for input in [
        Input::Join {
            session: sid("A"),
            token: Some("t".into()),
        },
        Input::Connected {
            session: sid("A"),
            connection: conn("me", "A"),
            server_time: None,
            routed: None,
        },
        Input::Signal {
            from: None,
            body: wire(&handoff_to("Z", "")),
        },
        Input::SessionDisconnected {
            session: sid("A"),
            reason: DisconnectReason::ClientDisconnected,
        },
        Input::Close,
    ] {
        h.engine.handle(h.now, input);
        assert_eq!(h.engine.poll_output(), None);
    }
    h.engine.handle_timeout(h.now + 1_000_000);
    assert_eq!(h.engine.poll_output(), None);
}

#[test]
fn close_from_every_state_leaves_everything_and_then_stays_silent() {
    // idle
    assert_close(Harness::new(Config::default()), &[]);
    // connecting
    let mut h = Harness::new(Config::default());
    h.join("A");
    assert_close(h, &["A"]);
    // live
    assert_close(live_in_a_with(&["p1"], Config::default()), &["A"]);
    // handoff, waiting out the spread
    let mut h = live_in_a_with(&["p1"], Config::default());
    h.signal(&handoff_to("B", r#""spreadMs":60000"#));
    assert_close(h, &["A"]);
    // handoff, connecting to B
    let mut h = live_in_a_with(&["p1"], Config::default());
    h.signal(&handoff_to("B", ""));
    assert_close(h, &["A", "B"]);
    // handoff, B connected
    assert_close(moving_to_b(&["p1"], Config::default()), &["A", "B"]);
    // recovering, waiting for resolveSession
    let mut h = Harness::new(Config {
        has_resolve_session: true,
        ..Config::default()
    });
    h.live_in("A");
    h.lost("A", DisconnectReason::ServerRotation);
    assert_close(h, &[]);
    // recovering, rejoining
    let mut h = live_in_a_with(&[], Config::default());
    h.lost("A", DisconnectReason::ServerRotation);
    assert_close(h, &["A"]);
    // recovering into B after A was lost mid-handoff
    let mut h = live_in_a_with(&[], Config::default());
    h.signal(&handoff_to("B", ""));
    h.lost("A", DisconnectReason::ServerRotation);
    assert_close(h, &["B"]);
}

fn connection_with(
    h: &mut Harness,
    c: &str,
    data: Option<&str>,
    app_key: Option<&str>,
) -> Vec<Output> {
    h.input(Input::ConnectionCreated {
        session: sid("A"),
        connection: ConnectionId::from(c),
        data: data.map(str::to_owned),
        app_key: app_key.map(str::to_owned),
    })
}

#[test]
fn a_participant_is_the_apps_key_else_the_token_data_else_the_connection() {
    let mut h = live_in_a_with(&[], Config::default());
    let joined = |outs: Vec<Output>| events(&outs);
    assert_eq!(
        joined(connection_with(&mut h, "c1", Some("user-1"), Some("app-1"))),
        vec![Event::ParticipantJoined { key: key("app-1") }]
    );
    assert_eq!(
        joined(connection_with(&mut h, "c2", Some("user-2"), Some(""))),
        vec![Event::ParticipantJoined { key: key("user-2") }],
        "an empty key from the app falls back to the token data"
    );
    assert_eq!(
        joined(connection_with(&mut h, "c3", Some(""), None)),
        vec![Event::ParticipantJoined { key: key("c3") }],
        "no token data: the connection is a participant of its own"
    );
    assert_eq!(
        joined(connection_with(&mut h, "c4", None, None)),
        vec![Event::ParticipantJoined { key: key("c4") }]
    );
}

#[test]
fn events_before_the_connect_completes_are_taken_in_once_it_has_in_their_order() {
    // Given a join to A whose connect has not completed...
    let mut h = Harness::new(Config::default());
    h.join("A");
    // ...when A reports connections and streams first (our own among them)...
    let mut early = h.arrives("p2", "A");
    early.extend(h.arrives("p1", "A"));
    early.extend(h.connection("me", "A"));
    early.extend(h.arrives("gone", "A"));
    early.extend(h.leaves("gone", "A"));
    assert!(
        early.is_empty(),
        "nothing happens before the connect: {early:?}"
    );
    // ...then on connect they arrive in the order they came, without us and without the one
    // who left, and are subscribed and shown.
    let outs = h.connected("A");
    assert_eq!(
        events(&outs),
        vec![
            Event::ParticipantJoined { key: key("p2") },
            Event::ParticipantJoined { key: key("p1") },
            Event::StateChanged { state: State::Live },
        ]
    );
    for p in ["p1", "p2"] {
        assert!(has_command(
            &outs,
            &Command::Subscribe {
                session: sid("A"),
                stream: cam(p, "A"),
                key: key(p)
            }
        ));
    }
    assert_eq!(h.engine.participants().count(), 2);
}

#[test]
fn what_a_failed_attempt_was_told_is_forgotten_by_the_next_one() {
    let mut h = Harness::new(Config::default());
    h.join("A");
    h.arrives("p1", "A");
    h.input(Input::ConnectFailed {
        session: sid("A"),
        error: "E".into(),
        code: None,
    });
    h.fire_timer(); // the retry connects again
    let outs = h.connected("A");
    assert!(
        !events(&outs)
            .iter()
            .any(|e| matches!(e, Event::ParticipantJoined { .. })),
        "p1 was seen by the failed connection only"
    );
}
