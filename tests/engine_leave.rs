//! Scenarios: when the old session is left during a handoff: group mode, the moved signals,
//! our own stream live in B, and the overlap and deadline bounds.
#![cfg(not(target_arch = "wasm32"))] // native only: proptest and serde_json are native dev-dependencies

#[path = "engine/harness.rs"]
mod harness;

use harness::*;
use video_handoff::engine::*;

#[test]
fn group_mode_waits_for_every_connection_of_a_to_appear_in_b() {
    let mut h = moving_to_b(&["p1"], at_once());
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
    let mut h = moving_to_b(&["p1"], at_once());
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
    let mut h = moving_to_b(&["p1"], at_once());
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
    let mut h = moving_to_b(&["p1", "p2"], at_once());
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
    let mut h = moving_to_b(&["p1"], at_once());
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
            ..at_once()
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
            ..at_once()
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
    let mut h = live_in_a_with(&["p1"], at_once());
    h.signal(&handoff_to("B", ""));
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
    let mut h = live_in_a_with(&[], at_once());
    h.signal(&handoff_to("B", ""));
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
    let mut h = moving_to_b(&["p1", "p2"], at_once());
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
    let mut h = live_in_a_with(&["p1"], at_once());
    let deadline = h.now + 10_000;
    h.signal(&handoff_to("B", &format!(r#""deadline":{deadline}"#)));
    h.connected("B");
    h.published("B");
    h.arrives("p1", "B");
    h.first_frame("p1", "B");
    // Everyone is shown from B, but p1 has not said it moved: the group rule holds A...
    let outs = h.advance_to(deadline - 2_001);
    assert!(!touches_session(&outs, "A"));
    // ...until the deadline's margin.
    let outs = h.advance_to(deadline - 2_000);
    assert!(completed_by(&outs, LeaveCause::Deadline));
    assert!(has_command(
        &outs,
        &Command::Disconnect { session: sid("A") }
    ));
}

#[test]
fn at_the_deadline_a_tile_keeps_its_old_picture_until_the_new_one_renders() {
    // A short notice: B's stream for p1 has not rendered when the margin comes. A's picture
    // keeps flowing until the platform ends A, so the tile stays on it; the swap and the
    // leave come with B's first frame.
    let mut h = live_in_a_with(&["p1"], at_once());
    let deadline = h.now + 10_000;
    h.signal(&handoff_to("B", &format!(r#""deadline":{deadline}"#)));
    h.connected("B");
    h.published("B");
    h.arrives("p1", "B"); // subscribed, not rendered yet
    let outs = h.advance_to(deadline - 2_000);
    assert!(
        !touches_session(&outs, "A"),
        "A is kept: p1's tile still shows it"
    );
    assert_eq!(h.tile("p1"), Some(src("A", cam("p1", "A"))));
    // No busy timer on the passed margin: the next wake-up is the overlap bound.
    assert!(h.engine.poll_timeout().is_some_and(|t| t > h.now));
    let outs = h.first_frame("p1", "B");
    assert_eq!(h.tile("p1"), Some(src("B", cam("p1", "B"))));
    assert!(completed_by(&outs, LeaveCause::Deadline));
    assert!(has_command(
        &outs,
        &Command::Disconnect { session: sid("A") }
    ));
}

#[test]
fn at_the_deadline_a_tile_waiting_for_its_new_picture_moves_when_the_old_session_ends() {
    let mut h = live_in_a_with(&["p1"], at_once());
    let deadline = h.now + 10_000;
    h.signal(&handoff_to("B", &format!(r#""deadline":{deadline}"#)));
    h.connected("B");
    h.published("B");
    h.arrives("p1", "B"); // never renders
    h.advance_to(deadline);
    assert_eq!(h.tile("p1"), Some(src("A", cam("p1", "A"))));
    // The platform destroys A: the handoff completes on B with what B has.
    let outs = h.input(Input::SessionDisconnected {
        session: sid("A"),
        reason: DisconnectReason::ServerRotation,
    });
    assert!(completed_by(&outs, LeaveCause::OldSessionLost));
    assert_eq!(h.tile("p1"), Some(src("B", cam("p1", "B"))));
}

#[test]
fn a_b_stream_that_never_renders_is_shown_from_b_when_a_bound_forces_the_leave() {
    let mut h = moving_to_b(&["p1"], at_once());
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

fn completed_by(outs: &[Output], cause: LeaveCause) -> bool {
    outs.iter().any(|o| {
        matches!(
            o,
            Output::Event(Event::HandoffCompleted { ended_by, .. }) if *ended_by == cause
        )
    })
}
