//! Moving the call from the live session (A) to another (B): starting on a signal or an
//! app request, superseding, the leave rule and its bounds, and completing.
//!
//! A is left when our own stream is live in B, every participant with a stream in A is
//! shown from B or has left A, and (group mode) every connection of A has appeared in B and,
//! when we publish, said it shows everyone from B (so none of them still needs our stream in
//! A). We say the same into B once we show everyone from B.
//! Bounds end the overlap early: `max_overlap_ms` after B connected, the signal's
//! `deadline - deadline_margin_ms`, or A being lost. At the deadline's margin a tile still
//! showing A keeps showing it until its B stream renders or A ends (A's picture flows until
//! the platform destroys it); the other bounds end the overlap at once, and every tile still
//! showing A then shows the participant's B stream (rendered or not), or is hidden.

use super::session::{Link, Session, Sub};
use super::{
    Command, ConnectionId, Engine, Event, Handoff, HandoffRequest, LeaveCause, MoveFields,
    RejectReason, Rejection, SessionId, Slot, State,
};

impl Engine {
    /// A handoff signal: obeyed only from the server, only while in a call, only when valid.
    pub(super) fn on_signal(
        &mut self,
        from: Option<ConnectionId>,
        body: Result<MoveFields, Rejection>,
    ) {
        if self.state == State::Idle {
            return; // from nowhere we are
        }
        if from.is_some() {
            return self.reject(RejectReason::NotFromServer.into());
        }
        match body.and_then(MoveFields::signal) {
            Ok(request) => self.on_move(request, true),
            Err(reason) => self.reject(reason),
        }
    }

    /// A peer's moved signal. It only counts in the session we are moving to, from a
    /// connection (the server speaks for nobody here), about the session we are moving from;
    /// anything else is about some other move and ignored without an event (every client
    /// of a session sees every peer's moved signal).
    pub(super) fn on_moved(&mut self, session: &SessionId, from: Option<ConnectionId>, data: &str) {
        let Some(h) = self.handoff.as_mut() else {
            return;
        };
        let Some(from) = from else { return };
        if &h.target.id != session || h.from.as_str() != data || h.moved.contains(&from) {
            return;
        }
        h.moved.push(from);
    }

    /// Our own moved signal, once we show from B everyone who has a stream in A.
    pub(super) fn announce_moved(&mut self) {
        let Some(h) = self.handoff.as_ref() else {
            return;
        };
        if h.announced || h.target.connected_at().is_none() {
            return;
        }
        let Some(a) = self.live.as_ref().filter(|s| s.is_connected()) else {
            return;
        };
        if !self.all_shown_from(a, &h.target.id) {
            return;
        }
        let (session, data) = (h.target.id.clone(), h.from.0.clone());
        if let Some(h) = self.handoff.as_mut() {
            h.announced = true;
        }
        self.command(Command::Signal {
            session,
            kind: self.config.moved_signal_type(),
            data,
        });
    }

    pub(super) fn on_announce_failed(&mut self, session: SessionId, detail: String) {
        self.event(Event::AnnounceFailed { session, detail });
    }

    /// Every participant with a stream in `a` is shown from `b`.
    fn all_shown_from(&self, a: &Session, b: &SessionId) -> bool {
        a.keys_with_streams()
            .all(|key| self.participants.shown(key).is_some_and(|(s, _)| s == b))
    }

    fn reject(&mut self, rejection: Rejection) {
        self.event(Event::SignalRejected { rejection });
    }

    /// A valid request to move (from a signal, or from the app with `from_signal` false).
    pub(super) fn on_move(&mut self, request: HandoffRequest, from_signal: bool) {
        let to = &request.session;
        if self.live.as_ref().is_some_and(|s| &s.id == to)
            || self.handoff.as_ref().is_some_and(|h| &h.target.id == to)
        {
            return self.reject(RejectReason::Duplicate.into());
        }
        if (from_signal && self.left.contains(to))
            || request.deadline.is_some_and(|d| d <= self.server_now())
        {
            return self.reject(RejectReason::Stale.into());
        }
        let live_connected = self.live.as_ref().is_some_and(Session::is_connected);
        if live_connected {
            if let Some(old) = self.drop_target() {
                self.remember_left(old.target.id); // superseded
            }
            self.start_handoff(request);
        } else if let Some(old) = self.drop_target() {
            // The old session is already lost: the newest request is where to recover.
            self.remember_left(old.target.id.clone());
            self.event(Event::HandoffStarted {
                from: old.from.clone(),
                to: request.session.clone(),
                reason: request.reason.clone(),
                id: request.id.clone(),
            });
            let target = Session::new(
                request.session.clone(),
                request.token.clone(),
                Link::Waiting { until: self.now },
            );
            self.handoff = Some(Handoff::new(old.from, request, target, self.now));
            self.start_attempt(Slot::Target);
        } else {
            // Joining, rejoining or resolving: go to the requested session instead.
            if let Some(s) = self.live.take().filter(Session::is_open) {
                self.command(Command::Disconnect { session: s.id });
            }
            if let Some(r) = self.recovery.as_mut() {
                r.resolving_until = None;
            }
            self.live = Some(Session::new(
                request.session,
                request.token,
                Link::Waiting { until: self.now },
            ));
            self.start_attempt(Slot::Live);
        }
        self.sync_state();
    }

    /// Starts moving from the (connected) live session to `request.session`.
    fn start_handoff(&mut self, request: HandoffRequest) {
        let Some(from) = self.live.as_ref().map(|s| s.id.clone()) else {
            return;
        };
        self.event(Event::HandoffStarted {
            from: from.clone(),
            to: request.session.clone(),
            reason: request.reason.clone(),
            id: request.id.clone(),
        });
        self.abandoned = None;
        let now = self.now;
        let retry_until = request.deadline.map(|d| {
            self.local_time(d)
                .saturating_sub(self.config.deadline_margin_ms)
        });
        let mut start_at = now.saturating_add(self.rng.below(request.spread_ms));
        if let Some(until) = retry_until {
            // The deadline wins over the spread: connect early enough to finish in time.
            start_at = start_at.min(
                until
                    .saturating_sub(self.config.connect_timeout_ms)
                    .max(now),
            );
        }
        let mut target = Session::new(
            request.session.clone(),
            request.token.clone(),
            Link::Waiting { until: start_at },
        );
        target.retry_until = retry_until;
        self.handoff = Some(Handoff::new(from, request, target, now));
        self.sync_state();
        if start_at <= now {
            self.start_attempt(Slot::Target);
        }
    }

    /// Abandons the move under way: tiles showing the new session go back to the old one
    /// (or are hidden), its subscribers are removed and it is left.
    pub(super) fn drop_target(&mut self) -> Option<Handoff> {
        let h = self.handoff.take()?;
        let b = &h.target;
        for key in self.participants.shown_from(&b.id) {
            self.reconcile(&key); // with the target gone, this shows the old session or hides
        }
        if b.is_connected() {
            for (stream, _) in b
                .streams
                .iter()
                .filter(|(_, st)| matches!(st.sub, Sub::Subscribed { .. }))
            {
                self.command(Command::Unsubscribe {
                    session: b.id.clone(),
                    stream: stream.clone(),
                });
            }
        }
        if b.is_open() {
            self.command(Command::Disconnect {
                session: b.id.clone(),
            });
        }
        for key in b.keys() {
            if !self.is_present(key) {
                self.participants.depart(key, self.now);
            }
        }
        Some(h)
    }

    /// The new session dropped after connecting: its tiles go back to the old session and
    /// it is joined again (the caller schedules the retry).
    pub(super) fn reset_target_media(&mut self) {
        let Some(h) = self.handoff.as_mut() else {
            return;
        };
        let keys: Vec<_> = h.target.keys().cloned().collect();
        let b = h.target.id.clone();
        h.target.forget_remote();
        h.target.link = Link::Waiting { until: self.now };
        for key in self.participants.shown_from(&b) {
            self.reconcile(&key);
        }
        for key in keys {
            if !self.is_present(&key) {
                self.participants.depart(&key, self.now);
            }
        }
    }

    /// Leaves the old session if the leave rule holds or a bound has come; `true` if it did.
    pub(super) fn check_leave(&mut self) -> bool {
        let Some(cause) = self.leave_cause() else {
            return false;
        };
        self.complete(cause);
        true
    }

    fn leave_cause(&self) -> Option<LeaveCause> {
        let h = self.handoff.as_ref()?;
        let a = self.live.as_ref().filter(|s| s.is_connected())?;
        let b = &h.target;
        let b_at = b.connected_at()?;
        let own_live = !self.config.publish || b.publishing == super::session::Publishing::Live;
        let all_shown_from_b = self.all_shown_from(a, &b.id);
        let all_present = !self.config.group_mode || a.keys().all(|key| b.has_key(key));
        // Nobody still in A needs our stream there: each said it shows everyone from B.
        let all_moved = !self.config.group_mode
            || !self.config.publish
            || a.keys().all(|key| {
                h.moved
                    .iter()
                    .any(|c| b.connections.get(c).is_some_and(|k| k == key))
            });
        if own_live && all_shown_from_b && all_present && all_moved {
            Some(LeaveCause::AllMoved)
        } else if self.now >= b_at.saturating_add(self.config.max_overlap_ms) {
            Some(LeaveCause::MaxOverlap)
        } else if self.deadline_margin_reached(h) {
            // The old session's pictures keep flowing until the platform ends it: a tile
            // still showing A waits there for its B stream's first frame (then it swaps and
            // this is asked again), or for A's end, or for the overlap bound. Forcing the
            // swap here showed videos that had not rendered yet.
            self.participants
                .shown_from(&a.id)
                .is_empty()
                .then_some(LeaveCause::Deadline)
        } else {
            None
        }
    }

    fn deadline_margin_reached(&self, h: &Handoff) -> bool {
        h.request.deadline.is_some_and(|d| {
            self.now
                >= self
                    .local_time(d)
                    .saturating_sub(self.config.deadline_margin_ms)
        })
    }

    /// When a bound will end the overlap (for the timer).
    pub(super) fn leave_bound_at(&self) -> Option<super::Millis> {
        let h = self.handoff.as_ref()?;
        self.live.as_ref().filter(|s| s.is_connected())?;
        let overlap = h
            .target
            .connected_at()?
            .saturating_add(self.config.max_overlap_ms);
        // Once the deadline's margin has come, only a first frame, A's end or the overlap
        // bound end the overlap: the margin is no timer any more.
        let deadline = h
            .request
            .deadline
            .map(|d| {
                self.local_time(d)
                    .saturating_sub(self.config.deadline_margin_ms)
            })
            .filter(|&d| d > self.now);
        Some(deadline.map_or(overlap, |d| d.min(overlap)))
    }

    /// Ends the handoff: the new session (connected) becomes the live one and the old one
    /// is left (or was lost, with `OldSessionLost`).
    pub(super) fn complete(&mut self, ended_by: LeaveCause) {
        let Some(h) = self.handoff.take() else { return };
        let a = self
            .live
            .take()
            .filter(|s| s.is_connected() && ended_by != LeaveCause::OldSessionLost);
        let b = h.target;
        // Nobody may be left showing the old session: show the new stream, rendered or not.
        for key in self.participants.shown_from(&h.from) {
            let replaces = self.participants.shown(&key).cloned();
            match b.subscribed(&key) {
                Some((stream, _)) => {
                    self.command(Command::Show {
                        key: key.clone(),
                        session: b.id.clone(),
                        stream: stream.clone(),
                        replaces: replaces.clone(),
                    });
                    if let (Some(a), Some((_, old_stream))) = (&a, &replaces) {
                        if a.is_subscribed(old_stream) {
                            self.command(Command::Unsubscribe {
                                session: a.id.clone(),
                                stream: old_stream.clone(),
                            });
                        }
                    }
                    self.participants
                        .set_shown(&key, Some((b.id.clone(), stream.clone())));
                    self.event(Event::ParticipantSwapped {
                        key: key.clone(),
                        from: h.from.clone(),
                        to: b.id.clone(),
                    });
                }
                None => {
                    self.command(Command::Hide { key: key.clone() });
                    self.participants.set_shown(&key, None);
                }
            }
        }
        if let Some(a) = &a {
            self.command(Command::Disconnect {
                session: a.id.clone(),
            });
        }
        self.remember_left(h.from.clone());
        let now = self.now;
        let overlap_ms = b.connected_at().map_or(0, |at| now.saturating_sub(at));
        self.event(Event::HandoffCompleted {
            from: h.from,
            to: b.id.clone(),
            duration_ms: now.saturating_sub(h.started_at),
            overlap_ms,
            ended_by,
        });
        self.live = Some(b);
        self.recovery = None;
        self.reconcile_all();
        self.sync_state();
    }
}
