//! The group handoff with three engines through one simulated platform (`engine/platform.rs`):
//! sessions, connections, streams, signals and first frames all travel with 150 ms per hop,
//! and each client's moved signal is written by its own engine, not by the test. Every step
//! checks each client's invariants (one source per tile, no blank tile, the engine's view
//! equal to its shell's); the platform also records every picture lost: a stream that died on
//! the server while some viewer's tile still showed it.
#![cfg(not(target_arch = "wasm32"))] // native only: serde_json is a native dev-dependency

#[path = "engine/harness.rs"]
mod harness;
#[path = "engine/platform.rs"]
mod platform;

use harness::{at_once, T0};
use platform::Platform;
use video_handoff::engine::*;

const NAMES: [&str; 3] = ["ann", "bob", "cy"];
const SIGNAL: &str = r#"{"v":1,"sessionId":"B","token":"token-B","reason":"serverRotation"}"#;

/// Given ann, bob and cy live in A, publishing and each showing the other two from A; B exists.
fn live_in_a(config: Config) -> Platform {
    let mut p = Platform::new(&NAMES, config);
    p.create_session("A");
    p.create_session("B");
    for n in NAMES {
        p.join(n, "A");
    }
    p.run_for(5_000);
    for n in NAMES {
        let peer = p.peer(n);
        assert_eq!(peer.h.engine.state(), State::Live, "{n}");
        let others: Vec<_> = NAMES.iter().filter(|o| **o != n).collect();
        for o in others {
            let (s, _) = peer.h.tile(o).unwrap_or_else(|| panic!("{n} shows {o}"));
            assert_eq!(s.as_str(), "A", "{n} shows {o} from A");
        }
    }
    assert_eq!(p.room("A"), (3, 3));
    p.moved_to
        .insert(SessionId::from("A"), SessionId::from("B"));
    p
}

fn completed(p: &Platform, n: &str) -> Option<(LeaveCause, Millis)> {
    p.peer(n).events().find_map(|e| match e {
        Event::HandoffCompleted {
            ended_by,
            overlap_ms,
            ..
        } => Some((*ended_by, *overlap_ms)),
        _ => None,
    })
}

/// When `n` left session `s` (its disconnect command).
fn left(p: &Platform, n: &str, s: &str) -> Option<Millis> {
    p.peer(n)
        .first_command(|c| matches!(c, Command::Disconnect { session } if session.as_str() == s))
}

/// When `n` said in B that it shows everyone from there.
fn said_moved(p: &Platform, n: &str) -> Option<Millis> {
    p.peer(n).first_command(|c| {
        matches!(c, Command::Signal { session, kind, .. }
            if session.as_str() == "B" && kind == "handoff-moved")
    })
}

/// Every client shows both others from `s`, and is in `s` only.
fn all_shown_from(p: &Platform, s: &str) {
    for n in NAMES {
        let peer = p.peer(n);
        for o in NAMES.iter().filter(|o| **o != n) {
            let shown = peer.h.tile(o).map(|(sess, _)| sess.0);
            assert_eq!(shown.as_deref(), Some(s), "{n} shows {o} from {s}");
        }
        assert_eq!(
            p.sessions_of(n),
            vec![SessionId::from(s)],
            "{n} is in {s} only"
        );
    }
}

#[test]
fn three_engines_move_together_and_nobody_loses_a_picture() {
    let mut p = live_in_a(at_once());

    p.rest_signal("A", SIGNAL, |_| 0);
    p.run_for(60_000);

    all_shown_from(&p, "B");
    assert_eq!(p.room("A"), (0, 0));
    assert_eq!(p.room("B"), (3, 3));
    for n in NAMES {
        assert_eq!(
            completed(&p, n).map(|(cause, _)| cause),
            Some(LeaveCause::AllMoved),
            "{n}"
        );
        assert_eq!(p.peer(n).h.engine.state(), State::Live);
        let swapped = p
            .peer(n)
            .events()
            .filter(|e| matches!(e, Event::ParticipantSwapped { .. }))
            .count();
        assert_eq!(swapped, 2, "{n} swapped each other participant once");
    }
    assert_eq!(p.lost_pictures, vec![], "no viewer lost a picture");
    // Nobody is reported as leaving and rejoining.
    for n in NAMES {
        assert!(!p
            .peer(n)
            .events()
            .any(|e| matches!(e, Event::ParticipantLeft { .. })));
    }
}

#[test]
fn everyone_stays_in_the_old_session_until_the_last_peer_shows_them_from_the_new_one() {
    let mut p = live_in_a(at_once());

    // cy hears of the move 6 s after the others.
    p.rest_signal("A", SIGNAL, |n| if n == "cy" { 6_000 } else { 0 });
    p.run_for(60_000);

    all_shown_from(&p, "B");
    let cy_moved = said_moved(&p, "cy").expect("cy said it moved");
    for n in ["ann", "bob"] {
        let t = left(&p, n, "A").expect("left A");
        assert!(
            t >= cy_moved + p.latency,
            "{n} left A at +{} ms, before cy's moved signal (+{} ms) reached it",
            t - T0,
            cy_moved - T0
        );
        let (cause, overlap) = completed(&p, n).expect("completed");
        assert_eq!(cause, LeaveCause::AllMoved, "{n}");
        assert!(overlap >= 6_000, "{n} held both sessions {overlap} ms");
    }
    assert_eq!(p.lost_pictures, vec![], "no viewer lost a picture");
}

#[test]
fn a_peer_whose_connects_fail_for_a_while_is_retried_and_waited_for() {
    let mut p = live_in_a(at_once());
    let cy = SessionId::from("B");
    p.connect_failures
        .insert((2, cy), [1006, 1006].into_iter().collect());

    p.rest_signal("A", SIGNAL, |_| 0);
    p.run_for(60_000);

    let failures: Vec<_> = p
        .peer("cy")
        .events()
        .filter_map(|e| match e {
            Event::HandoffFailed { will_retry, .. } => Some(*will_retry),
            _ => None,
        })
        .collect();
    assert_eq!(
        failures,
        vec![true, true],
        "cy's two failures, each retried"
    );
    all_shown_from(&p, "B");
    for n in NAMES {
        assert_eq!(
            completed(&p, n).map(|(c, _)| c),
            Some(LeaveCause::AllMoved),
            "{n}"
        );
    }
    assert_eq!(p.lost_pictures, vec![]);
}

#[test]
fn a_peer_that_cannot_join_is_waited_for_only_until_the_overlap_bound() {
    let config = at_once();
    let max_overlap = config.max_overlap_ms;
    let mut p = live_in_a(config);
    p.connect_failures
        .insert((2, SessionId::from("B")), [1004].into_iter().collect());

    p.rest_signal("A", SIGNAL, |_| 0);
    p.run_for(max_overlap + 20_000);

    // cy gives up at once (a permanent error) and stays where it was.
    let gave_up = p.peer("cy").events().any(|e| {
        matches!(
            e,
            Event::HandoffFailed {
                will_retry: false,
                stopped: Some(StopCause::Permanent),
                ..
            }
        )
    });
    assert!(gave_up, "cy reports that it will not retry, and why");
    assert_eq!(p.peer("cy").h.engine.state(), State::Live);
    assert_eq!(p.sessions_of("cy"), vec![SessionId::from("A")]);
    // ann and bob wait for cy in A until the bound, then leave.
    for n in ["ann", "bob"] {
        let (cause, overlap) = completed(&p, n).expect("completed");
        assert_eq!(cause, LeaveCause::MaxOverlap, "{n}");
        assert!(overlap >= max_overlap, "{n} waited {overlap} ms");
        assert_eq!(p.sessions_of(n), vec![SessionId::from("B")]);
    }
    // Only cy, left behind, lost pictures: ann's and bob's, when the bound ended the overlap.
    assert!(!p.lost_pictures.is_empty());
    assert!(p.lost_pictures.iter().all(|(_, viewer, _)| viewer == "cy"));
}

#[test]
fn the_old_session_destroyed_mid_handoff_promotes_the_new_one_and_a_peer_that_missed_the_signal_recovers(
) {
    // The app gives resolveSession and a tokenProvider (resolveSession names a session only).
    let config = Config {
        has_resolve_session: true,
        has_token_provider: true,
        ..at_once()
    };
    let mut p = live_in_a(config);

    // cy's signal would come 20 s late; A is destroyed 10 s after the others heard of B.
    p.rest_signal("A", SIGNAL, |n| if n == "cy" { 20_000 } else { 0 });
    p.run_for(10_000);
    p.destroy("A");
    p.run_for(60_000);

    for n in ["ann", "bob"] {
        let (cause, _) = completed(&p, n).expect("completed");
        assert_eq!(cause, LeaveCause::OldSessionLost, "{n}");
    }
    // cy lost A with no handoff under way: resolveSession named B, and it went there.
    let recovered = p.peer("cy").events().any(|e| {
        matches!(
            e,
            Event::RecoveryStarted {
                reason: DisconnectReason::ServerRotation,
                ..
            }
        )
    });
    assert!(recovered, "cy recovered");
    all_shown_from(&p, "B");
    for n in NAMES {
        assert_eq!(p.peer(n).h.engine.state(), State::Live, "{n}");
        assert!(!p
            .peer(n)
            .events()
            .any(|e| matches!(e, Event::SessionEnded { .. })));
    }
}
