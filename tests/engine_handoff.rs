//! Scenarios: joining, going live, and a handoff from A to B with its swap and leave rules.
#![cfg(not(target_arch = "wasm32"))] // native only: proptest and serde_json are native dev-dependencies

#[path = "engine/harness.rs"]
mod harness;

use harness::*;
use video_handoff::engine::*;

/// Given live in A with p1 and p2 publishing (tiles showing A).
fn live_in_a_with(participants: &[&str], config: Config) -> Harness {
    let mut h = Harness::new(config);
    h.live_in("A");
    for p in participants {
        h.arrives(p, "A");
    }
    h
}

#[test]
fn join_connects_with_the_token_and_goes_live_publishing() {
    let mut h = Harness::new(Config::default());
    let outs = h.join("A");
    assert_eq!(
        commands(&outs),
        vec![
            Command::Connect {
                session: sid("A"),
                token: "token-A".into()
            },
            Command::PreparePublish { session: sid("A") }
        ]
    );
    assert_eq!(
        events(&outs),
        vec![Event::StateChanged {
            state: State::Connecting
        }]
    );

    let outs = h.connected("A");
    assert_eq!(
        commands(&outs),
        vec![Command::Publish { session: sid("A") }]
    );
    assert_eq!(
        events(&outs),
        vec![Event::StateChanged { state: State::Live }]
    );
    assert_eq!(h.engine.live_session(), Some(&sid("A")));
}

#[test]
fn join_without_a_token_asks_the_provider() {
    let mut h = Harness::new(Config {
        has_token_provider: true,
        ..Config::default()
    });
    let outs = h.input(Input::Join {
        session: sid("A"),
        token: None,
    });
    assert_eq!(
        commands(&outs),
        vec![Command::RequestToken { session: sid("A") }]
    );
    let outs = h.input(Input::Token {
        session: sid("A"),
        result: Ok("fresh".into()),
    });
    assert_eq!(
        commands(&outs),
        vec![
            Command::Connect {
                session: sid("A"),
                token: "fresh".into()
            },
            Command::PreparePublish { session: sid("A") }
        ]
    );
}

#[test]
fn join_without_a_token_or_provider_fails_with_no_token() {
    let mut h = Harness::new(Config::default());
    let outs = h.input(Input::Join {
        session: sid("A"),
        token: None,
    });
    assert!(commands(&outs).is_empty());
    assert!(has_event(
        &outs,
        &Event::HandoffFailed {
            to: sid("A"),
            error: HandoffError::NoToken,
            will_retry: false,
            next_attempt_at: None,
            stopped: Some(StopCause::Permanent),
        }
    ));
    assert_eq!(h.engine.state(), State::Idle);
}

#[test]
fn without_publish_the_client_only_watches() {
    let mut h = Harness::new(Config {
        publish: false,
        ..Config::default()
    });
    h.join("A");
    let outs = h.connected("A");
    assert!(commands(&outs).is_empty());
}

#[test]
fn a_participant_in_the_live_session_is_joined_subscribed_and_shown_at_once() {
    let mut h = live_in_a_with(&[], Config::default());
    let outs = h.arrives("p1", "A");
    assert_eq!(
        events(&outs),
        vec![Event::ParticipantJoined { key: key("p1") }]
    );
    assert_eq!(
        commands(&outs),
        vec![
            Command::Subscribe {
                session: sid("A"),
                stream: cam("p1", "A"),
                key: key("p1")
            },
            Command::Show {
                key: key("p1"),
                session: sid("A"),
                stream: cam("p1", "A"),
                replaces: None
            },
        ]
    );
}

#[test]
fn full_handoff_swaps_each_participant_on_first_frame_then_leaves_a() {
    // Given live in A with p1 and p2.
    let mut h = live_in_a_with(&["p1", "p2"], Config::default());
    let t_signal = h.now;

    // When the server signals a move to B with a 1 s spread...
    let outs = h.signal(
        "A",
        &handoff_to(
            "B",
            r#""reason":"serverRotation","spreadMs":1000,"id":"m1""#,
        ),
    );
    assert_eq!(
        events(&outs),
        vec![
            Event::HandoffStarted {
                from: sid("A"),
                to: sid("B"),
                reason: Some("serverRotation".into()),
                id: Some("m1".into())
            },
            Event::StateChanged {
                state: State::Handoff
            },
        ]
    );
    // ...then nothing connects before the spread delay, drawn in [0, 1000).
    assert!(commands(&outs).is_empty());
    let at = h.engine.poll_timeout().unwrap();
    assert!(
        at > t_signal && at < t_signal + 1000,
        "spread delay {}",
        at - t_signal
    );
    let outs = h.fire_timer();
    assert_eq!(
        commands(&outs),
        vec![
            Command::Connect {
                session: sid("B"),
                token: "token-B".into()
            },
            Command::PreparePublish { session: sid("B") }
        ]
    );

    // B connects: publish there (the shell clones the tracks).
    let outs = h.connected("B");
    assert_eq!(
        commands(&outs),
        vec![Command::Publish { session: sid("B") }]
    );

    // p1 and p2 appear in B: subscribed hidden, tiles still show A.
    let outs = h.arrives("p1", "B");
    assert_eq!(
        commands(&outs),
        vec![Command::Subscribe {
            session: sid("B"),
            stream: cam("p1", "B"),
            key: key("p1")
        }]
    );
    assert!(events(&outs).is_empty(), "no second ParticipantJoined");
    // p2 waits its turn: one new subscription at a time while p2 is shown from A.
    let outs = h.arrives("p2", "B");
    assert!(commands(&outs).is_empty(), "{outs:?}");
    assert_eq!(h.tile("p1"), Some(src("A", cam("p1", "A"))));

    // p1's B stream renders: one Show swaps the tile, then A's subscriber goes, and p2's
    // turn comes.
    let outs = h.first_frame("p1", "B");
    assert_eq!(
        commands(&outs),
        vec![
            Command::Show {
                key: key("p1"),
                session: sid("B"),
                stream: cam("p1", "B"),
                replaces: Some(src("A", cam("p1", "A")))
            },
            Command::Unsubscribe {
                session: sid("A"),
                stream: cam("p1", "A")
            },
            Command::Subscribe {
                session: sid("B"),
                stream: cam("p2", "B"),
                key: key("p2")
            },
        ]
    );
    assert_eq!(
        events(&outs),
        vec![Event::ParticipantSwapped {
            key: key("p1"),
            from: sid("A"),
            to: sid("B")
        }]
    );

    // Own stream live in B; A is still needed for p2.
    let outs = h.published("B");
    assert!(!touches_session(&outs, "A"));

    // p2 renders in B: we show everyone from B and say so into B...
    h.advance(600);
    let outs = h.first_frame("p2", "B");
    assert_eq!(
        commands(&outs).last(),
        Some(&Command::Signal {
            session: sid("B"),
            kind: "handoff-moved".into(),
            data: "A".into()
        })
    );
    // ...but A stays while a peer may still show us from it: p1 says it moved, p2 not yet.
    assert!(!touches_session(&h.moved("p1", "B", "A"), "A"));

    // p2 says so too: everyone moved, so A is left.
    h.advance(100);
    let outs = h.moved("p2", "B", "A");
    let cmds = commands(&outs);
    assert_eq!(
        cmds.last(),
        Some(&Command::Disconnect { session: sid("A") })
    );
    let completed = events(&outs)
        .into_iter()
        .find(|e| matches!(e, Event::HandoffCompleted { .. }))
        .unwrap();
    let Event::HandoffCompleted {
        from,
        to,
        duration_ms,
        overlap_ms,
        ended_by,
    } = completed
    else {
        unreachable!()
    };
    assert_eq!(
        (from, to, ended_by),
        (sid("A"), sid("B"), LeaveCause::AllMoved)
    );
    assert_eq!(duration_ms, h.now - t_signal);
    assert_eq!(overlap_ms, 700);
    assert!(has_event(
        &outs,
        &Event::StateChanged { state: State::Live }
    ));
    assert_eq!(h.engine.live_session(), Some(&sid("B")));
    assert_eq!(h.tile("p1"), Some(src("B", cam("p1", "B"))));
    assert_eq!(h.tile("p2"), Some(src("B", cam("p2", "B"))));

    // Nobody left or rejoined on the way.
    let joined_or_left = h
        .events_so_far()
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                Event::ParticipantJoined { .. } | Event::ParticipantLeft { .. }
            )
        })
        .count();
    assert_eq!(joined_or_left, 2, "only the two joins in A");
}

#[test]
fn the_spread_delay_is_uniform_in_zero_to_spread() {
    let mut delays = Vec::new();
    for seed in 0..400 {
        let mut h = Harness::with_seed(Config::default(), seed);
        h.live_in("A");
        let t = h.now;
        h.signal("A", &handoff_to("B", r#""spreadMs":1000"#));
        let connect_at = h
            .engine
            .poll_timeout()
            .filter(|_| h.engine.state() == State::Handoff)
            .unwrap_or(t);
        let waited = if h.log.iter().any(|o| matches!(o, Output::Command(Command::Connect { session, .. }) if session.as_str() == "B")) {
            0
        } else {
            connect_at - t
        };
        delays.push(waited);
    }
    assert!(delays.iter().all(|d| *d < 1000));
    for quarter in 0..4 {
        let n = delays.iter().filter(|d| **d / 250 == quarter).count();
        assert!((60..=140).contains(&n), "quarter {quarter}: {n} of 400");
    }
}

#[test]
fn without_a_token_in_the_signal_the_provider_is_asked() {
    let mut h = live_in_a_with(
        &["p1"],
        Config {
            has_token_provider: true,
            ..Config::default()
        },
    );
    let outs = h.signal("A", r#"{"v":1,"sessionId":"B"}"#);
    assert_eq!(
        commands(&outs),
        vec![Command::RequestToken { session: sid("B") }]
    );
    let outs = h.input(Input::Token {
        session: sid("B"),
        result: Ok("jwt-B".into()),
    });
    assert_eq!(
        commands(&outs),
        vec![
            Command::Connect {
                session: sid("B"),
                token: "jwt-B".into()
            },
            Command::PreparePublish { session: sid("B") }
        ]
    );
}

#[test]
fn without_a_token_or_provider_the_handoff_fails_and_a_stays_live() {
    let mut h = live_in_a_with(&["p1"], Config::default());
    let outs = h.signal("A", r#"{"v":1,"sessionId":"B"}"#);
    assert!(has_event(
        &outs,
        &Event::HandoffFailed {
            to: sid("B"),
            error: HandoffError::NoToken,
            will_retry: false,
            next_attempt_at: None,
            stopped: Some(StopCause::Permanent),
        }
    ));
    assert!(commands(&outs).is_empty());
    assert_eq!(h.engine.state(), State::Live);
    assert_eq!(h.engine.live_session(), Some(&sid("A")));
    assert_eq!(h.tile("p1"), Some(src("A", cam("p1", "A"))));
}

/// Given a handoff A -> B under way with B connected and our stream published there.
fn moving_to_b(participants: &[&str], config: Config) -> Harness {
    let mut h = live_in_a_with(participants, config);
    h.signal("A", &handoff_to("B", ""));
    h.connected("B");
    h.published("B");
    h
}

#[test]
fn group_mode_waits_for_every_connection_of_a_to_appear_in_b() {
    let mut h = moving_to_b(&["p1"], Config::default());
    h.connection("viewer", "A"); // connected to A, publishes nothing
    h.moves("p1", "A", "B");
    let outs = h.first_frame("p1", "B");
    assert!(
        !has_command(&outs, &Command::Disconnect { session: sid("A") }),
        "viewer still only in A"
    );
    h.connection("viewer", "B");
    let outs = h.moved("viewer", "B", "A");
    assert!(has_command(
        &outs,
        &Command::Disconnect { session: sid("A") }
    ));
}

#[test]
fn group_mode_waits_until_every_peer_still_in_a_said_it_shows_everyone_from_b() {
    // Leaving A as soon as p1 appears in B and renders here would freeze our video on p1's
    // screen until p1 renders our B stream.
    let mut h = moving_to_b(&["p1"], Config::default());
    h.arrives("p1", "B");
    let outs = h.first_frame("p1", "B");
    assert!(!touches_session(&outs, "A"), "p1 may still show us from A");
    // Said by someone else, by the server, about another move or in another session: no.
    h.connection("p2", "B");
    for outs in [
        h.moved("p2", "B", "A"),
        h.input(Input::Moved {
            session: sid("B"),
            from: None,
            data: "A".into(),
        }),
        h.moved("p1", "B", "Z"),
        h.moved("p1", "A", "A"),
    ] {
        assert!(!touches_session(&outs, "A"));
    }
    assert_eq!(h.engine.state(), State::Handoff);
    // p1 leaving A also frees us: nobody there needs our stream any more.
    let outs = h.input(Input::ConnectionDestroyed {
        session: sid("A"),
        connection: conn("p1", "A"),
    });
    assert!(has_command(
        &outs,
        &Command::Disconnect { session: sid("A") }
    ));
}

#[test]
fn a_peers_moved_signal_before_its_connection_is_known_still_counts() {
    let mut h = moving_to_b(&["p1"], Config::default());
    h.moved("p1", "B", "A"); // the signal overtook connectionCreated
    h.arrives("p1", "B");
    let outs = h.first_frame("p1", "B");
    assert!(has_command(
        &outs,
        &Command::Disconnect { session: sid("A") }
    ));
}

#[test]
fn we_say_we_moved_once_we_show_everyone_from_b_and_only_once() {
    let mut h = moving_to_b(&["p1", "p2"], Config::default());
    h.arrives("p1", "B");
    h.arrives("p2", "B");
    h.first_frame("p1", "B");
    assert!(h.shell.sent.is_empty(), "p2 still shown from A");
    h.first_frame("p2", "B");
    h.moved("p1", "B", "A");
    h.connection("p3", "B");
    assert_eq!(
        h.shell.sent,
        vec![(sid("B"), "handoff-moved".to_owned(), "A".to_owned())]
    );
}

#[test]
fn a_failed_moved_signal_is_reported_and_the_move_goes_on() {
    let mut h = moving_to_b(&["p1"], Config::default());
    h.moves("p1", "A", "B");
    let outs = h.input(Input::AnnounceFailed {
        session: sid("B"),
        error: "OT_NOT_CONNECTED".into(),
    });
    assert_eq!(
        events(&outs),
        vec![Event::AnnounceFailed {
            session: sid("B"),
            detail: "OT_NOT_CONNECTED".into()
        }]
    );
    let outs = h.first_frame("p1", "B");
    assert!(has_command(
        &outs,
        &Command::Disconnect { session: sid("A") }
    ));
}

#[test]
fn without_publishing_nobody_needs_our_old_stream_so_moved_signals_are_not_awaited() {
    let mut h = moving_to_b(
        &["p1"],
        Config {
            publish: false,
            ..Config::default()
        },
    );
    h.arrives("p1", "B");
    let outs = h.first_frame("p1", "B");
    assert!(has_command(
        &outs,
        &Command::Disconnect { session: sid("A") }
    ));
}

#[test]
fn outside_group_mode_a_is_left_once_every_stream_has_moved() {
    let mut h = moving_to_b(
        &["p1"],
        Config {
            group_mode: false,
            ..Config::default()
        },
    );
    h.connection("viewer", "A");
    h.arrives("p1", "B");
    let outs = h.first_frame("p1", "B");
    assert!(has_command(
        &outs,
        &Command::Disconnect { session: sid("A") }
    ));
}

#[test]
fn a_is_not_left_before_our_own_stream_is_live_in_b() {
    let mut h = live_in_a_with(&["p1"], Config::default());
    h.signal("A", &handoff_to("B", ""));
    h.connected("B");
    h.moves("p1", "A", "B");
    let outs = h.first_frame("p1", "B");
    assert!(!touches_session(&outs, "A"));
    let outs = h.published("B");
    assert!(has_command(
        &outs,
        &Command::Disconnect { session: sid("A") }
    ));
}

#[test]
fn an_empty_call_moves_as_soon_as_we_publish_in_b() {
    let mut h = live_in_a_with(&[], Config::default());
    h.signal("A", &handoff_to("B", ""));
    h.connected("B");
    let outs = h.published("B");
    assert!(has_command(
        &outs,
        &Command::Disconnect { session: sid("A") }
    ));
    assert_eq!(h.engine.state(), State::Live);
}

#[test]
fn the_overlap_bound_leaves_a_and_hides_participants_with_no_b_stream() {
    // p1 never moves (an old client); p2 moves.
    let mut h = moving_to_b(&["p1", "p2"], Config::default());
    let b_connected = h.now;
    h.arrives("p2", "B");
    h.first_frame("p2", "B");
    // Nothing before the bound.
    let outs = h.advance(29_999);
    assert!(!touches_session(&outs, "A"));
    let outs = h.advance(1);
    assert_eq!(
        commands(&outs),
        vec![
            Command::Hide { key: key("p1") },
            Command::Disconnect { session: sid("A") }
        ]
    );
    assert!(has_event(
        &outs,
        &Event::HandoffCompleted {
            from: sid("A"),
            to: sid("B"),
            duration_ms: 30_000,
            overlap_ms: h.now - b_connected,
            ended_by: LeaveCause::MaxOverlap
        }
    ));
    assert_eq!(h.tile("p1"), None);
}

#[test]
fn the_deadline_bound_leaves_a_margin_before_the_deadline() {
    let mut h = live_in_a_with(&["p1"], Config::default());
    let deadline = h.now + 10_000;
    h.signal("A", &handoff_to("B", &format!(r#""deadline":{deadline}"#)));
    h.connected("B");
    h.published("B");
    h.arrives("p1", "B"); // subscribed, never renders
    let outs = h.advance_to(deadline - 2_001);
    assert!(!touches_session(&outs, "A"));
    let outs = h.advance_to(deadline - 2_000);
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Event(Event::HandoffCompleted {
            ended_by: LeaveCause::Deadline,
            ..
        })
    )));
    assert!(has_command(
        &outs,
        &Command::Disconnect { session: sid("A") }
    ));
}

#[test]
fn a_b_stream_that_never_renders_is_shown_from_b_when_a_bound_forces_the_leave() {
    let mut h = moving_to_b(&["p1"], Config::default());
    h.arrives("p1", "B"); // no FirstFrame ever
    let outs = h.advance(30_000);
    assert_eq!(
        commands(&outs),
        vec![
            Command::Show {
                key: key("p1"),
                session: sid("B"),
                stream: cam("p1", "B"),
                replaces: Some(src("A", cam("p1", "A")))
            },
            Command::Unsubscribe {
                session: sid("A"),
                stream: cam("p1", "A")
            },
            Command::Disconnect { session: sid("A") },
        ]
    );
    assert_eq!(h.tile("p1"), Some(src("B", cam("p1", "B"))));
    // And it stays shown from B afterwards, frame or not.
    h.advance(60_000);
    h.first_frame("p1", "B");
    assert_eq!(h.tile("p1"), Some(src("B", cam("p1", "B"))));
}

#[test]
fn a_destroyed_mid_handoff_promotes_whatever_b_has_at_once() {
    let mut h = moving_to_b(&["p1", "p2"], Config::default());
    h.arrives("p1", "B"); // subscribed in B, not rendered yet
    let outs = h.lost("A", DisconnectReason::ServerRotation);
    // p1 shown from B at once, p2 (nothing in B) hidden; A is gone, so no command for it.
    assert!(has_command(
        &outs,
        &Command::Show {
            key: key("p1"),
            session: sid("B"),
            stream: cam("p1", "B"),
            replaces: Some(src("A", cam("p1", "A")))
        }
    ));
    assert!(has_command(&outs, &Command::Hide { key: key("p2") }));
    assert!(!touches_session(&outs, "A"));
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Event(Event::HandoffCompleted {
            ended_by: LeaveCause::OldSessionLost,
            ..
        })
    )));
    assert_eq!(h.engine.state(), State::Live);
    // p2 turns up in B later: shown, never left and rejoined.
    h.advance(1_000);
    h.arrives("p2", "B");
    assert_eq!(h.tile("p2"), Some(src("B", cam("p2", "B"))));
    assert!(!h
        .events_so_far()
        .iter()
        .any(|e| matches!(e, Event::ParticipantLeft { .. })));
}

#[test]
fn a_destroyed_before_b_connects_recovers_into_b() {
    let mut h = live_in_a_with(&["p1"], Config::default());
    h.signal("A", &handoff_to("B", r#""spreadMs":5000"#));
    // Still waiting out the spread when A is destroyed: connect B at once.
    let outs = h.lost("A", DisconnectReason::ServerRotation);
    assert!(has_command(&outs, &Command::Hide { key: key("p1") }));
    assert!(has_command(
        &outs,
        &Command::Connect {
            session: sid("B"),
            token: "token-B".into()
        }
    ));
    assert!(has_event(
        &outs,
        &Event::RecoveryStarted {
            session: sid("A"),
            reason: DisconnectReason::ServerRotation
        }
    ));
    assert_eq!(h.engine.state(), State::Recovering);
    let outs = h.connected("B");
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Event(Event::HandoffCompleted {
            ended_by: LeaveCause::OldSessionLost,
            overlap_ms: 0,
            ..
        })
    )));
    assert_eq!(h.engine.state(), State::Live);
    h.arrives("p1", "B");
    assert_eq!(h.tile("p1"), Some(src("B", cam("p1", "B"))));
}

#[test]
fn a_move_requested_by_the_app_works_like_a_signal() {
    let mut h = live_in_a_with(&["p1"], Config::default());
    let outs = h.input(Input::Move(HandoffRequest {
        session: sid("breakout"),
        token: Some("tb".into()),
        reason: Some("breakout".into()),
        deadline: None,
        spread_ms: 0,
        id: None,
    }));
    assert!(has_command(
        &outs,
        &Command::Connect {
            session: sid("breakout"),
            token: "tb".into()
        }
    ));
    assert_eq!(h.engine.target_session(), Some(&sid("breakout")));
}
