//! The sandbox's sessions, connections and streams, and every change to them.
//!
//! All changes go through one lock, so every connection of a session sees the session's
//! events in one order, the event log and the callbacks follow that same order, and a
//! refused call changes nothing (checks come before the first mutation).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::sync::watch;

use crate::auth::{ClientGrant, Role, Verifier};
use crate::callbacks::Callbacks;
use crate::config::Config;
use crate::hooks::{Delivery, Hooks, HooksPatch};
use crate::ids;
use crate::outbox::Outbox;
use crate::wire::{self, frame, with_req, ConnInfo, Dims, StreamInfo};

/// Signal limits, the vendor's.
pub const MAX_SIGNAL_DATA_BYTES: usize = 8192;
pub const MAX_SIGNAL_TYPE_CHARS: usize = 128;

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Why a connection leaves its session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leave {
    /// The client sent `disconnect`.
    Client,
    /// The socket closed without `disconnect` (also the `cut` hook).
    Network,
    /// REST force-disconnect or a moderator.
    Forced,
}

impl Leave {
    fn reason(self) -> &'static str {
        match self {
            Leave::Client => "clientDisconnected",
            Leave::Network => "networkDisconnected",
            Leave::Forced => "forceDisconnected",
        }
    }
}

/// A refused request, with the vendor's code and name.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// HTTP status for REST, error code for WebSocket frames.
    pub code: u32,
    pub name: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(code: u32, name: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            code,
            name,
            message: message.into(),
        }
    }
}

/// What the connect hooks say about one connect attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum ConnectHook {
    Fail,
    Proceed { delay_ms: u64 },
}

/// Where a session ID stands.
#[derive(Debug, PartialEq, Eq)]
pub enum Presence {
    Live,
    Destroyed,
    Unknown,
}

struct Member {
    info: ConnInfo,
    role: Role,
    out: Outbox,
    kill: watch::Sender<bool>,
}

struct Session {
    id: String,
    created_at: u64,
    properties: Value,
    destroyed: bool,
    rotation_ends_at: Option<u64>,
    members: Vec<Member>,
    streams: Vec<StreamInfo>,
    events: Vec<Value>,
}

impl Session {
    fn member(&self, cid: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.info.connection_id == cid)
    }

    fn broadcast(&self, f: &axum::extract::ws::Utf8Bytes, except: Option<&str>) {
        for m in &self.members {
            if Some(m.info.connection_id.as_str()) != except {
                m.out.text(f);
            }
        }
    }
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<String, Session>,
    /// Connection ID -> session ID, for live connections only.
    where_is: HashMap<String, String>,
    hooks: Hooks,
}

/// One running sandbox's state; shared by every handler.
pub struct Sandbox {
    pub config: Config,
    pub verifier: Verifier,
    /// The latency hook, milliseconds per hop.
    pub latency_ms: Arc<AtomicU64>,
    inner: Mutex<Inner>,
    callbacks: Callbacks,
}

/// What `join` hands back to the socket handler.
pub struct Joined {
    pub session_id: String,
    pub info: ConnInfo,
    pub role: Role,
}

impl Sandbox {
    /// Needs a Tokio runtime (starts the callback sender).
    pub fn new(config: Config) -> Result<Arc<Self>, String> {
        let verifier = Verifier::new(&config.application_id, &config.public_key_pem)?;
        let callbacks = Callbacks::start(&config);
        Ok(Arc::new(Sandbox {
            config,
            verifier,
            latency_ms: Arc::new(AtomicU64::new(0)),
            inner: Mutex::new(Inner::default()),
            callbacks,
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock is a bug; keep serving the other sessions.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends to the session's event log and sends the same body as a callback.
    fn record(&self, s: &mut Session, event: &str, extra: Value) {
        let mut body = json!({
            "sessionId": s.id,
            "projectId": self.config.application_id,
            "event": event,
            "timestamp": now_ms(),
        });
        if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
            b.extend(extra);
        }
        s.events.push(body.clone());
        self.callbacks.send(body);
    }

    // ---- sessions ----

    /// `POST /session/create`: `properties` are the form fields as given.
    pub fn create_session(&self, properties: Value) -> (String, u64) {
        let created_at = now_ms();
        let id = ids::session_id(&self.config.application_id, created_at);
        let session = Session {
            id: id.clone(),
            created_at,
            properties,
            destroyed: false,
            rotation_ends_at: None,
            members: Vec::new(),
            streams: Vec::new(),
            events: Vec::new(),
        };
        self.lock().sessions.insert(id.clone(), session);
        (id, created_at)
    }

    pub fn presence(&self, sid: &str) -> Presence {
        match self.lock().sessions.get(sid) {
            Some(s) if s.destroyed => Presence::Destroyed,
            Some(_) => Presence::Live,
            None => Presence::Unknown,
        }
    }

    fn live_session<'a>(
        sessions: &'a mut HashMap<String, Session>,
        sid: &str,
    ) -> Result<&'a mut Session, Refusal> {
        match sessions.get_mut(sid) {
            Some(s) if !s.destroyed => Ok(s),
            Some(_) => Err(Refusal::new(404, "OT_NOT_FOUND", "session was destroyed")),
            None => Err(Refusal::new(404, "OT_NOT_FOUND", "no such session")),
        }
    }

    // ---- connections ----

    /// Applies the connect hooks to one connect attempt.
    pub fn connect_hooks(&self, sid: &str) -> ConnectHook {
        let mut g = self.lock();
        if g.hooks.take_connect_failure(sid) {
            return ConnectHook::Fail;
        }
        ConnectHook::Proceed {
            delay_ms: g.hooks.delay_connects.get(sid).copied().unwrap_or(0),
        }
    }

    /// Adds a connection: it gets `connected` (a snapshot), the others `connectionCreated`.
    pub fn join(
        &self,
        sid: &str,
        grant: ClientGrant,
        out: Outbox,
        kill: watch::Sender<bool>,
    ) -> Option<Joined> {
        let mut g = self.lock();
        let inner = &mut *g;
        let s = Self::live_session(&mut inner.sessions, sid).ok()?;
        let info = ConnInfo {
            connection_id: ids::uuid(),
            creation_time: now_ms(),
            data: grant.data,
        };
        let others: Vec<&ConnInfo> = s.members.iter().map(|m| &m.info).collect();
        out.text(&frame(json!({
            "t": "connected",
            "sessionId": sid,
            "connection": info,
            "role": grant.role.as_str(),
            "connections": others,
            "streams": s.streams,
            "serverTime": now_ms(),
        })));
        s.broadcast(
            &frame(json!({"t": "connectionCreated", "connection": info})),
            None,
        );
        s.members.push(Member {
            info: info.clone(),
            role: grant.role,
            out,
            kill,
        });
        inner
            .where_is
            .insert(info.connection_id.clone(), sid.to_owned());
        self.record(
            s,
            "connectionCreated",
            json!({"connection": wire::cb_connection(&info)}),
        );
        Some(Joined {
            session_id: sid.to_owned(),
            info,
            role: grant.role,
        })
    }

    /// Removes a connection (no-op when it is already gone). Others get `streamDestroyed`
    /// for its streams, then `connectionDestroyed`; a forced leaver gets its own
    /// `streamDestroyed`s and `sessionDisconnected`, and its socket is closed.
    pub fn leave(&self, cid: &str, why: Leave) {
        let mut g = self.lock();
        let inner = &mut *g;
        let Some(sid) = inner.where_is.remove(cid) else {
            return;
        };
        let Some(s) = inner.sessions.get_mut(&sid) else {
            return;
        };
        let Some(pos) = s.members.iter().position(|m| m.info.connection_id == cid) else {
            return;
        };
        let leaver = s.members.remove(pos);
        let reason = why.reason();
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut s.streams)
            .into_iter()
            .partition(|st| st.connection.connection_id == cid);
        s.streams = kept;
        for st in gone {
            let f = frame(json!({"t": "streamDestroyed", "stream": st, "reason": reason}));
            s.broadcast(&f, None);
            if why == Leave::Forced {
                leaver.out.text(&f);
            }
            self.record(
                s,
                "streamDestroyed",
                json!({"stream": wire::cb_stream(&st), "reason": reason}),
            );
        }
        s.broadcast(
            &frame(
                json!({"t": "connectionDestroyed", "connection": leaver.info, "reason": reason}),
            ),
            None,
        );
        match why {
            Leave::Forced => {
                leaver.out.text(&frame(
                    json!({"t": "sessionDisconnected", "reason": reason}),
                ));
                leaver.out.close(1000, "forceDisconnected");
            }
            Leave::Client => leaver.out.close(1000, "clientDisconnected"),
            Leave::Network => {}
        }
        self.record(
            s,
            "connectionDestroyed",
            json!({"connection": wire::cb_connection(&leaver.info), "reason": reason}),
        );
    }

    /// REST `DELETE …/session/{sid}/connection/{cid}`.
    pub fn force_disconnect(&self, sid: &str, cid: &str) -> Result<(), Refusal> {
        {
            let mut g = self.lock();
            let s = Self::live_session(&mut g.sessions, sid)?;
            if s.member(cid).is_none() {
                return Err(Refusal::new(
                    404,
                    "OT_NOT_FOUND",
                    "no such connection in this session",
                ));
            }
        }
        // Nothing can remove it in between that would make this wrong: leave is idempotent.
        self.leave(cid, Leave::Forced);
        Ok(())
    }

    /// `POST /admin/connections/{cid}/cut`: drops the socket without a close frame.
    pub fn cut(&self, cid: &str) -> bool {
        let g = self.lock();
        let Some(sid) = g.where_is.get(cid) else {
            return false;
        };
        match g.sessions.get(sid).and_then(|s| s.member(cid)) {
            Some(m) => {
                m.kill.send_replace(true);
                true
            }
            None => false,
        }
    }

    // ---- streams ----

    pub fn publish(&self, cid: &str, req: &Value) -> Result<StreamInfo, Refusal> {
        let mut g = self.lock();
        let inner = &mut *g;
        let s = member_session(inner, cid)?;
        let m = s.member(cid).expect("indexed member");
        if !m.role.can_publish() {
            return Err(Refusal::new(
                1500,
                "OT_PERMISSION_DENIED",
                "role subscriber cannot publish",
            ));
        }
        let bool_or = |k: &str, d: bool| req.get(k).and_then(Value::as_bool).unwrap_or(d);
        let video_type = match req.get("videoType") {
            None | Some(Value::Null) => None,
            Some(Value::String(v)) if ["camera", "screen", "custom"].contains(&v.as_str()) => {
                Some(v.clone())
            }
            Some(_) => {
                return Err(Refusal::new(
                    1011,
                    "OT_INVALID_PARAMETER",
                    "videoType must be camera, screen, custom or null",
                ))
            }
        };
        let dims = match req.get("videoDimensions") {
            None | Some(Value::Null) => None,
            Some(v) => Some(serde_json::from_value::<Dims>(v.clone()).map_err(|_| {
                Refusal::new(
                    1011,
                    "OT_INVALID_PARAMETER",
                    "videoDimensions must be {width, height}",
                )
            })?),
        };
        let stream = StreamInfo {
            stream_id: ids::uuid(),
            connection: m.info.clone(),
            name: req
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            has_audio: bool_or("hasAudio", true),
            has_video: bool_or("hasVideo", true),
            video_type,
            creation_time: now_ms(),
            video_dimensions: dims,
        };
        s.broadcast(
            &frame(json!({"t": "streamCreated", "stream": stream})),
            Some(cid),
        );
        s.streams.push(stream.clone());
        self.record(
            s,
            "streamCreated",
            json!({"stream": wire::cb_stream(&stream)}),
        );
        Ok(stream)
    }

    /// Unpublish by the owner, or force-unpublish by a moderator (`by_moderator`).
    pub fn unpublish(
        &self,
        cid: &str,
        stream_id: &str,
        reason: &str,
        by_moderator: bool,
        req_id: &Option<Value>,
    ) -> Result<(), Refusal> {
        let mut g = self.lock();
        let s = member_session(&mut g, cid)?;
        let Some(pos) = s.streams.iter().position(|st| {
            st.stream_id == stream_id && (by_moderator || st.connection.connection_id == cid)
        }) else {
            return Err(Refusal::new(
                1011,
                "OT_INVALID_PARAMETER",
                "no such stream of yours in this session",
            ));
        };
        let st = s.streams.remove(pos);
        let f = frame(json!({"t": "streamDestroyed", "stream": st, "reason": reason}));
        let f_req = frame(with_req(
            json!({"t": "streamDestroyed", "stream": st, "reason": reason}),
            req_id,
        ));
        for m in &s.members {
            // The requester's copy carries its reqId.
            m.out.text(if m.info.connection_id == cid {
                &f_req
            } else {
                &f
            });
        }
        self.record(
            s,
            "streamDestroyed",
            json!({"stream": wire::cb_stream(&st), "reason": reason}),
        );
        Ok(())
    }

    pub fn stream_update(&self, cid: &str, req: &Value) -> Result<(), Refusal> {
        let mut g = self.lock();
        let s = member_session(&mut g, cid)?;
        let stream_id = req.get("streamId").and_then(Value::as_str).unwrap_or("");
        let Some(st) = s
            .streams
            .iter_mut()
            .find(|st| st.stream_id == stream_id && st.connection.connection_id == cid)
        else {
            return Err(Refusal::new(
                1011,
                "OT_INVALID_PARAMETER",
                "no such stream of yours in this session",
            ));
        };
        let mut changes = Vec::new();
        for key in ["hasAudio", "hasVideo"] {
            if let Some(new) = req.get(key).and_then(Value::as_bool) {
                let slot = if key == "hasAudio" {
                    &mut st.has_audio
                } else {
                    &mut st.has_video
                };
                if *slot != new {
                    changes.push((key, json!(*slot), json!(new)));
                    *slot = new;
                }
            }
        }
        if let Some(v) = req.get("videoDimensions") {
            let new = serde_json::from_value::<Dims>(v.clone()).map_err(|_| {
                Refusal::new(
                    1011,
                    "OT_INVALID_PARAMETER",
                    "videoDimensions must be {width, height}",
                )
            })?;
            if st.video_dimensions != Some(new) {
                changes.push(("videoDimensions", json!(st.video_dimensions), json!(new)));
                st.video_dimensions = Some(new);
            }
        }
        let snapshot = st.clone();
        for (prop, old, new) in changes {
            s.broadcast(
                &frame(json!({"t": "streamPropertyChanged", "stream": snapshot,
                    "changedProperty": prop, "oldValue": old, "newValue": new})),
                None,
            );
        }
        Ok(())
    }

    // ---- signals and relay ----

    /// A signal from a client (`from`) or the REST API (`from: None`) to the whole session
    /// (`to: None`) or one connection.
    pub fn signal(
        &self,
        sid: &str,
        from: Option<&str>,
        to: Option<&str>,
        signal_type: &str,
        data: &str,
    ) -> Result<(), Refusal> {
        validate_signal(signal_type, data)?;
        let mut g = self.lock();
        let inner = &mut *g;
        let s = Self::live_session(&mut inner.sessions, sid)?;
        let from_info = from.and_then(|c| s.member(c)).map(|m| m.info.clone());
        let f = frame(json!({"t": "signal", "from": from_info, "type": signal_type, "data": data}));
        let hooks = &inner.hooks;
        let deliver = |m: &Member| {
            if !hooks.drops(&m.info.connection_id, Delivery::Signal(signal_type)) {
                m.out.text(&f);
            }
        };
        match to {
            None => s.members.iter().for_each(deliver),
            Some(cid) => match s.member(cid) {
                Some(m) => deliver(m),
                None => {
                    return Err(Refusal::new(
                        404,
                        "OT_NOT_FOUND",
                        "no such connection in this session",
                    ))
                }
            },
        }
        Ok(())
    }

    /// Relays an opaque WebRTC payload between two connections of one session.
    pub fn relay(&self, from: &str, msg: &Value) -> Result<(), String> {
        let g = self.lock();
        let Some(sid) = g.where_is.get(from) else {
            return Err("not connected".into());
        };
        let s = &g.sessions[sid];
        let to = msg.get("to").and_then(Value::as_str).unwrap_or("");
        let stream_id = msg.get("streamId").and_then(Value::as_str).unwrap_or("");
        let Some(target) = s.member(to) else {
            return Err("no such connection in this session".into());
        };
        if !s.streams.iter().any(|st| st.stream_id == stream_id) {
            return Err("no such stream in this session".into());
        }
        if g.hooks.drops(to, Delivery::Rtc) {
            return Ok(());
        }
        target.out.text(&frame(json!({
            "t": "rtc",
            "from": from,
            "streamId": stream_id,
            "subscriberId": msg.get("subscriberId").cloned().unwrap_or(Value::Null),
            "payload": msg.get("payload").cloned().unwrap_or(Value::Null),
        })));
        Ok(())
    }

    /// A connection's session and role, if it is still connected.
    pub fn whereabouts(&self, cid: &str) -> Option<(String, Role)> {
        let g = self.lock();
        let sid = g.where_is.get(cid)?;
        let role = g.sessions.get(sid)?.member(cid)?.role;
        Some((sid.clone(), role))
    }

    /// The session of a stream's owner, for a moderator's force-disconnect.
    pub fn session_of(&self, cid: &str) -> Option<String> {
        self.lock().where_is.get(cid).cloned()
    }

    // ---- rotation ----

    /// Starts a rotation on the platform's schedule: `sessionNotification` now, again when a
    /// quarter of the notice is left (the platform: about 4 h and 1 h before), and the
    /// session destroyed after `notice_ms`.
    pub fn rotate(self: &Arc<Self>, sid: &str, notice_ms: u64) -> Result<u64, Refusal> {
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
            let ends_at = now_ms() + notice_ms;
            s.rotation_ends_at = Some(ends_at);
            self.record(
                s,
                "sessionNotification",
                json!({"reason": "serverRotation", "remainingTime": notice_ms}),
            );
            ends_at
        };
        let me = Arc::clone(self);
        let sid = sid.to_owned();
        tokio::spawn(async move {
            let reminder_ms = notice_ms / 4;
            tokio::time::sleep(Duration::from_millis(notice_ms - reminder_ms)).await;
            {
                let mut g = me.lock();
                // Only while this rotation is still the one scheduled for a live session.
                if let Some(s) = g.sessions.get_mut(&sid) {
                    if !s.destroyed && s.rotation_ends_at == Some(ends_at) {
                        let remaining = ends_at.saturating_sub(now_ms());
                        me.record(
                            s,
                            "sessionNotification",
                            json!({"reason": "serverRotation", "remainingTime": remaining}),
                        );
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(ends_at.saturating_sub(now_ms()))).await;
            me.destroy(&sid, "serverRotation");
        });
        Ok(ends_at)
    }

    /// Ends a session: each remaining client gets `streamDestroyed` for its own streams and
    /// `sessionDisconnected`; the log gets their `streamDestroyed`/`connectionDestroyed`, then
    /// `sessionDestroyed`.
    fn destroy(&self, sid: &str, reason: &str) {
        let mut g = self.lock();
        let inner = &mut *g;
        let Some(s) = inner.sessions.get_mut(sid) else {
            return;
        };
        if s.destroyed {
            return;
        }
        let members = std::mem::take(&mut s.members);
        let streams = std::mem::take(&mut s.streams);
        for m in &members {
            inner.where_is.remove(&m.info.connection_id);
            for st in streams
                .iter()
                .filter(|st| st.connection.connection_id == m.info.connection_id)
            {
                m.out.text(&frame(
                    json!({"t": "streamDestroyed", "stream": st, "reason": reason}),
                ));
                self.record(
                    s,
                    "streamDestroyed",
                    json!({"stream": wire::cb_stream(st), "reason": reason}),
                );
            }
            m.out.text(&frame(
                json!({"t": "sessionDisconnected", "reason": reason}),
            ));
            m.out.close(1000, "serverRotation");
            self.record(
                s,
                "connectionDestroyed",
                json!({"connection": wire::cb_connection(&m.info), "reason": reason}),
            );
        }
        s.destroyed = true;
        s.rotation_ends_at = None;
        self.record(s, "sessionDestroyed", json!({"reason": reason}));
    }

    // ---- hooks and inspection ----

    pub fn patch_hooks(&self, patch: HooksPatch) -> Value {
        let mut g = self.lock();
        if let Some(ms) = patch.latency_ms {
            self.latency_ms.store(ms, Ordering::Relaxed);
        }
        if let Some(f) = patch.fail_connects {
            match f.count.unwrap_or(1) {
                0 => g.hooks.fail_connects.remove(&f.session_id),
                n => g.hooks.fail_connects.insert(f.session_id, n),
            };
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
                    "destroyed": s.destroyed,
                    "rotationEndsAt": s.rotation_ends_at,
                    "connections": s.members.iter().map(|m| json!({
                        "connectionId": m.info.connection_id,
                        "creationTime": m.info.creation_time,
                        "data": m.info.data,
                        "role": m.role.as_str(),
                    })).collect::<Vec<_>>(),
                    "streams": s.streams,
                })
            })
            .collect();
        json!({
            "applicationId": self.config.application_id,
            "sessions": sessions,
            "hooks": g.hooks.to_json(self.latency_ms.load(Ordering::Relaxed)),
        })
    }

    /// `GET /admin/sessions/{sid}/events`: every callback body of the session, in order.
    pub fn events_json(&self, sid: &str) -> Option<Value> {
        let g = self.lock();
        let s = g.sessions.get(sid)?;
        Some(json!({"sessionId": s.id, "destroyed": s.destroyed, "events": s.events}))
    }
}

fn member_session<'a>(inner: &'a mut Inner, cid: &str) -> Result<&'a mut Session, Refusal> {
    let sid = inner
        .where_is
        .get(cid)
        .ok_or_else(|| Refusal::new(1010, "OT_NOT_CONNECTED", "not connected"))?;
    inner
        .sessions
        .get_mut(sid)
        .ok_or_else(|| Refusal::new(1010, "OT_NOT_CONNECTED", "not connected"))
}

/// The vendor's signal limits; codes are HTTP statuses (also used on the WebSocket).
pub fn validate_signal(signal_type: &str, data: &str) -> Result<(), Refusal> {
    if signal_type.chars().count() > MAX_SIGNAL_TYPE_CHARS {
        return Err(Refusal::new(
            413,
            "OT_INVALID_PARAMETER",
            "signal type is longer than 128 characters",
        ));
    }
    if !signal_type
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '~'))
    {
        return Err(Refusal::new(
            400,
            "OT_INVALID_PARAMETER",
            "signal type may only hold A-Z a-z 0-9 - _ ~",
        ));
    }
    if data.len() > MAX_SIGNAL_DATA_BYTES {
        return Err(Refusal::new(
            413,
            "OT_INVALID_PARAMETER",
            "signal data is larger than 8192 bytes",
        ));
    }
    Ok(())
}
