//! How sessions end: a server rotation (announced by callback, then destroyed), and the
//! sweep that forgets destroyed and long-idle sessions so a long-running sandbox does not
//! grow without bound.

use std::sync::{Arc, Weak};
use std::time::Duration;

use serde_json::json;

use super::{now_ms, Refusal, Sandbox};
use crate::vendor::raptor;
use crate::wire;

/// The longest rotation notice accepted (the platform gives hours; a week is plenty).
pub const MAX_NOTICE_MS: u64 = 7 * 24 * 3600 * 1000;
/// A destroyed session is remembered this long (connects to it get 1005, its event log
/// stays readable), then forgotten.
pub const DESTROYED_KEPT_MS: u64 = 3600 * 1000;
/// A session nobody has been connected to for this long is forgotten.
pub const IDLE_SESSION_MS: u64 = 24 * 3600 * 1000;
const SWEEP_EVERY: Duration = Duration::from_secs(60);

impl Sandbox {
    /// Starts a rotation on the platform's schedule: `sessionNotification` now, again when a
    /// quarter of the notice is left (the platform: about 4 h and 1 h before), and the
    /// session destroyed after `notice_ms`. Clients of the vendor's migration are told
    /// `migration_delay_ms` after the start (0: at once; the platform does not say when, and
    /// a delay lets a test put the app's handoff signal first).
    pub fn rotate(
        self: &Arc<Self>,
        sid: &str,
        notice_ms: u64,
        migration_delay_ms: u64,
    ) -> Result<u64, Refusal> {
        if notice_ms > MAX_NOTICE_MS || migration_delay_ms >= notice_ms.max(1) {
            return Err(Refusal::new(
                400,
                "OT_INVALID_PARAMETER",
                format!(
                    "noticeMs must be at most {MAX_NOTICE_MS} (a week), migrationDelayMs less than noticeMs"
                ),
            ));
        }
        let ends_at = {
            let mut g = self.lock();
            let s = Self::live_session(&mut g.sessions, sid)?;
            if s.rotation_ends_at.is_some() {
                return Err(Refusal::new(
                    409,
                    "OT_CONFLICT",
                    "a rotation is already scheduled",
                ));
            }
            let ends_at = now_ms().saturating_add(notice_ms);
            s.rotation_ends_at = Some(ends_at);
            if migration_delay_ms == 0 {
                Self::tell_migrating(s, ends_at);
            }
            self.record(
                s,
                "sessionNotification",
                json!({"reason": "serverRotation", "remainingTime": notice_ms}),
            );
            ends_at
        };
        let me_weak = Arc::downgrade(self);
        let sid = sid.to_owned();
        if migration_delay_ms > 0 {
            let (me_weak, sid) = (me_weak.clone(), sid.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(migration_delay_ms)).await;
                let Some(me) = me_weak.upgrade() else { return };
                let mut g = me.lock();
                if let Ok(s) = Self::live_session(&mut g.sessions, &sid) {
                    if s.rotation_ends_at == Some(ends_at) {
                        Self::tell_migrating(s, ends_at);
                    }
                }
            });
        }
        tokio::spawn(async move {
            let reminder_ms = notice_ms / 4;
            tokio::time::sleep(Duration::from_millis(notice_ms - reminder_ms)).await;
            let Some(me) = me_weak.upgrade() else { return };
            {
                let mut g = me.lock();
                // Only while this rotation is still the one scheduled for a live session.
                if let Ok(s) = Self::live_session(&mut g.sessions, &sid) {
                    if reminder_ms > 0 && s.rotation_ends_at == Some(ends_at) {
                        let remaining = ends_at.saturating_sub(now_ms());
                        me.record(
                            s,
                            "sessionNotification",
                            json!({"reason": "serverRotation", "remainingTime": remaining}),
                        );
                    }
                }
            }
            drop(me);
            tokio::time::sleep(Duration::from_millis(ends_at.saturating_sub(now_ms()))).await;
            if let Some(me) = me_weak.upgrade() {
                me.end_rotation(&sid, ends_at);
            }
        });
        Ok(ends_at)
    }

    /// The vendor's migration: each client that advertised `migrate` is told once (a second
    /// notice would start a whole second migration in the client).
    fn tell_migrating(s: &mut super::Session, ends_at: u64) {
        let notice = s.scope.message(
            "notification",
            "/notification",
            json!({"reason": "serverRotation"}),
        );
        for m in s.members.iter_mut().filter(|m| m.migrate) {
            m.migration = Some((m.generation + 1, ends_at));
        }
        for m in s.members.iter().filter(|m| m.migration.is_some()) {
            s.send_to(&m.info.connection_id, raptor::SYMPHONY, &notice);
        }
    }

    /// The end of a rotation's notice: the connections that migrated for it (the vendor's
    /// migration) stay, on their new sockets, and their old sockets close; every other one
    /// is ended with `serverRotation` (others hear it as a leave). With none migrated the
    /// session is destroyed; else it stays live, and its media with it.
    fn end_rotation(&self, sid: &str, ends_at: u64) {
        let leaving = {
            let mut g = self.lock();
            let Ok(s) = Self::live_session(&mut g.sessions, sid) else {
                return;
            };
            if s.rotation_ends_at != Some(ends_at) {
                return;
            }
            if !s.members.iter().any(|m| m.migrated_for == Some(ends_at)) {
                drop(g);
                return self.destroy(sid, "serverRotation");
            }
            s.rotation_ends_at = None;
            let mut leaving = Vec::new();
            for m in &mut s.members {
                if m.migrated_for == Some(ends_at) {
                    for o in m.old.drain(..) {
                        o.close(1000, "serverRotation");
                    }
                } else {
                    leaving.push(m.info.connection_id.clone());
                }
                m.migration = None;
            }
            leaving
        };
        for cid in leaving {
            self.leave(&cid, super::Leave::Rotation, None);
        }
    }

    /// Ends a session: each remaining client gets `stream deleted` for its own streams and
    /// its own `connection deleted` with the reason (the client's `sessionDisconnected`),
    /// then its socket is closed; the log gets their `streamDestroyed`/`connectionDestroyed`,
    /// then `sessionDestroyed`.
    fn destroy(&self, sid: &str, reason: &str) {
        let mut g = self.lock();
        let inner = &mut *g;
        let Some(s) = inner.sessions.get_mut(sid) else {
            return;
        };
        if s.destroyed_at.is_some() {
            return;
        }
        let members = std::mem::take(&mut s.members);
        let streams = std::mem::take(&mut s.streams);
        s.subscriptions.clear();
        s.pending_streams.clear();
        // The session's media router stops with it, and only then.
        self.close_session_media(s);
        for m in &members {
            let cid = m.info.connection_id.as_str();
            inner.where_is.remove(cid);
            let tell = |message| {
                m.out.send(&super::encode(cid, raptor::SYMPHONY, &message));
            };
            for st in streams
                .iter()
                .filter(|st| st.info.connection.connection_id == cid)
            {
                tell(s.scope.stream_deleted(&st.info.stream_id, reason));
                self.record(
                    s,
                    "streamDestroyed",
                    json!({"stream": wire::cb_stream(&st.info), "reason": reason}),
                );
            }
            tell(s.scope.connection_deleted(cid, reason));
            m.out.close(1000, "serverRotation");
            for o in &m.old {
                o.close(1000, "serverRotation");
            }
            self.record(
                s,
                "connectionDestroyed",
                json!({"connection": wire::cb_connection(&m.info), "reason": reason}),
            );
        }
        s.destroyed_at = Some(now_ms());
        s.rotation_ends_at = None;
        self.record(s, "sessionDestroyed", json!({"reason": reason}));
    }

    /// Forgets sessions destroyed more than [`DESTROYED_KEPT_MS`] ago and sessions nobody
    /// joined or left for [`IDLE_SESSION_MS`]; returns how many.
    pub fn sweep(&self, now: u64) -> usize {
        let mut g = self.lock();
        let before = g.sessions.len();
        g.sessions.retain(|_, s| {
            let keep = match s.destroyed_at {
                Some(at) => now.saturating_sub(at) < DESTROYED_KEPT_MS,
                None => {
                    !s.members.is_empty()
                        || s.rotation_ends_at.is_some()
                        || now.saturating_sub(s.last_activity) < IDLE_SESSION_MS
                }
            };
            if !keep && s.destroyed_at.is_none() {
                self.close_session_media(s);
            }
            keep
        });
        before - g.sessions.len()
    }
}

/// Sweeps once a minute for as long as the sandbox lives.
pub(super) fn start_sweeper(sandbox: &Arc<Sandbox>) {
    let weak: Weak<Sandbox> = Arc::downgrade(sandbox);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(sb) = weak.upgrade() else { return };
            sb.sweep(now_ms());
        }
    });
}
