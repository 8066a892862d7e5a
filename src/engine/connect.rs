//! Joining one session: token, connect, connect timeout, retries with backoff, and this
//! client's own publisher there. Used alike for the first join, a handoff's new session and
//! a recovery's rejoin; what a success or a final failure means is up to the caller's slot.

use super::session::{Link, Publishing, Session, MAX_PUBLISH_ATTEMPTS};
use super::{
    Command, ConnectionId, Engine, Event, Handoff, HandoffError, Hook, HookError, Millis,
    SessionId, Slot, StopCause,
};

/// The session in `slot`, borrowed apart from the rest of the engine (so that the rng and
/// the output queue stay usable next to it).
pub(super) fn session_in<'a>(
    live: &'a mut Option<Session>,
    handoff: &'a mut Option<Handoff>,
    slot: Slot,
) -> Option<&'a mut Session> {
    match slot {
        Slot::Live => live.as_mut(),
        Slot::Target => handoff.as_mut().map(|h| &mut h.target),
    }
}

impl Engine {
    pub(super) fn on_join(&mut self, session: SessionId, token: Option<String>) {
        if self.live.is_some() || self.handoff.is_some() || self.recovery.is_some() {
            return; // already in a call: moving is `Input::Move`
        }
        self.live = Some(Session::new(
            session,
            token,
            Link::Waiting { until: self.now },
        ));
        self.start_attempt(Slot::Live);
    }

    /// Starts one connect attempt: with the known token, else via the token provider.
    pub(super) fn start_attempt(&mut self, slot: Slot) {
        let has_provider = self.config.has_token_provider;
        let (now, hook_until) = (
            self.now,
            self.now.saturating_add(self.config.hook_timeout_ms),
        );
        let Some(s) = self.slot_mut(slot) else { return };
        s.attempts += 1;
        s.first_attempt_at.get_or_insert(now);
        let id = s.id.clone();
        if let Some(token) = s.token.clone() {
            self.connect(slot, token);
        } else if has_provider {
            s.link = Link::AwaitingToken { until: hook_until };
            self.command(Command::RequestToken { session: id });
        } else {
            self.fail_attempt(slot, HandoffError::NoToken);
        }
    }

    fn connect(&mut self, slot: Slot, token: String) {
        let timeout_at = self.now.saturating_add(self.config.connect_timeout_ms);
        let Some(s) = self.slot_mut(slot) else { return };
        // A new connection: what an earlier attempt's connection saw is not this one's.
        s.forget_remote();
        s.link = Link::Connecting { timeout_at };
        s.last_token = Some(token.clone());
        let session = s.id.clone();
        self.command(Command::Connect {
            session: session.clone(),
            token,
        });
        // The publisher is made while the connect goes on (its local set-up costs a few
        // hundred ms on a busy page), so `Publish` can send the stream the moment it connects.
        if self.config.publish {
            self.command(Command::PreparePublish { session });
        }
    }

    pub(super) fn on_token(&mut self, session: &SessionId, result: Result<String, HookError>) {
        let Some(slot) = self.slot_of(session) else {
            return;
        };
        if !matches!(
            self.slot(slot).map(|s| &s.link),
            Some(Link::AwaitingToken { .. })
        ) {
            return; // an answer nobody is waiting for (late, after the hook timeout)
        }
        match result {
            Ok(token) => self.connect(slot, token),
            Err(e) => self.fail_attempt(
                slot,
                HandoffError::TokenProviderFailed {
                    detail: e.detail,
                    permanent: e.permanent,
                },
            ),
        }
    }

    /// The token provider did not answer in time.
    pub(super) fn on_token_timeout(&mut self, slot: Slot) {
        self.fail_attempt(
            slot,
            HandoffError::HookTimeout {
                hook: Hook::TokenProvider,
            },
        );
    }

    pub(super) fn on_connected(
        &mut self,
        session: &SessionId,
        connection: ConnectionId,
        server_time: Option<Millis>,
        routed: Option<bool>,
    ) {
        let Some(slot) = self.slot_of(session) else {
            return;
        };
        let now = self.now;
        // Clamped to ±i64::MAX ms (far beyond any real clock skew): no i128 in the wasm.
        let offset = server_time.map(|t| {
            if t >= now {
                i64::try_from(t - now).unwrap_or(i64::MAX)
            } else {
                i64::try_from(now - t).map_or(i64::MIN + 1, |d| -d)
            }
        });
        let publish = self.config.publish;
        let Some(s) = self.slot_mut(slot) else { return };
        if !matches!(s.link, Link::Connecting { .. }) {
            return; // late, repeated, or for an attempt already given up on
        }
        s.link = Link::Connected { at: now };
        s.own = Some(connection);
        s.routed = routed;
        s.backoff.reset();
        s.attempts = 0;
        s.first_attempt_at = None;
        let id = s.id.clone();
        if publish {
            s.publishing = Publishing::Pending;
            self.command(Command::Publish { session: id });
        }
        if offset.is_some() {
            self.clock_offset = offset;
        }
        self.admit_early(slot);
        match slot {
            Slot::Live => self.recovery = None,
            Slot::Target if self.live.as_ref().is_none_or(|l| !l.is_connected()) => {
                // The old session was lost while this one was connecting: carry on here.
                self.complete(super::LeaveCause::OldSessionLost);
            }
            Slot::Target => {}
        }
        self.sync_state();
    }

    pub(super) fn on_connect_failed(
        &mut self,
        session: &SessionId,
        error: String,
        code: Option<u32>,
    ) {
        let Some(slot) = self.slot_of(session) else {
            return;
        };
        if matches!(
            self.slot(slot).map(|s| &s.link),
            Some(Link::Connecting { .. })
        ) {
            let error = HandoffError::ConnectFailed {
                detail: error,
                code,
            };
            self.fail_attempt(slot, error);
        }
    }

    /// The connect attempt in `slot` ran out of time: abandon it and retry.
    pub(super) fn on_connect_timeout(&mut self, slot: Slot) {
        let now = self.now;
        if let Some(s) = self.slot_mut(slot) {
            let session = s.id.clone();
            s.link = Link::Waiting { until: now }; // left: nothing of it is open any more
            self.command(Command::Disconnect { session });
            self.fail_attempt(slot, HandoffError::ConnectTimeout);
        }
    }

    /// Reports a failed attempt and schedules the next one, unless the error is permanent or
    /// a bound says stop: [`Config::max_attempts`](super::Config::max_attempts) attempts,
    /// the next one starting [`max_attempt_ms`](super::Config::max_attempt_ms) after the
    /// first, or at or after the slot's `retry_until` (the deadline). Then the slot is
    /// given up, and the event says why.
    pub(super) fn fail_attempt(&mut self, slot: Slot, error: HandoffError) {
        let now = self.now;
        let (base, cap) = (self.config.retry_base_ms, self.config.retry_cap_ms);
        let (max_attempts, max_ms) = (self.config.max_attempts, self.config.max_attempt_ms);
        let Some(s) = session_in(&mut self.live, &mut self.handoff, slot) else {
            return;
        };
        let delay = s.backoff.next_delay(base, cap, &mut self.rng);
        let at = now.saturating_add(delay);
        let first = s.first_attempt_at.unwrap_or(now);
        let stopped = if error.permanent() {
            Some(StopCause::Permanent)
        } else if s.attempts >= max_attempts {
            Some(StopCause::MaxAttempts)
        } else if at >= first.saturating_add(max_ms) {
            Some(StopCause::MaxDuration)
        } else if s.retry_until.is_some_and(|until| at >= until) {
            Some(StopCause::Deadline)
        } else {
            None
        };
        let to = s.id.clone();
        let will_retry = stopped.is_none();
        if will_retry {
            s.link = Link::Waiting { until: at };
        }
        self.event(Event::HandoffFailed {
            to,
            error,
            will_retry,
            next_attempt_at: will_retry.then_some(at),
            stopped,
        });
        if !will_retry {
            self.give_up(slot);
        }
    }

    /// No more attempts for the session in `slot`. A handoff's new session: the call stays
    /// where it is (and if the old session is gone too, recovery starts from it). The live
    /// session: the recovery goes on to its next way back, or the call ends.
    fn give_up(&mut self, slot: Slot) {
        match slot {
            Slot::Target => {
                if let Some(h) = self.drop_target() {
                    if let Some((reason, token)) = h.from_lost {
                        // Nothing left to stay in: get back into the call from the old session.
                        self.start_recovery(h.from, reason, None, token);
                    } else {
                        // Remembered: if the old session is then lost to a rotation, go there.
                        self.abandoned = Some((h.from, h.request));
                    }
                }
            }
            Slot::Live => {
                if let Some(s) = self.live.take().filter(|s| s.is_open()) {
                    self.command(Command::Disconnect { session: s.id });
                }
                if self.recovery.is_some() {
                    self.next_recovery_step();
                }
            }
        }
        self.sync_state();
    }

    // ----- own publisher -----

    pub(super) fn on_published(&mut self, session: &SessionId) {
        let Some(slot) = self.slot_of(session) else {
            return;
        };
        if let Some(s) = self.slot_mut(slot) {
            if s.is_connected() && s.publishing != Publishing::Off {
                s.publishing = Publishing::Live;
                s.publish_backoff.reset();
            }
        }
    }

    pub(super) fn on_publish_failed(&mut self, session: &SessionId, detail: String) {
        let Some(slot) = self.slot_of(session) else {
            return;
        };
        let now = self.now;
        let (base, cap) = (self.config.retry_base_ms, self.config.retry_cap_ms);
        let Some(s) = session_in(&mut self.live, &mut self.handoff, slot) else {
            return;
        };
        if !s.is_connected() || s.publishing != Publishing::Pending {
            return;
        }
        let delay = s.publish_backoff.next_delay(base, cap, &mut self.rng);
        let will_retry = s.publish_backoff.failures() < MAX_PUBLISH_ATTEMPTS;
        let at: Millis = now.saturating_add(delay);
        s.publishing = if will_retry {
            Publishing::RetryAt(at)
        } else {
            Publishing::GaveUp
        };
        let to = s.id.clone();
        self.event(Event::HandoffFailed {
            to,
            error: HandoffError::PublishFailed { detail },
            will_retry,
            next_attempt_at: will_retry.then_some(at),
            stopped: (!will_retry).then_some(StopCause::MaxAttempts),
        });
    }

    /// The publish retry in `slot` is due.
    pub(super) fn retry_publish(&mut self, slot: Slot) {
        if let Some(s) = self.slot_mut(slot) {
            s.publishing = Publishing::Pending;
            let session = s.id.clone();
            self.command(Command::Publish { session });
        }
    }
}
