//! The property test's invariants on attempts and on the old session, checked after every
//! step (see `engine_props.rs` for the whole list). Part of `engine_props.rs`.

use super::*;

/// Every attempt sequence ends within its bounds; no hook question outlives its timeout.
pub(crate) fn check_bounds(
    h: &Harness,
    config: &Config,
    mem: &mut Memory,
    answered: Option<(SessionId, bool)>,
    outs: &[Output],
) -> Result<(), TestCaseError> {
    let now = h.engine_now;
    if let Some((s, connected)) = answered {
        mem.asked.remove(&s);
        if connected {
            mem.failures.remove(&s);
        }
    }
    for o in outs {
        match o {
            Output::Event(Event::HandoffStarted { to, .. }) => {
                mem.failures.remove(to);
            }
            // One question at a time: a new one supersedes the last.
            Output::Command(Command::RequestToken { session }) => {
                mem.asked.clear();
                mem.asked.insert(session.clone(), now);
            }
            // Connecting now: whatever was asked was answered or superseded (the engine
            // joins one session at a time, its question being about that one).
            Output::Command(Command::Connect { .. }) => {
                mem.asked.clear();
            }
            Output::Command(Command::ResolveSession { old }) => {
                mem.asked.clear();
                mem.asked.insert(old.clone(), now);
            }
            Output::Event(Event::HandoffFailed {
                to,
                error,
                will_retry,
                next_attempt_at,
                stopped,
            }) => {
                let is_resolve = matches!(
                    error,
                    HandoffError::ResolveFailed { .. }
                        | HandoffError::HookTimeout {
                            hook: Hook::ResolveSession
                        }
                );
                if is_resolve || matches!(error, HandoffError::PublishFailed { .. }) {
                    mem.asked.remove(to);
                    continue;
                }
                mem.asked.remove(to);
                prop_assert!(
                    !(error.permanent() && *will_retry),
                    "{error:?} is permanent, yet retried"
                );
                let (n, first) = mem.failures.entry(to.clone()).or_insert((0, now));
                *n += 1;
                if *will_retry {
                    prop_assert!(
                        *n < config.max_attempts,
                        "{to}: failure {n} of {} and still retrying",
                        config.max_attempts
                    );
                    let next = next_attempt_at.unwrap_or(now);
                    prop_assert!(
                        next < first.saturating_add(config.max_attempt_ms),
                        "{to}: a retry at {next}, {} ms after the first failure",
                        next - *first
                    );
                } else {
                    prop_assert!(stopped.is_some(), "given up without saying why");
                    mem.failures.remove(to);
                }
            }
            _ => {}
        }
    }
    // Questions about a session the engine no longer tries to join are moot: in state
    // live none is pending, during a handoff only the new session's.
    match h.engine.state() {
        State::Live | State::Idle | State::Closed => mem.asked.clear(),
        State::Handoff => {
            let target = h.engine.target_session().cloned();
            mem.asked.retain(|s, _| Some(s) == target.as_ref());
        }
        State::Connecting | State::Recovering => {}
    }
    if !h.closed {
        if let Some(asked_at) = mem.asked.values().min() {
            let bound = asked_at.saturating_add(config.hook_timeout_ms);
            let timer = h.engine.poll_timeout();
            prop_assert!(
                timer.is_some_and(|t| t <= bound.max(now)),
                "a hook question from {asked_at} waits with no timer by {bound} ({timer:?})"
            );
        }
    } else {
        mem.asked.clear();
    }
    Ok(())
}

/// During a handoff the old session is left only for a reason, and otherwise untouched.
pub(crate) fn check_old_session_rules(
    h: &Harness,
    config: &Config,
    mem: &Memory,
    prev_state: State,
    prev_live: Option<SessionId>,
    prev_target: Option<SessionId>,
    outs: &[Output],
) -> Result<(), TestCaseError> {
    let (State::Handoff, Some(a), Some(b)) = (prev_state, prev_live, prev_target) else {
        return Ok(());
    };
    let closed = outs.contains(&Output::Event(Event::StateChanged {
        state: State::Closed,
    }));
    // A was lost in this step: if the move cannot go on either, recovery may rejoin it.
    let a_lost = events(outs)
        .iter()
        .any(|e| matches!(e, Event::RecoveryStarted { session, .. } if *session == a));
    for c in commands(outs) {
        match c.clone() {
            // (A publish retry in the old session, scheduled before the move, may go on.)
            Command::Connect { session, .. } if session == a => {
                prop_assert!(
                    closed || a_lost,
                    "{c:?} touched the old session during the handoff"
                );
            }
            Command::Disconnect { session } if session == a && !closed => {
                let completed = events(outs).into_iter().find_map(|e| match e {
                    Event::HandoffCompleted {
                        from, to, ended_by, ..
                    } if from == a => Some((to, ended_by)),
                    _ => None,
                });
                let Some((to, cause)) = completed else {
                    return Err(TestCaseError::fail(format!(
                        "old session {a} disconnected without completing"
                    )));
                };
                let now = mem.max_now;
                match cause {
                    LeaveCause::AllMoved => {
                        prop_assert!(
                            !config.publish
                                || mem
                                    .published_since_connect
                                    .get(&to)
                                    .copied()
                                    .unwrap_or(false),
                            "left {a} before our stream was live in {to}"
                        );
                        // Group mode: everyone still in A said, from B, that they moved from A.
                        if config.group_mode && config.publish {
                            for ((s, c), k) in &h.world.connections {
                                if s != &a || !mem.told.contains(&(s.clone(), c.clone())) {
                                    continue;
                                }
                                let said = mem.moved.iter().any(|(ms, c, data)| {
                                    ms == &to
                                        && data == a.as_str()
                                        && h.world.connections.get(&(to.clone(), c.clone()))
                                            == Some(k)
                                });
                                prop_assert!(
                                    said,
                                    "left {a} while {k} there had not said it moved to {to}"
                                );
                            }
                        }
                    }
                    LeaveCause::MaxOverlap => {
                        let at = mem.connected_at.get(&to).copied().unwrap_or(Millis::MAX);
                        prop_assert!(
                            now >= at.saturating_add(config.max_overlap_ms),
                            "overlap bound too early"
                        );
                    }
                    LeaveCause::Deadline => {
                        let d = mem
                            .deadline
                            .get(&to)
                            .copied()
                            .flatten()
                            .unwrap_or(Millis::MAX);
                        // The deadline is on the server's clock: on ours it is skew earlier.
                        let d = d.saturating_add_signed(-h.server_skew);
                        prop_assert!(
                            now >= d.saturating_sub(config.deadline_margin_ms),
                            "deadline bound too early"
                        );
                    }
                    LeaveCause::OldSessionLost => {
                        prop_assert!(false, "disconnected a session already lost")
                    }
                }
                prop_assert_eq!(&to, &b);
            }
            _ => {}
        }
    }
    let _ = h;
    Ok(())
}
