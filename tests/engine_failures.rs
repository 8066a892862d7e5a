//! Scenarios: connecting to the new session failing, timing out, tokens failing, the new
//! session dropping, publishing failing, and recovering a live session lost without a
//! handoff (rotation via resolveSession or same-ID rejoin, network loss, being kicked).
#![cfg(not(target_arch = "wasm32"))] // native only: proptest and serde_json are native dev-dependencies

#[path = "engine/harness.rs"]
mod harness;

use harness::*;
use video_handoff::engine::*;

fn failed(outs: &[Output]) -> Vec<(HandoffError, bool, Option<Millis>)> {
    events(outs)
        .into_iter()
        .filter_map(|e| match e {
            Event::HandoffFailed {
                error,
                will_retry,
                next_attempt_at,
                ..
            } => Some((error, will_retry, next_attempt_at)),
            _ => None,
        })
        .collect()
}

#[test]
fn b_failing_to_connect_is_retried_with_jittered_backoff_while_a_stays_untouched() {
    let mut h = live_in_a_with(&["p1"], at_once());
    let mut all = h.signal(&handoff_to("B", ""));
    let mut bounds = Vec::new();
    // The first attempt and four retries (max_attempts 5): each retry waits a jittered,
    // doubling delay.
    for attempt in 0..4u32 {
        let outs = h.input(Input::ConnectFailed {
            session: sid("B"),
            error: "OT_CONNECT_FAILED".into(),
            code: Some(1006),
        });
        let f = failed(&outs);
        assert_eq!(f.len(), 1);
        let (error, will_retry, next) = f[0].clone();
        assert_eq!(
            error,
            HandoffError::ConnectFailed {
                detail: "OT_CONNECT_FAILED".into(),
                code: Some(1006),
            }
        );
        assert!(will_retry);
        let delay = next.unwrap() - h.now;
        let bound = (500u64 << attempt).min(8_000);
        assert!(delay < bound, "attempt {attempt}: delay {delay} >= {bound}");
        bounds.push(bound);
        all.extend(outs);
        // The next attempt comes exactly then, with the same token.
        let outs = h.advance_to(next.unwrap());
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
        all.extend(outs);
        assert_eq!(h.engine.state(), State::Handoff);
    }
    assert!(
        !touches_session(&all, "A"),
        "A untouched during the failures"
    );
    assert_eq!(h.tile("p1"), Some(src("A", cam("p1", "A"))));
    // Then B works.
    h.connected("B");
    h.published("B");
    h.moves("p1", "A", "B");
    let outs = h.first_frame("p1", "B");
    assert!(has_command(
        &outs,
        &Command::Disconnect { session: sid("A") }
    ));
}

#[test]
fn b_timing_out_is_disconnected_and_retried() {
    let mut h = live_in_a_with(&[], at_once());
    h.signal(&handoff_to("B", ""));
    let outs = h.advance(14_999);
    assert!(outs.is_empty());
    let outs = h.advance(1);
    assert_eq!(
        commands(&outs),
        vec![Command::Disconnect { session: sid("B") }]
    );
    let f = failed(&outs);
    assert_eq!(f[0].0, HandoffError::ConnectTimeout);
    assert!(f[0].1);
    // A late Connected from the abandoned attempt is ignored.
    let outs = h.connected("B");
    assert!(outs.is_empty());
    let outs = h.advance_to(f[0].2.unwrap());
    assert!(has_command(
        &outs,
        &Command::Connect {
            session: sid("B"),
            token: "token-B".into()
        }
    ));
}

#[test]
fn a_failing_token_provider_is_retried_with_backoff() {
    let mut h = live_in_a_with(
        &[],
        Config {
            has_token_provider: true,
            ..at_once()
        },
    );
    h.signal(r#"{"v":1,"sessionId":"B"}"#);
    let outs = h.input(Input::Token {
        session: sid("B"),
        result: Err("HTTP 503".into()),
    });
    let f = failed(&outs);
    assert_eq!(
        f[0].0,
        HandoffError::TokenProviderFailed {
            detail: "HTTP 503".into(),
            permanent: false,
        }
    );
    assert!(f[0].1);
    let outs = h.advance_to(f[0].2.unwrap());
    assert_eq!(
        commands(&outs),
        vec![Command::RequestToken { session: sid("B") }]
    );
    // A stale answer for a session nobody waits for changes nothing.
    assert!(h
        .input(Input::Token {
            session: sid("Z"),
            result: Ok("x".into())
        })
        .is_empty());
    let outs = h.input(Input::Token {
        session: sid("B"),
        result: Ok("jwt".into()),
    });
    assert_eq!(
        commands(&outs),
        vec![
            Command::Connect {
                session: sid("B"),
                token: "jwt".into()
            },
            Command::PreparePublish { session: sid("B") }
        ]
    );
}

#[test]
fn retries_stop_at_the_deadline_and_a_stays_live() {
    let mut h = live_in_a_with(&["p1"], at_once());
    let deadline = h.now + 6_000; // retries until deadline - 2 s margin
    let mut all = h.signal(&handoff_to("B", &format!(r#""deadline":{deadline}"#)));
    let mut last = None;
    for _ in 0..50 {
        let outs = h.input(Input::ConnectFailed {
            session: sid("B"),
            error: "E".into(),
            code: None,
        });
        let (_, will_retry, next) = failed(&outs)[0].clone();
        all.extend(outs);
        if !will_retry {
            assert_eq!(next, None);
            last = Some(h.now);
            break;
        }
        assert!(
            next.unwrap() < deadline - 2_000,
            "no attempt at or after deadline - margin"
        );
        all.extend(h.advance_to(next.unwrap()));
    }
    assert!(last.is_some(), "gave up in the end");
    assert!(!touches_session(&all, "A"));
    assert_eq!(h.engine.state(), State::Live);
    assert_eq!(h.engine.target_session(), None);
    assert_eq!(h.tile("p1"), Some(src("A", cam("p1", "A"))));
    // No timer keeps trying.
    let outs = h.advance(60_000);
    assert!(commands(&outs).is_empty());
}

#[test]
fn a_move_given_up_at_its_deadline_is_where_recovery_goes_when_a_dies() {
    let mut h = live_in_a_with(&["p1"], at_once());
    let deadline = h.now + 2_000; // deadline - margin is now: no time for any retry
    h.signal(&handoff_to("B", &format!(r#""deadline":{deadline}"#)));
    let outs = h.input(Input::ConnectFailed {
        session: sid("B"),
        error: "E".into(),
        code: None,
    });
    assert!(!failed(&outs)[0].1);
    h.advance_to(deadline);
    let outs = h.lost("A", DisconnectReason::ServerRotation);
    assert!(has_command(
        &outs,
        &Command::Connect {
            session: sid("B"),
            token: "token-B".into()
        }
    ));
    assert_eq!(h.engine.state(), State::Recovering);
}

#[test]
fn b_dropping_after_connecting_puts_tiles_back_on_a_and_retries_b() {
    let mut h = live_in_a_with(&["p1"], at_once());
    h.signal(&handoff_to("B", ""));
    h.connected("B");
    h.arrives("p1", "B");
    h.first_frame("p1", "B"); // p1 now shown from B, A's subscriber gone
    assert_eq!(h.tile("p1"), Some(src("B", cam("p1", "B"))));
    let outs = h.lost("B", DisconnectReason::NetworkDisconnected);
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
                replaces: Some(src("B", cam("p1", "B")))
            },
        ]
    );
    let f = failed(&outs);
    assert_eq!(
        f[0].0,
        HandoffError::ConnectFailed {
            detail: "networkDisconnected".into(),
            code: None,
        }
    );
    assert!(f[0].1);
    let outs = h.advance_to(f[0].2.unwrap());
    assert!(has_command(
        &outs,
        &Command::Connect {
            session: sid("B"),
            token: "token-B".into()
        }
    ));
}

#[test]
fn publishing_into_b_failing_is_retried_and_a_is_left_only_by_a_bound() {
    let mut h = live_in_a_with(&[], at_once());
    h.signal(&handoff_to("B", ""));
    h.connected("B");
    let outs = h.input(Input::PublishFailed {
        session: sid("B"),
        error: "OT_USER_MEDIA_ACCESS_DENIED".into(),
    });
    let f = failed(&outs);
    assert_eq!(
        f[0].0,
        HandoffError::PublishFailed {
            detail: "OT_USER_MEDIA_ACCESS_DENIED".into()
        }
    );
    let outs = h.advance_to(f[0].2.unwrap());
    assert_eq!(
        commands(&outs),
        vec![Command::Publish { session: sid("B") }]
    );
    for _ in 1..MAX_PUBLISH_ATTEMPTS {
        let outs = h.input(Input::PublishFailed {
            session: sid("B"),
            error: "denied".into(),
        });
        if let Some(next) = failed(&outs)[0].2 {
            h.advance_to(next);
        }
    }
    assert!(!h.log.iter().any(
        |o| matches!(o, Output::Command(Command::Disconnect { session }) if session.as_str() == "A")
    ));
    let outs = h.advance(30_000);
    assert!(has_command(
        &outs,
        &Command::Disconnect { session: sid("A") }
    ));
}

#[test]
fn a_failed_subscribe_is_reported_and_the_participant_stays_shown_from_a() {
    let mut h = live_in_a_with(&["p1"], at_once());
    h.signal(&handoff_to("B", ""));
    h.connected("B");
    h.published("B");
    h.arrives("p1", "B");
    let outs = h.input(Input::SubscribeFailed {
        session: sid("B"),
        stream: cam("p1", "B"),
        error: "OT_STREAM_NOT_FOUND".into(),
    });
    assert!(has_event(
        &outs,
        &Event::SubscribeFailed {
            key: Some(key("p1")),
            session: sid("B"),
            stream: cam("p1", "B"),
            detail: "OT_STREAM_NOT_FOUND".into(),
        }
    ));
    assert_eq!(
        h.shell.shown.get(&key("p1")),
        Some(&(sid("A"), cam("p1", "A"))),
        "still shown from A"
    );
    // A failure for a stream the engine never subscribed to is not ours to report.
    let outs = h.input(Input::SubscribeFailed {
        session: sid("B"),
        stream: cam("p9", "B"),
        error: "x".into(),
    });
    assert!(!events(&outs)
        .iter()
        .any(|e| matches!(e, Event::SubscribeFailed { .. })));
    assert!(h.shell.violations.is_empty(), "{:?}", h.shell.violations);
}

#[test]
fn rotation_without_a_handoff_asks_resolve_session_and_moves_there() {
    let mut h = live_in_a_with(
        &["p1"],
        Config {
            has_resolve_session: true,
            ..at_once()
        },
    );
    let outs = h.lost("A", DisconnectReason::ServerRotation);
    assert_eq!(
        events(&outs),
        vec![
            Event::RecoveryStarted {
                session: sid("A"),
                reason: DisconnectReason::ServerRotation
            },
            Event::StateChanged {
                state: State::Recovering
            },
        ]
    );
    // The subscriber is gone: hide the tile, but p1 stays a participant.
    assert_eq!(
        commands(&outs),
        vec![
            Command::Hide { key: key("p1") },
            Command::ResolveSession { old: sid("A") }
        ]
    );
    h.advance(9_000); // the app takes its time, within the hook timeout
    let outs = h.input(Input::Resolved {
        old: sid("A"),
        result: Ok(Some(MoveFields {
            token: Field::from("tc"),
            ..MoveFields::to("C")
        })),
    });
    assert_eq!(
        commands(&outs),
        vec![
            Command::Connect {
                session: sid("C"),
                token: "tc".into()
            },
            Command::PreparePublish { session: sid("C") }
        ]
    );
    let outs = h.connected("C");
    assert!(has_event(
        &outs,
        &Event::StateChanged { state: State::Live }
    ));
    h.arrives("p1", "C");
    assert_eq!(h.tile("p1"), Some(src("C", cam("p1", "C"))));
    h.advance(60_000);
    let joins_and_leaves: Vec<_> = h
        .events_so_far()
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                Event::ParticipantJoined { .. } | Event::ParticipantLeft { .. }
            )
        })
        .collect();
    assert_eq!(
        joins_and_leaves,
        vec![Event::ParticipantJoined { key: key("p1") }]
    );
}

#[test]
fn rotation_without_a_hook_rejoins_the_same_session_id_with_the_join_token() {
    let mut h = live_in_a_with(&["p1"], at_once());
    let outs = h.lost("A", DisconnectReason::ServerRotation);
    assert_eq!(
        commands(&outs),
        vec![
            Command::Hide { key: key("p1") },
            Command::Connect {
                session: sid("A"),
                token: "token-A".into()
            },
            Command::PreparePublish { session: sid("A") }
        ]
    );
    // The rejoin fails once: backoff, still recovering.
    let outs = h.input(Input::ConnectFailed {
        session: sid("A"),
        error: "E".into(),
        code: None,
    });
    let next = failed(&outs)[0].2.unwrap();
    assert_eq!(h.engine.state(), State::Recovering);
    let outs = h.advance_to(next);
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
    h.connected("A");
    assert_eq!(h.engine.state(), State::Live);
    h.arrives("p1", "A");
    assert_eq!(h.tile("p1"), Some(src("A", cam("p1", "A"))));
}

#[test]
fn rotation_rejoin_asks_the_provider_for_a_fresh_token_when_there_is_one() {
    let mut h = live_in_a_with(
        &[],
        Config {
            has_token_provider: true,
            ..at_once()
        },
    );
    let outs = h.lost("A", DisconnectReason::ServerRotation);
    assert_eq!(
        commands(&outs),
        vec![Command::RequestToken { session: sid("A") }]
    );
}

#[test]
fn resolve_session_answering_none_or_failing_rejoins_the_same_id() {
    for result in [Ok(None), Err(HookError::transient("boom"))] {
        let mut h = live_in_a_with(
            &[],
            Config {
                has_resolve_session: true,
                ..at_once()
            },
        );
        h.lost("A", DisconnectReason::ServerRotation);
        let failing = result.is_err();
        let outs = h.input(Input::Resolved {
            old: sid("A"),
            result,
        });
        assert!(has_command(
            &outs,
            &Command::Connect {
                session: sid("A"),
                token: "token-A".into()
            }
        ));
        assert_eq!(
            failing,
            failed(&outs)
                .iter()
                .any(|f| matches!(f.0, HandoffError::ResolveFailed { .. }))
        );
    }
}

#[test]
fn network_loss_rejoins_the_same_session_with_backoff() {
    let mut h = live_in_a_with(&["p1"], at_once());
    let outs = h.lost("A", DisconnectReason::NetworkDisconnected);
    assert!(has_event(
        &outs,
        &Event::RecoveryStarted {
            session: sid("A"),
            reason: DisconnectReason::NetworkDisconnected
        }
    ));
    assert!(has_command(
        &outs,
        &Command::Connect {
            session: sid("A"),
            token: "token-A".into()
        }
    ));
    let outs = h.advance(15_000);
    assert!(has_command(
        &outs,
        &Command::Disconnect { session: sid("A") }
    ));
    assert_eq!(failed(&outs)[0].0, HandoffError::ConnectTimeout);
}

#[test]
fn being_force_disconnected_ends_the_call() {
    let mut h = live_in_a_with(&["p1"], at_once());
    let outs = h.lost("A", DisconnectReason::ForceDisconnected);
    assert_eq!(
        events(&outs),
        vec![
            Event::SessionEnded {
                session: sid("A"),
                reason: DisconnectReason::ForceDisconnected
            },
            Event::StateChanged {
                state: State::Closed
            },
        ]
    );
    assert_eq!(h.engine.poll_timeout(), None);
    assert!(h.join("A").is_empty());
}

#[test]
fn resolve_session_answers_are_checked_like_every_move_request() {
    let mut h = live_in_a_with(
        &[],
        Config {
            has_resolve_session: true,
            ..at_once()
        },
    );
    h.lost("A", DisconnectReason::ServerRotation);
    let outs = h.input(Input::Resolved {
        old: sid("A"),
        result: Ok(Some(MoveFields {
            spread_ms: Field::from("soon"),
            ..MoveFields::to("C")
        })),
    });
    let failed = events(&outs)
        .into_iter()
        .find_map(|e| match e {
            Event::HandoffFailed { error, .. } => Some(error),
            _ => None,
        })
        .expect("handoffFailed");
    assert_eq!(
        failed,
        HandoffError::ResolveFailed {
            detail: "\"spreadMs\" must be a number from 0 to 600000".into(),
            permanent: false,
        }
    );
    assert!(
        has_command(
            &outs,
            &Command::Connect {
                session: sid("A"),
                token: "token-A".into()
            }
        ),
        "rejoins the same ID instead"
    );
}
