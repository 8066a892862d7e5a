//! Scenarios: a handoff from A to B: swaps on first frame, the spread delay, tokens for B, A
//! lost mid-handoff, and a move the app asks for.
#![cfg(not(target_arch = "wasm32"))] // native only: proptest and serde_json are native dev-dependencies

#[path = "engine/harness.rs"]
mod harness;

use harness::*;
use video_handoff::engine::*;

#[test]
fn full_handoff_swaps_each_participant_on_first_frame_then_leaves_a() {
    // Given live in A with p1 and p2.
    let mut h = live_in_a_with(&["p1", "p2"], at_once());
    let t_signal = h.now;

    // When the server signals a move to B with a 1 s spread...
    let outs = h.signal(&handoff_to(
        "B",
        r#""reason":"serverRotation","spreadMs":1000,"id":"m1""#,
    ));
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
        let mut h = Harness::with_seed(at_once(), seed);
        h.live_in("A");
        let t = h.now;
        h.signal(&handoff_to("B", r#""spreadMs":1000"#));
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
            ..at_once()
        },
    );
    let outs = h.signal(r#"{"v":1,"sessionId":"B"}"#);
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
    let mut h = live_in_a_with(&["p1"], at_once());
    let outs = h.signal(r#"{"v":1,"sessionId":"B"}"#);
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

#[test]
fn a_destroyed_mid_handoff_promotes_whatever_b_has_at_once() {
    let mut h = moving_to_b(&["p1", "p2"], at_once());
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
    let mut h = live_in_a_with(&["p1"], at_once());
    h.signal(&handoff_to("B", r#""spreadMs":5000"#));
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
    let mut h = live_in_a_with(&["p1"], at_once());
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

/// With `swap_figure_wait_ms`, a swap's event waits for its frame gap and every event behind
/// it waits too; its commands do not.
fn swapping_p1(wait: Millis) -> Harness {
    let config = Config {
        swap_figure_wait_ms: wait,
        max_pending_subscribes: 0,
        ..at_once()
    };
    let mut h = moving_to_b(&["p1", "p2"], config);
    h.arrives("p1", "B");
    h.arrives("p2", "B");
    h
}

fn swapped(outs: &[Output]) -> Vec<String> {
    events(outs)
        .iter()
        .filter_map(|e| match e {
            Event::ParticipantSwapped { key, .. } => Some(key.0.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_swaps_event_waits_for_its_figure_and_the_events_behind_it_wait_too() {
    let mut h = swapping_p1(1_500);
    let outs = h.first_frame("p1", "B");
    assert!(has_command(
        &outs,
        &Command::Unsubscribe {
            session: sid("A"),
            stream: cam("p1", "A")
        }
    ));
    assert_eq!(swapped(&outs), Vec::<String>::new(), "p1's event waits");
    let outs = h.first_frame("p2", "B");
    assert!(
        !commands(&outs).is_empty(),
        "p2's swap is carried out at once"
    );
    assert!(events(&outs).is_empty(), "behind p1's, p2's event waits");

    // p2's figure first: still behind p1's.
    let outs = h.input(Input::SwapMeasured { key: key("p2") });
    assert!(events(&outs).is_empty());
    let outs = h.input(Input::SwapMeasured { key: key("p1") });
    assert_eq!(
        swapped(&outs),
        vec!["p1", "p2"],
        "in the order they happened"
    );
}

#[test]
fn a_swaps_event_waits_for_its_figure_no_longer_than_the_bound() {
    let mut h = swapping_p1(1_500);
    let swap_at = h.now;
    assert_eq!(swapped(&h.first_frame("p1", "B")), Vec::<String>::new());
    assert_eq!(h.engine.poll_timeout(), Some(swap_at + 1_500));
    let outs = h.advance(1_499);
    assert!(swapped(&outs).is_empty());
    let outs = h.advance(1);
    assert_eq!(swapped(&outs), vec!["p1"]);
    // A figure for a swap nobody waits for changes nothing.
    assert!(h.input(Input::SwapMeasured { key: key("p1") }).is_empty());
}

#[test]
fn closing_lets_the_waiting_events_out_before_closed() {
    let mut h = swapping_p1(1_500);
    h.first_frame("p1", "B");
    let outs = h.input(Input::Close);
    let evs = events(&outs);
    let swap = evs
        .iter()
        .position(|e| matches!(e, Event::ParticipantSwapped { .. }))
        .expect("the swap's event");
    assert_eq!(
        evs.last(),
        Some(&Event::StateChanged {
            state: State::Closed
        })
    );
    assert!(swap < evs.len() - 1);
}

#[test]
fn without_a_wait_a_swaps_event_goes_out_at_once() {
    let mut h = swapping_p1(0);
    assert_eq!(swapped(&h.first_frame("p1", "B")), vec!["p1"]);
}
