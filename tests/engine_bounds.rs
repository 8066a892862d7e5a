//! Scenarios: every failure ends. Permanent errors give up at once; every attempt sequence is
//! bounded with or without a deadline; hooks that never answer time out; recovery falls back
//! in order and ends the call when every way back failed; duplicate participant keys get
//! tiles of their own; deadlines are read on the server's clock.
#![cfg(not(target_arch = "wasm32"))] // native only: serde_json is a native dev-dependency

#[path = "engine/harness.rs"]
mod harness;

use harness::*;
use video_handoff::engine::*;

/// Every `HandoffFailed` in `outs`: (error, will_retry, next_attempt_at, stopped).
fn failed(outs: &[Output]) -> Vec<(HandoffError, bool, Option<Millis>, Option<StopCause>)> {
    events(outs)
        .into_iter()
        .filter_map(|e| match e {
            Event::HandoffFailed {
                error,
                will_retry,
                next_attempt_at,
                stopped,
                ..
            } => Some((error, will_retry, next_attempt_at, stopped)),
            _ => None,
        })
        .collect()
}

fn connect_failed(h: &mut Harness, s: &str, code: Option<u32>) -> Vec<Output> {
    h.input(Input::ConnectFailed {
        session: sid(s),
        error: format!("vendor error {code:?}"),
        code,
    })
}

/// Fails every attempt at `s` (transiently) until the engine stops trying; returns every
/// output and how many attempts were made.
fn fail_until_given_up(h: &mut Harness, s: &str) -> (Vec<Output>, u32) {
    let mut all = Vec::new();
    for attempt in 1..=100 {
        let outs = connect_failed(h, s, Some(1006));
        let f = failed(&outs);
        all.extend(outs);
        match f.first() {
            Some((_, true, Some(next), _)) => all.extend(h.advance_to(*next)),
            Some((_, false, None, _)) => return (all, attempt),
            other => panic!("attempt {attempt}: {other:?}"),
        }
    }
    panic!("never gave up");
}

#[test]
fn the_vendors_permanent_errors_give_up_at_once_and_the_call_stays_untouched() {
    for code in [1004, 1005] {
        let mut h = live_in_a_with(&["p1"], at_once());
        let mut all = h.signal(&handoff_to("B", ""));
        let outs = connect_failed(&mut h, "B", Some(code));
        assert_eq!(
            failed(&outs),
            vec![(
                HandoffError::ConnectFailed {
                    detail: format!("vendor error {:?}", Some(code)),
                    code: Some(code),
                },
                false,
                None,
                Some(StopCause::Permanent),
            )]
        );
        all.extend(outs);
        assert!(!touches_session(&all, "A"), "{code}: A untouched");
        assert_eq!(h.engine.state(), State::Live, "{code}");
        assert_eq!(h.engine.target_session(), None);
        assert_eq!(h.tile("p1"), Some(src("A", cam("p1", "A"))));
        // Nothing keeps trying.
        assert!(commands(&h.advance(300_000)).is_empty(), "{code}");
    }
}

#[test]
fn transient_failures_stop_after_max_attempts_without_a_deadline() {
    let mut h = live_in_a_with(&["p1"], at_once());
    h.signal(&handoff_to("B", "")); // no deadline
    let (all, attempts) = fail_until_given_up(&mut h, "B");
    assert_eq!(attempts, at_once().max_attempts);
    let last = failed(&all).pop().unwrap();
    assert_eq!(last.3, Some(StopCause::MaxAttempts));
    assert!(!touches_session(&all, "A"));
    assert_eq!(h.engine.state(), State::Live);
}

#[test]
fn an_attempt_sequence_stops_at_its_maximum_duration() {
    // Timeouts of 15 s each: the fifth attempt would start more than 60 s after the first.
    let mut h = live_in_a_with(
        &[],
        Config {
            max_attempts: 100,
            ..at_once()
        },
    );
    let started = h.now;
    h.signal(&handoff_to("B", ""));
    let mut stopped = None;
    for _ in 0..100 {
        let outs = h.fire_timer();
        if let Some(f) = failed(&outs).pop() {
            if !f.1 {
                stopped = f.3;
                break;
            }
        }
    }
    assert_eq!(stopped, Some(StopCause::MaxDuration));
    assert!(h.now - started <= 60_000 + 15_000, "{} ms", h.now - started);
    assert_eq!(h.engine.state(), State::Live);
}

#[test]
fn a_token_provider_that_never_answers_times_out_and_is_bounded() {
    let mut h = live_in_a_with(
        &[],
        Config {
            has_token_provider: true,
            ..at_once()
        },
    );
    let asked_at = h.now;
    let outs = h.signal(r#"{"v":1,"sessionId":"B"}"#);
    assert!(has_command(
        &outs,
        &Command::RequestToken { session: sid("B") }
    ));
    let outs = h.fire_timer();
    assert_eq!(h.now - asked_at, at_once().hook_timeout_ms);
    let f = failed(&outs);
    assert_eq!(
        f[0].0,
        HandoffError::HookTimeout {
            hook: Hook::TokenProvider
        }
    );
    assert!(f[0].1, "retried");
    // The answer that comes after the timeout is ignored.
    assert!(h
        .input(Input::Token {
            session: sid("B"),
            result: Ok("late".into())
        })
        .is_empty());
    // It never answers: the move is given up within the bounds.
    let mut gave_up = false;
    for _ in 0..50 {
        let outs = h.fire_timer();
        if failed(&outs).iter().any(|f| !f.1) {
            gave_up = true;
            break;
        }
    }
    assert!(gave_up);
    assert_eq!(h.engine.state(), State::Live);
}

#[test]
fn a_token_provider_saying_the_session_is_unknown_gives_up_at_once() {
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
        result: Err(HookError::permanent("unknownSession")),
    });
    let f = failed(&outs);
    assert_eq!(f.len(), 1);
    assert!(!f[0].1);
    assert_eq!(f[0].3, Some(StopCause::Permanent));
    assert_eq!(h.engine.state(), State::Live);
}

#[test]
fn participants_who_left_during_a_failing_move_are_reported_once_it_is_given_up() {
    let mut h = live_in_a_with(&["p1", "p2"], at_once());
    h.signal(&handoff_to("B", ""));
    h.leaves("p2", "A");
    // The move fails for good, long after p2's grace.
    h.advance(LEFT_GRACE_MS * 2);
    assert!(!h
        .events_so_far()
        .contains(&Event::ParticipantLeft { key: key("p2") }));
    connect_failed(&mut h, "B", Some(1005));
    let outs = h.advance(LEFT_GRACE_MS);
    assert!(has_event(&outs, &Event::ParticipantLeft { key: key("p2") }));
    assert_eq!(h.tile("p2"), None);
    assert_eq!(h.tile("p1"), Some(src("A", cam("p1", "A"))));
}

#[test]
fn a_lost_call_falls_back_in_order_then_ends_with_the_reason() {
    let mut h = live_in_a_with(
        &["p1"],
        Config {
            has_resolve_session: true,
            ..at_once()
        },
    );
    // A move to B given up at its deadline (no time for a retry).
    let deadline = h.now + 2_000;
    h.signal(&handoff_to("B", &format!(r#""deadline":{deadline}"#)));
    connect_failed(&mut h, "B", Some(1006));
    h.advance_to(deadline);
    // A is destroyed: 1. resolveSession.
    let outs = h.lost("A", DisconnectReason::ServerRotation);
    assert!(has_command(
        &outs,
        &Command::ResolveSession { old: sid("A") }
    ));
    // It names C, which turns out unknown: 2. the move given up (B).
    let outs = h.input(Input::Resolved {
        old: sid("A"),
        result: Ok(Some(MoveFields {
            token: Field::from("tc"),
            ..MoveFields::to("C")
        })),
    });
    assert!(has_command(
        &outs,
        &Command::Connect {
            session: sid("C"),
            token: "tc".into()
        }
    ));
    let outs = connect_failed(&mut h, "C", Some(1005));
    assert!(has_command(
        &outs,
        &Command::Connect {
            session: sid("B"),
            token: "token-B".into()
        }
    ));
    // B is gone too: 3. the same session ID.
    let outs = connect_failed(&mut h, "B", Some(1005));
    assert!(has_command(
        &outs,
        &Command::Connect {
            session: sid("A"),
            token: "token-A".into()
        }
    ));
    // A is destroyed for good: the call ends, saying why.
    let outs = connect_failed(&mut h, "A", Some(1005));
    assert!(has_event(
        &outs,
        &Event::SessionEnded {
            session: sid("A"),
            reason: DisconnectReason::ServerRotation
        }
    ));
    assert_eq!(h.engine.state(), State::Closed);
    assert_eq!(h.engine.poll_timeout(), None);
}

#[test]
fn resolve_session_that_never_answers_times_out_and_the_same_id_follows() {
    let mut h = live_in_a_with(
        &[],
        Config {
            has_resolve_session: true,
            ..at_once()
        },
    );
    h.lost("A", DisconnectReason::ServerRotation);
    let outs = h.fire_timer();
    assert_eq!(
        failed(&outs)[0].0,
        HandoffError::HookTimeout {
            hook: Hook::ResolveSession
        }
    );
    assert!(has_command(
        &outs,
        &Command::Connect {
            session: sid("A"),
            token: "token-A".into()
        }
    ));
    // Its late answer changes nothing.
    assert!(h
        .input(Input::Resolved {
            old: sid("A"),
            result: Ok(Some(MoveFields::to("C"))),
        })
        .is_empty());
}

#[test]
fn transient_recovery_failures_are_bounded_too() {
    let mut h = live_in_a_with(&[], at_once());
    h.lost("A", DisconnectReason::NetworkDisconnected);
    let (all, attempts) = fail_until_given_up(&mut h, "A");
    assert_eq!(attempts, at_once().max_attempts);
    assert!(has_event(
        &all,
        &Event::SessionEnded {
            session: sid("A"),
            reason: DisconnectReason::NetworkDisconnected
        }
    ));
    assert_eq!(h.engine.state(), State::Closed);
}

#[test]
fn the_old_session_dying_while_a_bad_move_is_retried_asks_resolve_session() {
    let mut h = live_in_a_with(
        &["p1"],
        Config {
            has_resolve_session: true,
            ..at_once()
        },
    );
    h.signal(&handoff_to("B", ""));
    connect_failed(&mut h, "B", Some(1006)); // waiting to retry B
    h.lost("A", DisconnectReason::ServerRotation);
    assert_eq!(h.engine.state(), State::Recovering);
    // B retried: it does not exist. Not retried again: resolveSession is asked.
    let outs = h.fire_timer();
    assert!(has_command(
        &outs,
        &Command::Connect {
            session: sid("B"),
            token: "token-B".into()
        }
    ));
    let outs = connect_failed(&mut h, "B", Some(1005));
    assert!(has_command(
        &outs,
        &Command::ResolveSession { old: sid("A") }
    ));
    let outs = h.input(Input::Resolved {
        old: sid("A"),
        result: Ok(Some(MoveFields {
            token: Field::from("tc"),
            ..MoveFields::to("C")
        })),
    });
    assert!(has_command(
        &outs,
        &Command::Connect {
            session: sid("C"),
            token: "tc".into()
        }
    ));
    h.connected("C");
    assert_eq!(h.engine.state(), State::Live);
}

#[test]
fn two_connections_with_one_key_get_two_tiles_and_the_app_is_told() {
    let mut h = live_in_a_with(&["ada"], at_once());
    // A second device (or an impostor) joins with Ada's key.
    let outs = h.input(Input::ConnectionCreated {
        session: sid("A"),
        connection: ConnectionId::from("ada-phone@A"),
        data: Some("ada".into()),
        app_key: None,
    });
    assert!(has_event(
        &outs,
        &Event::DuplicateKey {
            session: sid("A"),
            key: key("ada"),
            connection: ConnectionId::from("ada-phone@A"),
            shown_as: key("ada#2"),
        }
    ));
    assert!(has_event(
        &outs,
        &Event::ParticipantJoined { key: key("ada#2") }
    ));
    h.input(Input::StreamCreated {
        session: sid("A"),
        stream: StreamId::from("phone-cam"),
        connection: ConnectionId::from("ada-phone@A"),
        has_video: true,
    });
    // Two tiles: the first device's is not taken over.
    assert_eq!(h.tile("ada"), Some(src("A", cam("ada", "A"))));
    assert_eq!(
        h.tile("ada#2"),
        Some((sid("A"), StreamId::from("phone-cam")))
    );
    assert!(h.shell.violations.is_empty(), "{:?}", h.shell.violations);
}

#[test]
fn a_client_clock_minutes_behind_neither_calls_a_genuine_move_stale_nor_retries_past_it() {
    // The server's clock is 5 minutes ahead of ours.
    let skew: i64 = 5 * 60_000;
    // Only the deadline may stop the retries here.
    let mut h = Harness::new(Config {
        max_attempts: 1_000,
        max_attempt_ms: 3_600_000,
        ..at_once()
    });
    h.server_skew = skew;
    h.live_in("A");
    let server_now = h.now + skew as u64;
    // The server says: destroyed in 10 s (its clock). On ours that is 5 minutes and 10 s
    // away; read as ours, retries would go on for minutes after the real deadline.
    let deadline = server_now + 10_000;
    h.signal(&handoff_to("B", &format!(r#""deadline":{deadline}"#)));
    let mut last_attempt = h.now;
    let mut gave_up = false;
    for _ in 0..200 {
        let outs = connect_failed(&mut h, "B", Some(1006));
        let f = failed(&outs)[0].clone();
        match f.2 {
            Some(next) => {
                last_attempt = next;
                h.advance_to(next);
            }
            None => {
                assert_eq!(f.3, Some(StopCause::Deadline));
                gave_up = true;
                break;
            }
        }
    }
    assert!(gave_up);
    let real_deadline_on_our_clock = deadline - skew as u64;
    assert!(
        last_attempt < real_deadline_on_our_clock - 2_000,
        "no attempt after the real deadline minus the margin"
    );
}

#[test]
fn a_client_clock_minutes_ahead_does_not_reject_a_genuine_move_as_stale() {
    let skew: i64 = -5 * 60_000; // the server is 5 minutes behind us
    let mut h = Harness::new(at_once());
    h.server_skew = skew;
    h.live_in("A");
    let server_now = h.now - 5 * 60_000;
    let outs = h.signal(&handoff_to(
        "B",
        &format!(r#""deadline":{}"#, server_now + 60_000),
    ));
    assert!(
        !events(&outs)
            .iter()
            .any(|e| matches!(e, Event::SignalRejected { .. })),
        "{outs:?}"
    );
    assert_eq!(h.engine.state(), State::Handoff);
    // A deadline that really has passed is stale.
    let mut h = Harness::new(at_once());
    h.server_skew = skew;
    h.live_in("A");
    let outs = h.signal(&handoff_to(
        "C",
        &format!(r#""deadline":{}"#, server_now - 1),
    ));
    assert!(has_event(
        &outs,
        &Event::SignalRejected {
            rejection: RejectReason::Stale.into()
        }
    ));
}
