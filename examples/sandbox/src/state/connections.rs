//! Connections: the session-info check a client makes before it opens its socket, joining
//! (the snapshot and everyone's `connection created`), and every way of leaving.

use axum::body::Bytes;
use serde_json::{json, Value};

use super::{member_session, now_ms, Member, Refusal, Sandbox, Session};
use crate::auth::{ClientGrant, Role};
use crate::config::{
    MAX_CONNECTION_ID, MAX_STREAMS_PER_CONNECTION, MAX_SUBSCRIPTIONS_PER_CONNECTION,
    MAX_SUBSCRIPTIONS_PER_STREAM,
};
use crate::hooks::ConnectFault;
use crate::outbox::Outbox;
use crate::vendor::raptor;
use crate::wire::{self, ConnInfo};

/// A connection ID in the vendor's character set: the client names its connection with a
/// UUID, so letters, digits and `-`, at most `MAX_CONNECTION_ID` of them.
pub fn valid_connection_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CONNECTION_ID
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn limit(why: &str) -> Refusal {
    Refusal::new(429, "OT_LIMIT_EXCEEDED", why)
}

/// Refuses a `create stream` past the connection's cap.
pub(super) fn check_stream_cap(s: &Session, cid: &str) -> Result<(), Refusal> {
    let mine = s
        .streams
        .iter()
        .chain(&s.pending_streams)
        .filter(|st| st.info.connection.connection_id == cid)
        .count();
    if mine >= MAX_STREAMS_PER_CONNECTION {
        return Err(limit("this connection publishes the most streams allowed"));
    }
    Ok(())
}

/// Refuses a `create stream/ST/subscriber` past the connection's caps.
pub(super) fn check_subscription_cap(
    s: &Session,
    cid: &str,
    stream_id: &str,
) -> Result<(), Refusal> {
    let (mut all, mut this) = (0, 0);
    for x in s.subscriptions.iter().filter(|x| x.subscriber == cid) {
        all += 1;
        this += usize::from(x.stream == stream_id);
    }
    if all >= MAX_SUBSCRIPTIONS_PER_CONNECTION || this >= MAX_SUBSCRIPTIONS_PER_STREAM {
        return Err(limit(
            "this connection holds the most subscriptions allowed",
        ));
    }
    Ok(())
}

/// Why a connection leaves its session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leave {
    /// The client sent a Rumor DISCONNECT.
    Client,
    /// The socket closed without one (also the `cut` hook, an overflowing queue).
    Network,
    /// REST force-disconnect or a moderator.
    Forced,
    /// The end of a rotation, for a connection that did not migrate.
    Rotation,
}

impl Leave {
    pub fn reason(self) -> &'static str {
        match self {
            Leave::Client => "clientDisconnected",
            Leave::Network => "networkDisconnected",
            Leave::Forced => "forceDisconnected",
            Leave::Rotation => "serverRotation",
        }
    }
}

/// What the session-info request may go on to.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// Answer with the session info (after `delay_ms`, the `delayConnects` hook); a
    /// migrating connection's answer names its next socket generation (`migration`), so
    /// that its messaging URL differs from the one it holds.
    Admit {
        delay_ms: u64,
        migration: Option<u32>,
    },
    /// Refuse with a vendor error code (1004, 1005, 1006, 2001) and a reason.
    Refuse { code: u32, why: String },
}

/// A connection in its session, for the socket that owns it.
pub struct Joined {
    pub session_id: String,
    pub info: ConnInfo,
    pub role: Role,
}

impl Sandbox {
    /// The session-info check (`GET /anvil.../session/{sid}`): the session must be live and
    /// the token good for it; then the connect hooks apply to this attempt, which the client
    /// names by the connection ID it chose.
    pub fn admit(&self, sid: &str, token: &str, connection_id: &str) -> Admission {
        let refuse = |code, why: &str| Admission::Refuse {
            code,
            why: why.to_owned(),
        };
        if !valid_connection_id(connection_id) {
            return refuse(2001, "the connection ID is not 1-64 letters, digits or -");
        }
        let mut g = self.lock();
        match g.sessions.get(sid) {
            None => return refuse(1005, "no such session"),
            Some(s) if s.destroyed_at.is_some() => return refuse(1005, "session was destroyed"),
            Some(_) => {}
        }
        if let Err(why) = self.verifier.check_client(token, sid) {
            return refuse(1004, &why);
        }
        // A live connection that was told to migrate fetches the session info again with
        // its own ID: not a connect attempt, so the connect hooks do not see it.
        let migration = g
            .sessions
            .get(sid)
            .filter(|_| g.where_is.get(connection_id).map(String::as_str) == Some(sid))
            .and_then(|s| s.member(connection_id))
            .and_then(|m| m.migration)
            .map(|(generation, _)| generation);
        if migration.is_some() {
            return Admission::Admit {
                delay_ms: 0,
                migration,
            };
        }
        match g.hooks.connect_fault(sid, connection_id) {
            Some(ConnectFault { code }) => {
                refuse(code, "connect refused by the sandbox's failConnects hook")
            }
            None => Admission::Admit {
                delay_ms: g.hooks.delay_connects.get(sid).copied().unwrap_or(0),
                migration: None,
            },
        }
    }

    /// Adds a connection that presented `token` on its socket, answering its `create
    /// connection` request (`transaction`): first the STATUS whose body is the session's
    /// snapshot (the client reads it as `session#read`), then its own `connection created`
    /// (without which the client's connect never completes); the others get theirs.
    /// `migrate`: its request advertised the capability `migrate`. A connection told to
    /// migrate joins again on its new socket ([`Sandbox::rejoin`]).
    pub fn join(
        &self,
        sid: &str,
        connection_id: &str,
        token: &str,
        migrate: bool,
        out: Outbox,
        transaction: &str,
    ) -> Result<Joined, Refusal> {
        if !valid_connection_id(connection_id) {
            return Err(Refusal::new(
                400,
                "OT_INVALID_PARAMETER",
                "the connection ID is not 1-64 letters, digits or -",
            ));
        }
        let grant: ClientGrant = self
            .verifier
            .check_client(token, sid)
            .map_err(|why| Refusal::new(403, "OT_AUTHENTICATION_ERROR", why))?;
        let mut g = self.lock();
        let inner = &mut *g;
        if let Some(in_sid) = inner.where_is.get(connection_id) {
            let migrating = in_sid == sid
                && inner
                    .sessions
                    .get(sid)
                    .and_then(|s| s.member(connection_id))
                    .is_some_and(|m| m.migration.is_some());
            if !migrating {
                return Err(Refusal::new(
                    409,
                    "OT_INVALID_PARAMETER",
                    "that connection ID is already connected",
                ));
            }
            let s = Self::live_session(&mut inner.sessions, sid)?;
            return Ok(rejoin(s, connection_id, out, transaction));
        }
        let s = Self::live_session(&mut inner.sessions, sid)?;
        let info = ConnInfo {
            connection_id: connection_id.to_owned(),
            creation_time: now_ms(),
            data: grant.data,
        };
        let snapshot = json!({
            "connection": s.members.iter().map(|m| m.info.raptor(m.role)).collect::<Vec<_>>(),
            "stream": s.streams.iter().map(|st| &st.raptor).collect::<Vec<_>>(),
            "archive": [],
        });
        out.send(&Bytes::from(
            raptor::status(connection_id, transaction, 200, Some(&snapshot)).encode(),
        ));
        let created = s.scope.connection_created(&info.raptor(grant.role));
        s.broadcast(&created, None);
        s.members.push(Member {
            info: info.clone(),
            role: grant.role,
            out,
            migrate,
            generation: 0,
            migration: None,
            migrated_for: None,
            old: Vec::new(),
        });
        s.send_to(connection_id, raptor::SYMPHONY, &created);
        s.last_activity = now_ms();
        inner
            .where_is
            .insert(connection_id.to_owned(), sid.to_owned());
        self.record(
            s,
            "connectionCreated",
            json!({"connection": wire::cb_connection(&info)}),
        );
        Ok(Joined {
            session_id: sid.to_owned(),
            info,
            role: grant.role,
        })
    }

    /// Removes a connection (no-op when it is already gone). Others get `stream deleted` for
    /// its streams, then `connection deleted`; the publishers it subscribed to learn that
    /// those subscribers are gone. A forced leaver is told too (its own `connection
    /// deleted` is its `sessionDisconnected`), and its socket is closed. A socket passes its
    /// outbox (`only`): it ends its own membership, never a later one with the same ID.
    pub fn leave(&self, cid: &str, why: Leave, only: Option<&Outbox>) {
        let mut g = self.lock();
        let inner = &mut *g;
        let Some(sid) = inner.where_is.get(cid).cloned() else {
            return;
        };
        let member = inner.sessions.get_mut(&sid).and_then(|s| {
            let pos = s.members.iter().position(|m| m.info.connection_id == cid)?;
            Some((s, pos))
        });
        if let (Some((s, pos)), Some(out)) = (member, only) {
            let m = &mut s.members[pos];
            if !m.out.same(out) {
                // An earlier socket of a connection that migrated: it just goes.
                m.old.retain(|o| !o.same(out));
                return;
            }
        }
        let member = inner.sessions.get_mut(&sid).and_then(|s| {
            let pos = s.members.iter().position(|m| m.info.connection_id == cid)?;
            Some((s, pos))
        });
        inner.where_is.remove(cid);
        let Some((s, pos)) = member else {
            return;
        };
        let leaver = s.members.remove(pos);
        let reason = why.reason();
        for o in &leaver.old {
            o.close(1000, reason);
        }
        let tell_leaver = |message: &Value| {
            if matches!(why, Leave::Forced | Leave::Rotation) {
                leaver
                    .out
                    .send(&super::encode(cid, raptor::SYMPHONY, message));
            }
        };
        let ended = drop_subscriptions_of(s, cid);
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut s.streams)
            .into_iter()
            .partition(|st| st.info.connection.connection_id == cid);
        s.streams = kept;
        // Its routed streams whose media never flowed were never announced: they just go.
        let (unannounced, pending): (Vec<_>, Vec<_>) = std::mem::take(&mut s.pending_streams)
            .into_iter()
            .partition(|st| st.info.connection.connection_id == cid);
        s.pending_streams = pending;
        let closed: Vec<String> = gone
            .iter()
            .chain(&unannounced)
            .map(|st| st.info.stream_id.clone())
            .collect();
        self.close_legs(s, &closed, &ended);
        for st in gone {
            s.subscriptions.retain(|x| x.stream != st.info.stream_id);
            let m = s.scope.stream_deleted(&st.info.stream_id, reason);
            s.broadcast(&m, None);
            tell_leaver(&m);
            self.record(
                s,
                "streamDestroyed",
                json!({"stream": wire::cb_stream(&st.info), "reason": reason}),
            );
        }
        let m = s.scope.connection_deleted(cid, reason);
        s.broadcast(&m, None);
        tell_leaver(&m);
        match why {
            Leave::Forced => leaver.out.close(1000, "forceDisconnected"),
            Leave::Client => leaver.out.close(1000, "clientDisconnected"),
            Leave::Rotation => leaver.out.close(1000, "serverRotation"),
            Leave::Network => {}
        }
        s.last_activity = now_ms();
        self.record(
            s,
            "connectionDestroyed",
            json!({"connection": wire::cb_connection(&leaver.info), "reason": reason}),
        );
    }

    /// REST `DELETE …/session/{sid}/connection/{cid}`, or a moderator's `delete connection`.
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
        self.leave(cid, Leave::Forced, None);
        Ok(())
    }

    /// A moderator's `delete connection/X`: only within the moderator's own session.
    pub fn moderator_disconnect(&self, moderator: &str, target: &str) -> Result<(), Refusal> {
        let sid = {
            let mut g = self.lock();
            let s = member_session(&mut g, moderator)?;
            let role = s.member(moderator).map(|m| m.role);
            if role != Some(Role::Moderator) {
                return Err(Refusal::new(
                    403,
                    "OT_PERMISSION_DENIED",
                    "only a moderator may force a disconnect",
                ));
            }
            s.id.clone()
        };
        self.force_disconnect(&sid, target)
    }

    /// `POST /admin/connections/{cid}/cut`: drops the socket without a close frame.
    pub fn cut(&self, cid: &str) -> bool {
        let g = self.lock();
        let Some(sid) = g.where_is.get(cid) else {
            return false;
        };
        match g.sessions.get(sid).and_then(|s| s.member(cid)) {
            Some(m) => {
                m.out.kill();
                true
            }
            None => false,
        }
    }
}

/// A connection told to migrate, on its new socket: that socket becomes its current one
/// (everything for it goes there from now on; requests from the old one still count). Its
/// answer is a first connect's: the STATUS with the snapshot, in which every stream it does
/// not own carries `sourceStreamId: "MANTIS"` (the only thing that makes the vendor's client
/// re-create its subscriptions), then its own `connection created`, to it alone. Nobody
/// else hears of it and no callback is sent: to the session it never left.
fn rejoin(s: &mut Session, cid: &str, out: Outbox, transaction: &str) -> Joined {
    let snapshot = json!({
        "connection": s
            .members
            .iter()
            .filter(|m| m.info.connection_id != cid)
            .map(|m| m.info.raptor(m.role))
            .collect::<Vec<_>>(),
        "stream": s
            .streams
            .iter()
            .map(|st| {
                let mut v = st.raptor.clone();
                if st.info.connection.connection_id != cid {
                    if let Some(o) = v.as_object_mut() {
                        o.insert("sourceStreamId".into(), json!("MANTIS"));
                    }
                }
                v
            })
            .collect::<Vec<_>>(),
        "archive": [],
    });
    out.send(&Bytes::from(
        raptor::status(cid, transaction, 200, Some(&snapshot)).encode(),
    ));
    let m = s
        .members
        .iter_mut()
        .find(|m| m.info.connection_id == cid)
        .expect("a migrating member");
    let (generation, rotation) = m.migration.take().expect("a migrating member");
    let previous = std::mem::replace(&mut m.out, out);
    m.old.push(previous);
    m.generation = generation;
    m.migrated_for = Some(rotation);
    let joined = Joined {
        session_id: s.id.clone(),
        info: m.info.clone(),
        role: m.role,
    };
    let created = s.scope.connection_created(&m.info.raptor(m.role));
    s.send_to(cid, raptor::SYMPHONY, &created);
    s.last_activity = now_ms();
    joined
}

/// A leaving connection's subscriptions end: in a relayed session each publisher it
/// subscribed to closes that peer connection. Returns the subscriber IDs that ended.
fn drop_subscriptions_of(s: &mut Session, cid: &str) -> Vec<String> {
    let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut s.subscriptions)
        .into_iter()
        .partition(|x| x.subscriber == cid);
    s.subscriptions = rest;
    for x in &mine {
        if x.owner != cid && !s.routed {
            let m = s.scope.subscriber_deleted(&x.stream, &x.id);
            s.send_to(&x.owner, cid, &m);
        }
    }
    mine.into_iter().map(|x| x.id).collect()
}
