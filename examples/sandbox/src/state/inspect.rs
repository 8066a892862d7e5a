//! The admin API's side of the state: the test hooks and what `/admin/state` and
//! `/admin/sessions/{sid}/events` show.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use super::{Sandbox, Session};
use crate::hooks::{FailRule, Hooks, HooksPatch};

impl Sandbox {
    /// Merges a checked patch (`HooksPatch::validate`) into the hooks; answers them all.
    pub fn patch_hooks(&self, patch: HooksPatch) -> Value {
        let mut g = self.lock();
        if let Some(ms) = patch.latency_ms {
            self.latency_ms.store(ms, Ordering::Relaxed);
        }
        if let Some(f) = patch.fail_connects {
            match f.count.unwrap_or(1) {
                0 => {
                    g.hooks.fail_connects.remove(&f.session_id);
                }
                count => {
                    let code = f.code.unwrap_or(1006);
                    g.hooks
                        .fail_connects
                        .insert(f.session_id, FailRule { count, code });
                }
            }
        }
        if let Some(d) = patch.delay_connects {
            match d.ms {
                0 => g.hooks.delay_connects.remove(&d.session_id),
                ms => g.hooks.delay_connects.insert(d.session_id, ms),
            };
        }
        if let Some(r) = patch.drop_signals {
            g.hooks.drop_signals.push(r);
        }
        g.hooks.to_json(self.latency_ms.load(Ordering::Relaxed))
    }

    pub fn reset_hooks(&self) -> Value {
        let mut g = self.lock();
        g.hooks = Hooks::default();
        self.latency_ms.store(0, Ordering::Relaxed);
        g.hooks.to_json(0)
    }

    pub fn hooks_json(&self) -> Value {
        self.lock()
            .hooks
            .to_json(self.latency_ms.load(Ordering::Relaxed))
    }

    /// `GET /admin/state`.
    pub fn state_json(&self) -> Value {
        let g = self.lock();
        let mut sessions: Vec<&Session> = g.sessions.values().collect();
        sessions.sort_by_key(|s| s.created_at);
        let sessions: Vec<Value> = sessions
            .iter()
            .map(|s| {
                json!({
                    "sessionId": s.id,
                    "createdAt": s.created_at,
                    "properties": s.properties,
                    "destroyed": s.destroyed_at.is_some(),
                    "rotationEndsAt": s.rotation_ends_at,
                    "connections": s.members.iter().map(|m| json!({
                        "connectionId": m.info.connection_id,
                        "creationTime": m.info.creation_time,
                        "data": m.info.data,
                        "role": m.role.as_str(),
                    })).collect::<Vec<_>>(),
                    "streams": s.streams.iter().map(|st| &st.info).collect::<Vec<_>>(),
                    "subscriptions": s.subscriptions.len(),
                    "mediaMode": if s.routed { "routed" } else { "relayed" },
                    "media": s.routed.then(|| self.media.stats(&s.id)).flatten(),
                })
            })
            .collect();
        json!({
            "applicationId": self.config.application_id,
            "mediaRouter": self.media.addr().to_string(),
            "sessions": sessions,
            "hooks": g.hooks.to_json(self.latency_ms.load(Ordering::Relaxed)),
        })
    }

    /// `GET /admin/sessions/{sid}/events`: the session's callback bodies, in order (the
    /// newest [`super::MAX_EVENTS_PER_SESSION`]; `dropped` counts older ones).
    pub fn events_json(&self, sid: &str) -> Option<Value> {
        let g = self.lock();
        let s = g.sessions.get(sid)?;
        Some(json!({
            "sessionId": s.id,
            "destroyed": s.destroyed_at.is_some(),
            "events": s.events,
            "dropped": s.events_dropped,
        }))
    }
}
