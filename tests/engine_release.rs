//! Scenarios: the commands that release media (`Unsubscribe`, the `Disconnect` of a session
//! left) go out one at a time, `release_spacing_ms` apart, while what a person sees changes
//! at once; a reconnect, a new subscription to the same stream and closing let them out first.
#![cfg(not(target_arch = "wasm32"))] // native only: proptest and serde_json are native dev-dependencies

#[path = "engine/harness.rs"]
mod harness;

use harness::*;
use video_handoff::engine::*;

fn is_release(c: &Command) -> bool {
    matches!(c, Command::Unsubscribe { .. } | Command::Disconnect { .. })
}

fn releases(outs: &[Output]) -> Vec<Command> {
    commands(outs).into_iter().filter(is_release).collect()
}

/// Given live in A with p1 and p2, moving to B, where both are shown from B and have said so.
fn everyone_moved_to_b() -> (Harness, Vec<Output>) {
    let mut h = moving_to_b(&["p1", "p2"], Config::default());
    let mut outs = Vec::new();
    for p in ["p1", "p2"] {
        outs.extend(h.arrives(p, "B"));
        outs.extend(h.first_frame(p, "B"));
    }
    for p in ["p1", "p2"] {
        outs.extend(h.moved(p, "B", "A"));
    }
    (h, outs)
}

#[test]
fn the_spacing_is_100_ms_unless_configured() {
    assert_eq!(Config::default().release_spacing_ms, 100);
}

#[test]
fn a_handoff_swaps_and_leaves_at_once_but_releases_the_old_media_one_step_at_a_time() {
    // Given a handoff where every participant is shown from B and every peer has moved.
    let (mut h, outs) = everyone_moved_to_b();

    // Then the swaps and the leave happened (tiles on B, A left, handoffCompleted)...
    assert_eq!(h.tile("p1").map(|t| t.0), Some(sid("B")));
    assert_eq!(h.tile("p2").map(|t| t.0), Some(sid("B")));
    assert!(events(&outs)
        .iter()
        .any(|e| matches!(e, Event::HandoffCompleted { .. })));
    // ...but nothing of A was released yet: the old subscribers stay, hidden, and A is open.
    assert_eq!(releases(&outs), vec![]);
    assert_eq!(
        h.engine.waiting_releases().cloned().collect::<Vec<_>>(),
        vec![
            Command::Unsubscribe {
                session: sid("A"),
                stream: cam("p1", "A")
            },
            Command::Unsubscribe {
                session: sid("A"),
                stream: cam("p2", "A")
            },
            Command::Disconnect { session: sid("A") },
        ]
    );

    // When time passes, one release goes out per 100 ms, in order, each on a timer of its own.
    let start = h.now;
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let at = h
            .engine
            .poll_timeout()
            .expect("a timer for the next release");
        let out = h.fire_timer();
        let released = releases(&out);
        assert_eq!(released.len(), 1, "one release per step: {out:?}");
        seen.push((at - start, released[0].clone()));
    }
    assert_eq!(
        seen,
        vec![
            (
                100,
                Command::Unsubscribe {
                    session: sid("A"),
                    stream: cam("p1", "A")
                }
            ),
            (
                200,
                Command::Unsubscribe {
                    session: sid("A"),
                    stream: cam("p2", "A")
                }
            ),
            (300, Command::Disconnect { session: sid("A") }),
        ]
    );
    assert!(h.engine.waiting_releases().next().is_none());
    assert!(!h.shell.open.contains(&sid("A")));
}

#[test]
fn releasing_at_once_is_a_setting() {
    // Given the same handoff with the spacing set to 0.
    let mut h = moving_to_b(&["p1"], at_once());
    h.arrives("p1", "B");
    let outs = h.first_frame("p1", "B");
    let outs = [outs, h.moved("p1", "B", "A")].concat();

    // Then the old subscriber and the old session go in the same step as the swap and leave.
    assert_eq!(
        releases(&outs),
        vec![
            Command::Unsubscribe {
                session: sid("A"),
                stream: cam("p1", "A")
            },
            Command::Disconnect { session: sid("A") },
        ]
    );
    assert!(h.engine.waiting_releases().next().is_none());
}

#[test]
fn closing_lets_every_waiting_release_out_before_its_own_commands() {
    let (mut h, _) = everyone_moved_to_b();
    assert_eq!(h.engine.waiting_releases().count(), 3);

    // When the app closes the call before any release went out.
    let outs = h.input(Input::Close);

    // Then A's releases come first, in order, then B is left; nothing waits any more.
    let cmds = commands(&outs);
    let a_disconnect = cmds
        .iter()
        .position(|c| c == &Command::Disconnect { session: sid("A") })
        .expect("A released");
    let b_disconnect = cmds
        .iter()
        .position(|c| c == &Command::Disconnect { session: sid("B") })
        .expect("B left");
    assert!(a_disconnect < b_disconnect, "{cmds:?}");
    assert!(h.engine.waiting_releases().next().is_none());
    assert_eq!(h.engine.poll_timeout(), None);
}

#[test]
fn a_reconnect_to_a_session_lets_out_its_waiting_disconnect_first() {
    // Given a move to B that superseded a move to C (C is left, its Disconnect waits).
    let mut h = live_in_a_with(&["p1"], Config::default());
    h.signal(&handoff_to("C", ""));
    h.connected("C");
    h.signal(&handoff_to("B", ""));
    assert!(h
        .engine
        .waiting_releases()
        .any(|c| c == &Command::Disconnect { session: sid("C") }));

    // When the app moves the call back to C (breakout rooms) before that release went out.
    let back = parse_signal(&handoff_to("C", "")).unwrap();
    let outs = h.input(Input::Move(back));
    let outs = [outs, h.advance(1)].concat();

    // Then C's old connection is released before the new Connect to C, not after it.
    let cmds = commands(&outs);
    let released = cmds
        .iter()
        .position(|c| c == &Command::Disconnect { session: sid("C") });
    let connect = cmds
        .iter()
        .position(|c| matches!(c, Command::Connect { session, .. } if session == &sid("C")));
    assert!(
        matches!((released, connect), (Some(r), Some(c)) if r < c),
        "{cmds:?}"
    );
    assert!(h.shell.open.contains(&sid("C")));
}

#[test]
fn a_session_lost_under_us_has_nothing_left_to_release() {
    let (mut h, _) = everyone_moved_to_b();

    // When A is destroyed by the platform before its releases went out.
    h.lost("A", DisconnectReason::ServerRotation);

    // Then they are dropped: the vendor destroyed A's subscribers and publisher itself.
    assert!(h.engine.waiting_releases().next().is_none());
    let outs = h.advance(1_000);
    assert_eq!(releases(&outs), vec![]);
}
