//! Sessions lost under us: the new session of a handoff, the old one mid-handoff, or the
//! live session with no handoff under way (rotation with a lost signal, network loss).
//!
//! Getting back into a lost call follows a plan of ways back, each one bounded attempt
//! sequence (`max_attempts`, `max_attempt_ms`, permanent errors: see `connect.rs`), tried in
//! order until one connects:
//!
//! - lost with `serverRotation` (the platform destroyed it): the app's `resolveSession`
//!   (if given; its answer under the hook timeout), then the session a move given up at its
//!   deadline was going to, then the same session ID (the platform moves a rotated session
//!   to a new server);
//! - `networkDisconnected`, `mediaIdle`, unknown reasons: the same session ID.
//!
//! When every way back has failed, the call ends: [`Event::SessionEnded`] with the reason
//! the session was lost, then state `closed`. `forceDisconnected`, or a `clientDisconnected`
//! the engine did not ask for, end the call at once.

use super::session::{Link, Session};
use super::{
    Command, DisconnectReason, Engine, Event, HandoffError, HandoffRequest, Hook, HookError,
    LeaveCause, MoveFields, Recovery, RecoveryStep, SessionId, Slot,
};

impl Engine {
    pub(super) fn on_session_disconnected(
        &mut self,
        session: &SessionId,
        reason: DisconnectReason,
    ) {
        let Some(slot) = self.slot_of(session) else {
            return;
        };
        let Some(link) = self.slot(slot).map(|s| s.link.clone()) else {
            return;
        };
        let failed = || HandoffError::ConnectFailed {
            detail: String::from(reason.code()),
            code: None,
        };
        match (slot, link) {
            (_, Link::Connecting { .. }) => self.fail_attempt(slot, failed()),
            (Slot::Target, Link::Connected { .. }) => {
                self.reset_target_media();
                self.fail_attempt(slot, failed());
            }
            (Slot::Live, Link::Connected { .. }) if self.handoff.is_some() => {
                self.old_lost_mid_handoff(reason)
            }
            (Slot::Live, Link::Connected { .. }) => self.live_lost(reason),
            _ => {} // a session we had already given up on
        }
        self.sync_state();
    }

    /// The old session is gone while moving: promote the new one if connected, else keep
    /// trying it (no deadline any more, still bounded; if it is given up, recovery starts).
    fn old_lost_mid_handoff(&mut self, reason: DisconnectReason) {
        if self
            .handoff
            .as_ref()
            .is_some_and(|h| h.target.is_connected())
        {
            return self.complete(LeaveCause::OldSessionLost);
        }
        let Some(a) = self.live.take() else { return };
        self.hide_all_from(&a.id);
        for key in a.keys() {
            self.participants.depart(key, self.now);
        }
        self.event(Event::RecoveryStarted {
            session: a.id,
            reason,
        });
        let Some(h) = self.handoff.as_mut() else {
            return;
        };
        // Where recovery starts from if the new session is given up too.
        h.from_lost = Some((reason, a.last_token));
        h.target.retry_until = None;
        let waiting_out_spread =
            matches!(h.target.link, Link::Waiting { .. }) && h.target.backoff.failures() == 0;
        if waiting_out_spread {
            self.start_attempt(Slot::Target);
        }
    }

    fn live_lost(&mut self, reason: DisconnectReason) {
        let Some(a) = self.live.take() else { return };
        self.hide_all_from(&a.id);
        for key in a.keys() {
            self.participants.depart(key, self.now);
        }
        if matches!(
            reason,
            DisconnectReason::ForceDisconnected | DisconnectReason::ClientDisconnected
        ) {
            self.event(Event::SessionEnded {
                session: a.id,
                reason,
            });
            return self.close();
        }
        self.event(Event::RecoveryStarted {
            session: a.id.clone(),
            reason,
        });
        let abandoned = self
            .abandoned
            .take()
            .filter(|(from, _)| from == &a.id)
            .map(|(_, request)| request);
        self.start_recovery(a.id, reason, abandoned, a.last_token);
    }

    /// Plans the ways back into the call lost with `lost` and starts the first.
    pub(super) fn start_recovery(
        &mut self,
        lost: SessionId,
        reason: DisconnectReason,
        abandoned: Option<HandoffRequest>,
        last_token: Option<String>,
    ) {
        // Tried from the last to the first: the same ID last of all.
        let mut steps = vec![RecoveryStep::SameId];
        if reason == DisconnectReason::ServerRotation {
            if let Some(request) = abandoned.filter(|r| r.session != lost) {
                steps.push(RecoveryStep::Move(request));
            }
            if self.config.has_resolve_session {
                steps.push(RecoveryStep::Resolve);
            }
        }
        self.recovery = Some(Recovery {
            lost,
            reason,
            steps,
            resolving_until: None,
            last_token,
        });
        self.next_recovery_step();
    }

    /// Tries the next way back, or ends the call when none is left.
    pub(super) fn next_recovery_step(&mut self) {
        let Some(r) = self.recovery.as_mut() else {
            return;
        };
        r.resolving_until = None;
        match r.steps.pop() {
            Some(RecoveryStep::Resolve) => {
                r.resolving_until = Some(self.now.saturating_add(self.config.hook_timeout_ms));
                let old = r.lost.clone();
                self.command(Command::ResolveSession { old });
            }
            Some(RecoveryStep::Move(request)) => self.recover_to(request),
            Some(RecoveryStep::SameId) => {
                let lost = r.lost.clone();
                self.rejoin(lost);
            }
            None => {
                let (session, reason) = (r.lost.clone(), r.reason);
                self.event(Event::SessionEnded { session, reason });
                self.close();
            }
        }
    }

    pub(super) fn on_resolved(
        &mut self,
        old: &SessionId,
        result: Result<Option<MoveFields>, HookError>,
    ) {
        let Some(r) = self
            .recovery
            .as_mut()
            .filter(|r| r.resolving_until.is_some() && &r.lost == old)
        else {
            return; // nobody is waiting for it (late, after the hook timeout)
        };
        r.resolving_until = None;
        // The answer is checked like every move request; a rotation is why we asked.
        let result = result.and_then(|answer| match answer.map(MoveFields::request) {
            None => Ok(None),
            Some(Ok(mut request)) => {
                request
                    .reason
                    .get_or_insert_with(|| String::from("serverRotation"));
                Ok(Some(request))
            }
            Some(Err(reason)) => Err(HookError::transient(reason.problem())),
        });
        match result {
            Ok(Some(request)) if &request.session != old => self.recover_to(request),
            Ok(_) => self.next_recovery_step(), // "the same session": that step follows
            Err(e) => self.resolve_failed(HandoffError::ResolveFailed {
                detail: e.detail,
                permanent: e.permanent,
            }),
        }
        self.sync_state();
    }

    /// `resolveSession` did not answer in time.
    pub(super) fn on_resolve_timeout(&mut self) {
        if let Some(r) = self.recovery.as_mut() {
            r.resolving_until = None;
        }
        self.resolve_failed(HandoffError::HookTimeout {
            hook: Hook::ResolveSession,
        });
    }

    /// `resolveSession` gave no usable answer: the next way back follows at once.
    fn resolve_failed(&mut self, error: HandoffError) {
        let Some(lost) = self.recovery.as_ref().map(|r| r.lost.clone()) else {
            return;
        };
        self.event(Event::HandoffFailed {
            to: lost,
            error,
            will_retry: true,
            next_attempt_at: Some(self.now),
            stopped: None,
        });
        self.next_recovery_step();
    }

    /// Joins the replacement session named by `request` (from `resolveSession` or a move
    /// given up earlier).
    fn recover_to(&mut self, request: HandoffRequest) {
        self.live = Some(Session::new(
            request.session,
            request.token,
            Link::Waiting { until: self.now },
        ));
        self.start_attempt(Slot::Live);
    }

    /// Joins the lost session's ID again: a fresh token from the provider if there is
    /// one, else the token it was joined with.
    pub(super) fn rejoin(&mut self, session: SessionId) {
        let token = if self.config.has_token_provider {
            None
        } else {
            self.recovery.as_ref().and_then(|r| r.last_token.clone())
        };
        self.live = Some(Session::new(
            session,
            token,
            Link::Waiting { until: self.now },
        ));
        self.start_attempt(Slot::Live);
    }
}
