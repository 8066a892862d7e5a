//! The engine's one timer: what is waiting for time to pass, and what happens when it has.
//!
//! Waiting: a spread delay or retry backoff before a connect attempt, a connect timeout, an
//! app hook's answer (token provider, `resolveSession`), a publish retry, the bounds of a
//! handoff's overlap, the next media release, and absent participants' grace.

use super::session::{Link, Publishing};
use super::{Command, Engine, Event, Millis, Slot};

/// At most this many timer actions per call, so that a configuration of zero delays can
/// never spin forever inside one call (the rest fires on the next call).
const MAX_ACTIONS_PER_CALL: usize = 64;

impl Engine {
    pub(super) fn next_timeout(&self) -> Option<Millis> {
        let mut next: Option<Millis> = None;
        let mut consider = |t: Option<Millis>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        for slot in [Slot::Live, Slot::Target] {
            if let Some(s) = self.slot(slot) {
                consider(match s.link {
                    Link::Waiting { until } | Link::AwaitingToken { until } => Some(until),
                    Link::Connecting { timeout_at } => Some(timeout_at),
                    Link::Connected { .. } => None,
                });
                if let Publishing::RetryAt(at) = s.publishing {
                    consider(Some(at));
                }
            }
        }
        consider(self.leave_bound_at());
        // A participant waiting for a turn to subscribe in the new session: when the first
        // waiting subscription stops counting.
        if let (true, end) = self.subscribe_pace() {
            if self
                .handoff
                .as_ref()
                .is_some_and(|h| h.target.keys_unsubscribed().next().is_some())
            {
                consider(end);
            }
        }
        consider(self.recovery.as_ref().and_then(|r| r.resolving_until));
        consider(self.held_until());
        consider(self.next_release_at());
        if !self.left_paused() {
            consider(self.participants.next_left_at());
        }
        next
    }

    /// Participants are not reported as left while a move or a recovery is under way.
    pub(super) fn left_paused(&self) -> bool {
        self.handoff.is_some() || self.recovery.is_some()
    }

    pub(super) fn fire_due(&mut self) {
        for _ in 0..MAX_ACTIONS_PER_CALL {
            if self.closed || !self.fire_one() {
                break;
            }
            self.sync_state();
        }
    }

    /// Runs the first due timer action; `false` when nothing is due.
    fn fire_one(&mut self) -> bool {
        let now = self.now;
        for slot in [Slot::Live, Slot::Target] {
            let Some(s) = self.slot(slot) else { continue };
            match s.link {
                Link::Waiting { until } if until <= now => {
                    self.start_attempt(slot);
                    return true;
                }
                Link::Connecting { timeout_at } if timeout_at <= now => {
                    self.on_connect_timeout(slot);
                    return true;
                }
                Link::AwaitingToken { until } if until <= now => {
                    self.on_token_timeout(slot);
                    return true;
                }
                _ => {}
            }
            if matches!(s.publishing, Publishing::RetryAt(at) if at <= now) {
                self.retry_publish(slot);
                return true;
            }
        }
        if self
            .recovery
            .as_ref()
            .and_then(|r| r.resolving_until)
            .is_some_and(|t| t <= now)
        {
            self.on_resolve_timeout();
            return true;
        }
        if self.leave_bound_at().is_some_and(|t| t <= now) && self.check_leave() {
            return true;
        }
        if self.admit_waiting() {
            return true;
        }
        if self.release_due() {
            return true;
        }
        if !self.left_paused() && self.participants.next_left_at().is_some_and(|t| t <= now) {
            for (key, p) in self.participants.take_left(now) {
                if p.shown.is_some() {
                    self.command(Command::Hide { key: key.clone() });
                }
                self.event(Event::ParticipantLeft { key });
            }
            return true;
        }
        false
    }
}
