//! Scenarios: a handoff that costs little (issue 13). The new session's subscriptions are
//! made one at a time while everyone is still shown from the old one; a subscription that
//! never renders holds the next back only for `subscribe_pace_ms`; a participant with nothing
//! shown is never made to wait; the publisher is prepared while the connect goes on.
#![cfg(not(target_arch = "wasm32"))] // native only: serde_json is a native dev-dependency

#[path = "engine/harness.rs"]
mod harness;

use harness::*;
use video_handoff::engine::*;

/// Live in A with `participants`, then signalled to B and connected there.
fn connected_to_b(participants: &[&str], config: Config) -> Harness {
    let mut h = Harness::new(config);
    h.live_in("A");
    for p in participants {
        h.arrives(p, "A");
        h.first_frame(p, "A");
    }
    h.signal(&handoff_to("B", ""));
    h.connected("B");
    h
}

fn subscribes_in(outs: &[Output], s: &str) -> Vec<ParticipantKey> {
    commands(outs)
        .into_iter()
        .filter_map(|c| match c {
            Command::Subscribe { session, key, .. } if session == sid(s) => Some(key),
            _ => None,
        })
        .collect()
}

#[test]
fn new_session_subscriptions_are_made_one_at_a_time() {
    let mut h = connected_to_b(&["p1", "p2", "p3"], Config::default());
    let mut made = Vec::new();
    for p in ["p1", "p2", "p3"] {
        made.extend(subscribes_in(&h.arrives(p, "B"), "B"));
    }
    assert_eq!(
        made,
        vec![key("p1")],
        "only the first while it has not rendered"
    );
    assert_eq!(
        subscribes_in(&h.first_frame("p1", "B"), "B"),
        vec![key("p2")]
    );
    assert_eq!(
        subscribes_in(&h.first_frame("p2", "B"), "B"),
        vec![key("p3")]
    );
    assert!(subscribes_in(&h.first_frame("p3", "B"), "B").is_empty());
    for p in ["p1", "p2", "p3"] {
        assert_eq!(h.tile(p), Some(src("B", cam(p, "B"))), "{p} swapped");
    }
}

/// The same as `connected_to_b`, with B's media mode as the client reports it.
fn connected_to_b_in(participants: &[&str], routed: Option<bool>) -> Harness {
    let mut h = Harness::new(Config::default());
    h.live_in("A");
    for p in participants {
        h.arrives(p, "A");
        h.first_frame(p, "A");
    }
    h.signal(&handoff_to("B", ""));
    h.routed = routed;
    h.connected("B");
    h
}

#[test]
fn a_routed_session_subscribes_to_everyone_at_once() {
    // Routed: each new subscription is a stream the media server already has; pacing them
    // only adds their set-up times up.
    let mut h = connected_to_b_in(&["p1", "p2", "p3"], Some(true));
    let mut made = Vec::new();
    for p in ["p1", "p2", "p3"] {
        made.extend(subscribes_in(&h.arrives(p, "B"), "B"));
    }
    assert_eq!(made, vec![key("p1"), key("p2"), key("p3")]);
    // Still each swapped only on its own first frame, in whatever order they render.
    h.first_frame("p3", "B");
    assert_eq!(h.tile("p3"), Some(src("B", cam("p3", "B"))));
    assert_eq!(h.tile("p1"), Some(src("A", cam("p1", "A"))));
}

#[test]
fn relayed_and_unknown_sessions_are_paced() {
    for routed in [Some(false), None] {
        let mut h = connected_to_b_in(&["p1", "p2"], routed);
        let mut made = subscribes_in(&h.arrives("p1", "B"), "B");
        made.extend(subscribes_in(&h.arrives("p2", "B"), "B"));
        assert_eq!(made, vec![key("p1")], "routed {routed:?}: one at a time");
    }
}

#[test]
fn the_routed_bound_is_its_own_knob() {
    let config = Config {
        max_pending_subscribes_routed: 1,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    h.live_in("A");
    for p in ["p1", "p2"] {
        h.arrives(p, "A");
        h.first_frame(p, "A");
    }
    h.signal(&handoff_to("B", ""));
    h.routed = Some(true);
    h.connected("B");
    let mut made = subscribes_in(&h.arrives("p1", "B"), "B");
    made.extend(subscribes_in(&h.arrives("p2", "B"), "B"));
    assert_eq!(made, vec![key("p1")]);
}

#[test]
fn a_subscription_that_never_renders_holds_the_next_back_only_for_the_pace_bound() {
    let config = Config {
        subscribe_pace_ms: 2_000,
        ..Config::default()
    };
    let mut h = connected_to_b(&["p1", "p2"], config);
    h.arrives("p1", "B");
    assert!(subscribes_in(&h.arrives("p2", "B"), "B").is_empty());
    let t0 = h.now;
    // The engine's timer is due when p1's subscription stops counting.
    assert_eq!(h.engine.poll_timeout(), Some(t0 + 2_000));
    assert!(subscribes_in(&h.advance(1_999), "B").is_empty());
    assert_eq!(subscribes_in(&h.advance(1), "B"), vec![key("p2")]);
    // p1 still shown from A meanwhile: nobody went blank.
    assert_eq!(h.tile("p1"), Some(src("A", cam("p1", "A"))));
}

#[test]
fn a_failed_subscription_gives_its_turn_to_the_next() {
    let mut h = connected_to_b(&["p1", "p2"], Config::default());
    h.arrives("p1", "B");
    h.arrives("p2", "B");
    let outs = h.input(Input::SubscribeFailed {
        session: sid("B"),
        stream: cam("p1", "B"),
        error: "OT_STREAM_NOT_FOUND".into(),
    });
    assert_eq!(subscribes_in(&outs, "B"), vec![key("p2")]);
    assert_eq!(
        h.tile("p1"),
        Some(src("A", cam("p1", "A"))),
        "p1 stays on A"
    );
}

#[test]
fn a_participant_with_nothing_shown_is_subscribed_at_once() {
    let mut h = connected_to_b(&["p1"], Config::default());
    h.arrives("p1", "B"); // pending, not rendered
                          // p9 joined only the new session: a blank tile is worse than one more decoder.
    let outs = h.arrives("p9", "B");
    assert_eq!(subscribes_in(&outs, "B"), vec![key("p9")]);
}

#[test]
fn without_a_limit_every_new_subscription_is_made_at_once() {
    let config = Config {
        max_pending_subscribes: 0,
        ..Config::default()
    };
    let mut h = connected_to_b(&["p1", "p2", "p3"], config);
    let mut made = Vec::new();
    for p in ["p1", "p2", "p3"] {
        made.extend(subscribes_in(&h.arrives(p, "B"), "B"));
    }
    assert_eq!(made, vec![key("p1"), key("p2"), key("p3")]);
}

#[test]
fn joining_is_not_paced() {
    // Pacing is about the overlap of two sessions: a first join subscribes to everyone.
    let mut h = Harness::new(Config::default());
    h.live_in("A");
    let mut made = Vec::new();
    for p in ["p1", "p2", "p3"] {
        made.extend(subscribes_in(&h.arrives(p, "A"), "A"));
    }
    assert_eq!(made, vec![key("p1"), key("p2"), key("p3")]);
}

#[test]
fn the_publisher_is_prepared_with_each_connect_and_published_on_connect() {
    let mut h = Harness::new(Config::default());
    h.live_in("A");
    let outs = h.signal(&handoff_to("B", ""));
    assert_eq!(
        commands(&outs),
        vec![
            Command::Connect {
                session: sid("B"),
                token: "token-B".into()
            },
            Command::PreparePublish { session: sid("B") },
        ]
    );
    // A failed attempt: the next one prepares again (the shell dropped the first with it).
    let outs = h.input(Input::ConnectFailed {
        session: sid("B"),
        error: "OT_CONNECT_FAILED".into(),
        code: Some(1006),
    });
    let next = h.engine.poll_timeout().unwrap();
    assert!(!commands(&outs)
        .iter()
        .any(|c| matches!(c, Command::Publish { .. })));
    let outs = h.advance_to(next);
    assert!(has_command(
        &outs,
        &Command::PreparePublish { session: sid("B") }
    ));
    assert!(has_command(
        &h.connected("B"),
        &Command::Publish { session: sid("B") }
    ));
}

#[test]
fn watch_only_prepares_nothing() {
    let config = Config {
        publish: false,
        ..Config::default()
    };
    let mut h = Harness::new(config);
    h.live_in("A");
    let outs = h.signal(&handoff_to("B", ""));
    assert!(!commands(&outs)
        .iter()
        .any(|c| matches!(c, Command::PreparePublish { .. } | Command::Publish { .. })));
}
