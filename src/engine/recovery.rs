//! Sessions lost under us: the new session of a handoff, the old one mid-handoff, or the
//! live session with no handoff under way (rotation with a lost signal, network loss).
//!
//! - Lost with `serverRotation` and no handoff under way: go where a move given up at its
//!   deadline was going, else ask the app's `resolveSession`, else rejoin the same session
//!   ID (the platform moves it to a new server); retried with backoff, no deadline.
//! - `networkDisconnected`, `mediaIdle`, unknown reasons: rejoin the same session ID.
//! - `forceDisconnected`, or a `clientDisconnected` the engine did not ask for: the call is
//!   over ([`Event::SessionEnded`], then `closed`).

use super::session::{Link, Session};
use super::{
    Command, DisconnectReason, Engine, Event, HandoffError, HandoffRequest, LeaveCause, MoveFields,
    Recovery, SessionId, Slot,
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
        let detail = || String::from(reason.code());
        match (slot, link) {
            (_, Link::Connecting { .. }) => {
                self.fail_attempt(slot, HandoffError::ConnectFailed { detail: detail() })
            }
            (Slot::Target, Link::Connected { .. }) => {
                self.reset_target_media();
                self.fail_attempt(slot, HandoffError::ConnectFailed { detail: detail() });
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
    /// trying it (no deadline any more: there is nothing left to fall back to).
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
        self.recovery = Some(Recovery {
            lost: a.id.clone(),
            resolving: false,
            last_token: a.last_token,
        });
        if reason != DisconnectReason::ServerRotation {
            return self.rejoin(a.id);
        }
        match self.abandoned.take() {
            Some((from, request)) if from == a.id => self.recover_to(request),
            _ if self.config.has_resolve_session => {
                if let Some(r) = self.recovery.as_mut() {
                    r.resolving = true;
                }
                self.command(Command::ResolveSession { old: a.id });
            }
            _ => self.rejoin(a.id),
        }
    }

    pub(super) fn on_resolved(
        &mut self,
        old: &SessionId,
        result: Result<Option<MoveFields>, String>,
    ) {
        let Some(r) = self
            .recovery
            .as_mut()
            .filter(|r| r.resolving && &r.lost == old)
        else {
            return;
        };
        r.resolving = false;
        // The answer is checked like every move request; a rotation is why we asked.
        let result = result.and_then(|answer| match answer.map(MoveFields::request) {
            None => Ok(None),
            Some(Ok(mut request)) => {
                request
                    .reason
                    .get_or_insert_with(|| String::from("serverRotation"));
                Ok(Some(request))
            }
            Some(Err(reason)) => Err(String::from(reason.problem())),
        });
        match result {
            Ok(Some(request)) if &request.session != old => self.recover_to(request),
            Ok(_) => self.rejoin(old.clone()),
            Err(detail) => {
                self.event(Event::HandoffFailed {
                    to: old.clone(),
                    error: HandoffError::ResolveFailed { detail },
                    will_retry: true,
                    next_attempt_at: Some(self.now),
                });
                self.rejoin(old.clone());
            }
        }
        self.sync_state();
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
