//! Scenarios: the vendor's own migration (`sessionMigration: true`) beside the handoff. The
//! vendor's client moves itself within the same session and says only `migrated` at the end;
//! the engine reports it for a session it is in and changes nothing else, so a handoff under
//! way goes on as if nothing happened, whichever session migrated.
#![cfg(not(target_arch = "wasm32"))]

#[path = "engine/harness.rs"]
mod harness;

use harness::*;
use video_handoff::engine::*;

fn migrated(h: &mut Harness, s: &str) -> Vec<Output> {
    h.input(Input::Migrated { session: sid(s) })
}

#[test]
fn a_migration_of_the_live_session_is_reported_and_changes_nothing() {
    let mut h = live_in_a_with(&["p1", "p2"], at_once());
    let outs = migrated(&mut h, "A");
    assert_eq!(
        events(&outs),
        vec![Event::SessionMigrated { session: sid("A") }]
    );
    assert!(commands(&outs).is_empty());
    assert_eq!(h.engine.state(), State::Live);
    assert_eq!(h.tile("p1"), Some(src("A", cam("p1", "A"))));
    assert_eq!(h.engine.poll_timeout(), None, "nothing scheduled");
}

#[test]
fn news_of_a_session_the_call_is_not_in_is_not_the_apps() {
    let mut h = live_in_a_with(&["p1"], at_once());
    assert!(migrated(&mut h, "C").is_empty());
    // A session left after a handoff: its late `migrated` is not news either.
    let mut h = moving_to_b(&["p1"], at_once());
    h.arrives("p1", "B");
    h.advance(600);
    h.first_frame("p1", "B");
    h.advance(100);
    h.moved("p1", "B", "A");
    assert_eq!(h.engine.live_session(), Some(&sid("B")), "A was left");
    assert!(migrated(&mut h, "A").is_empty());
}

#[test]
fn a_handoff_goes_on_when_either_session_migrates_during_it() {
    for migrating in ["A", "B"] {
        let mut h = moving_to_b(&["p1"], at_once());
        let outs = migrated(&mut h, migrating);
        assert_eq!(
            events(&outs),
            vec![Event::SessionMigrated {
                session: sid(migrating)
            }],
            "{migrating} migrated"
        );
        assert!(commands(&outs).is_empty(), "{migrating} migrated");
        assert_eq!(h.engine.state(), State::Handoff);
        // The move ends as it would have: p1 appears and renders in B, says it moved, A is left.
        h.arrives("p1", "B");
        h.advance(600);
        h.first_frame("p1", "B");
        h.advance(100);
        let outs = h.moved("p1", "B", "A");
        assert!(
            has_command(&outs, &Command::Disconnect { session: sid("A") }),
            "{migrating} migrated"
        );
        assert_eq!(h.tile("p1"), Some(src("B", cam("p1", "B"))));
        assert_eq!(h.engine.state(), State::Live);
    }
}
