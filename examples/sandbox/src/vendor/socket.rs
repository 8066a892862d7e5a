//! One vendor client's messaging WebSocket: a reader that stamps arrival times, a writer that
//! drains the connection's outbox, and a handler that applies Rumor frames in order, each
//! after the latency hook.
//!
//! The client's handshake: Rumor CONNECT (its connection ID as `uniqueId`), SUBSCRIBE to the
//! session's topic, then a MESSAGE `create .../connection/C` carrying its token. Until that
//! message has joined the session the socket may send only a few frames, for a short while
//! (work accepted before authentication is bounded). Every later MESSAGE is a Raptor request
//! answered with a STATUS of the same TRANSACTION-ID.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc::{channel, Receiver, Sender};
use tokio::sync::watch;
use tokio::time::{sleep_until, timeout_at, Instant};

use super::raptor::{self, Request, Scope};
use super::rumor::{self, Frame};
use crate::outbox::{Out, OutKind, Outbox};
use crate::state::{Joined, Leave, Refusal, Sandbox};

const MAX_FRAME_BYTES: usize = 64 * 1024;
const SOCKET_BUFFER_BYTES: usize = 8 * 1024;
/// The handshake must be done within this time and this many frames.
const JOIN_WITHIN: Duration = Duration::from_secs(10);
const MAX_FRAMES_BEFORE_JOIN: u32 = 16;
/// Frames read but not yet handled; beyond it reading pauses (back-pressure on the client).
const INBOUND_QUEUE: usize = 64;
const PING_EVERY: Duration = Duration::from_secs(20);
/// How long a closing socket may take to finish its close handshake (a close queued behind
/// the largest latency hook still goes out).
const CLOSE_GRACE: Duration = Duration::from_millis(crate::hooks::MAX_LATENCY_MS + 5000);

pub async fn upgrade(State(sandbox): State<Arc<Sandbox>>, ws: WebSocketUpgrade) -> Response {
    // Small socket buffers: the default 128 KiB read buffer would dominate the memory of a
    // connection that carries signaling only.
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .on_upgrade(move |socket| serve(sandbox, socket))
}

async fn serve(sandbox: Arc<Sandbox>, socket: WebSocket) {
    let (sink, stream) = socket.split();
    let (kill, kill_rx) = watch::channel(false);
    let (outbox, out_rx) = Outbox::new(Arc::clone(&sandbox.latency_ms), kill.clone());
    let writer = tokio::spawn(write_loop(sink, out_rx, kill_rx.clone()));
    let (in_tx, in_rx) = channel(INBOUND_QUEUE);
    let reader = tokio::spawn(read_loop(stream, in_tx, kill_rx.clone()));

    let mut conn = Conn {
        sandbox: Arc::clone(&sandbox),
        outbox,
        unique_id: None,
        joined: None,
        closing: false,
    };
    conn.run(in_rx, kill_rx).await;

    if let Some((j, _)) = &conn.joined {
        sandbox.leave(&j.info.connection_id, Leave::Network, Some(&conn.outbox));
    }
    drop(conn);
    // The writer ends once its outbox has no sender left (the session dropped it on leave).
    let _ = tokio::time::timeout(CLOSE_GRACE, writer).await;
    kill.send_replace(true);
    let _ = reader.await;
}

struct Conn {
    sandbox: Arc<Sandbox>,
    outbox: Outbox,
    /// The connection ID from the Rumor CONNECT.
    unique_id: Option<String>,
    joined: Option<(Joined, Scope)>,
    closing: bool,
}

impl Conn {
    async fn run(
        &mut self,
        mut in_rx: Receiver<(Instant, Message)>,
        mut kill: watch::Receiver<bool>,
    ) {
        let deadline = Instant::now() + JOIN_WITHIN;
        let mut before_join = 0u32;
        while !self.closing {
            let joined = self.joined.is_some();
            let next = tokio::select! {
                // Cut by the admin hook, or an overflowing outbox.
                _ = killed(&mut kill) => return,
                n = async {
                    if joined {
                        Ok(in_rx.recv().await)
                    } else {
                        timeout_at(deadline, in_rx.recv()).await
                    }
                } => match n {
                    Ok(n) => n,
                    Err(_) => return self.outbox.close(1008, "no session joined within 10 s"),
                },
            };
            let Some((arrived, msg)) = next else { return };
            if self.joined.is_none() {
                before_join += 1;
                if before_join > MAX_FRAMES_BEFORE_JOIN {
                    return self.outbox.close(1008, "too many frames before joining");
                }
            }
            let latency = self.sandbox.latency_ms.load(Ordering::Relaxed);
            if latency > 0 {
                sleep_until(arrived + Duration::from_millis(latency)).await;
            }
            // Removed from its session meanwhile (forced out, rotation): nothing it sends
            // counts any more, even if its connection ID has joined again on another socket.
            if self.outbox.is_closed() {
                return;
            }
            match msg {
                Message::Binary(bytes) => match Frame::decode(&bytes) {
                    Ok(frame) => self.handle(frame),
                    Err(_) => return self.outbox.close(1007, "not a Rumor frame"),
                },
                Message::Text(_) => return self.outbox.close(1003, "Rumor frames are binary"),
                Message::Close(_) => return,
                Message::Ping(_) | Message::Pong(_) => {}
            }
        }
    }

    fn send(&self, frame: Frame) {
        self.outbox.send(&Bytes::from(frame.encode()));
    }

    fn handle(&mut self, frame: Frame) {
        match frame.kind {
            rumor::PING => self.send(Frame::new(rumor::PONG, vec![], "")),
            rumor::CONNECT if self.unique_id.is_none() => {
                self.unique_id = frame
                    .header("uniqueId")
                    .filter(|id| !id.is_empty() && id.len() <= 128)
                    .map(str::to_owned);
            }
            rumor::DISCONNECT => {
                if let Some((j, _)) = self.joined.take() {
                    self.sandbox
                        .leave(&j.info.connection_id, Leave::Client, Some(&self.outbox));
                }
                // Also the earlier socket of a connection that migrated: it just closes.
                if !self.outbox.is_closed() {
                    self.outbox.close(1000, "clientDisconnected");
                }
                self.closing = true;
            }
            rumor::MESSAGE => self.message(&frame),
            // Topic subscriptions: the sandbox routes by session membership, not topics.
            // STATUS: the client's acknowledgements of server messages.
            _ => {}
        }
    }

    fn message(&mut self, frame: &Frame) {
        let Some(transaction) = frame.header(rumor::TRANSACTION_ID).map(str::to_owned) else {
            return; // nothing to answer to
        };
        let Some(cid) = self.unique_id.clone() else {
            return self.refuse(&transaction, 400, "send a Rumor CONNECT first");
        };
        let Some((joined, scope)) = &self.joined else {
            return self.join(frame, &cid, &transaction);
        };
        let request = match scope.parse(&frame.payload) {
            Ok(r) => r,
            Err(e) => return self.refuse(&transaction, 400, &e.to_string()),
        };
        let sb = &self.sandbox;
        let sid = joined.session_id.as_str();
        let outcome = match request {
            Request::ConnectionCreate { .. } => Err(Refusal::new(
                409,
                "OT_INVALID_PARAMETER",
                "already connected",
            )),
            Request::ConnectionDelete { connection } => sb.moderator_disconnect(&cid, &connection),
            Request::Signal {
                to,
                signal_type,
                data,
            } => match (text_or_empty(&signal_type), text_or_empty(&data)) {
                (Some(t), Some(d)) => sb.signal(sid, Some(&cid), to.as_deref(), t, d),
                _ => Err(Refusal::new(
                    400,
                    "OT_INVALID_PARAMETER",
                    "signal type and data must be strings",
                )),
            },
            Request::StreamCreate { stream, content } => {
                // The publisher's STATUS goes before everyone's `stream created`.
                let out = self.outbox.clone();
                let ack = || {
                    out.send(&Bytes::from(
                        raptor::status(&cid, &transaction, 200, None).encode(),
                    ))
                };
                match sb.publish(&cid, &stream, &content, &ack) {
                    Ok(()) => return,
                    Err(r) => Err(r),
                }
            }
            Request::StreamDelete { stream } => sb.unpublish(&cid, &stream),
            Request::StreamChannelUpdate {
                stream,
                channel,
                content,
            } => sb.update_channel(&cid, &stream, &channel, &content),
            Request::SubscriberCreate {
                stream,
                subscriber,
                source,
            } => sb.subscribe(&cid, &stream, &subscriber, source.is_some()),
            Request::SubscriberDelete { stream, subscriber } => {
                sb.unsubscribe(&cid, &stream, &subscriber)
            }
            Request::Jsep {
                method,
                stream,
                subscriber,
                content,
            } => sb.relay(&cid, &method, &stream, &subscriber, &content),
            Request::PublisherJsep {
                method,
                stream,
                content,
            } => sb.publisher_jsep(&cid, &method, &stream, &content),
            Request::Acknowledge => Ok(()),
            Request::Unsupported { signature } => Err(Refusal::new(
                405,
                "OT_NOT_SUPPORTED",
                format!("{signature} is not supported by the sandbox"),
            )),
        };
        match outcome {
            Ok(()) => self.send(raptor::status(&cid, &transaction, 200, None)),
            Err(r) => self.refuse(&transaction, status_of(&r), &r.message),
        }
    }

    /// The first MESSAGE must be `create .../connection/<the CONNECT's uniqueId>` with the
    /// token in `X-TB-TOKEN-AUTH`.
    fn join(&mut self, frame: &Frame, cid: &str, transaction: &str) {
        let Some(scope) = scope_of(&frame.payload) else {
            return self.refuse(
                transaction,
                400,
                "the first request must create this connection",
            );
        };
        if scope.api_key != self.sandbox.config.application_id {
            return self.refuse(transaction, 403, "the uri names another application");
        }
        match scope.parse(&frame.payload) {
            Ok(Request::ConnectionCreate { connection }) if connection == cid => {}
            _ => {
                return self.refuse(
                    transaction,
                    400,
                    "the first request must create the connection named in CONNECT",
                )
            }
        }
        let Some(token) = frame.header(rumor::TOKEN_AUTH) else {
            return self.refuse(transaction, 403, "X-TB-TOKEN-AUTH is required");
        };
        let sid = scope.session_id.clone();
        let migrate = advertises_migrate(&frame.payload);
        match self
            .sandbox
            .join(&sid, cid, token, migrate, self.outbox.clone(), transaction)
        {
            Ok(j) => self.joined = Some((j, scope)),
            Err(r) => {
                self.refuse(transaction, status_of(&r), &r.message);
                self.outbox.close(1000, "connect refused");
                self.closing = true;
            }
        }
    }

    fn refuse(&self, transaction: &str, status: u16, why: &str) {
        let to = self.unique_id.as_deref().unwrap_or("");
        self.send(raptor::error_status(to, transaction, status, why));
    }
}

/// A signal's `type` or `data`: a string, or absent (`""`).
fn text_or_empty(v: &Value) -> Option<&str> {
    match v {
        Value::Null => Some(""),
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// Raptor answers carry HTTP-like statuses; the vendor error codes inside refusals (10xx,
/// 15xx) are not statuses.
fn status_of(r: &Refusal) -> u16 {
    u16::try_from(r.code)
        .ok()
        .filter(|c| (400..600).contains(c))
        .unwrap_or(400)
}

/// Whether a `create connection` lists the capability `migrate` (the vendor's client with
/// `sessionMigration: true`) in `content.capabilities`.
fn advertises_migrate(payload: &str) -> bool {
    serde_json::from_str::<Value>(payload).is_ok_and(|v| {
        v["content"]["capabilities"]
            .as_array()
            .is_some_and(|c| c.iter().any(|x| x == "migrate"))
    })
}

/// The session a request's uri names: `/v2/partner/{apiKey}/session/{sessionId}/...`.
fn scope_of(payload: &str) -> Option<Scope> {
    let v: Value = serde_json::from_str(payload).ok()?;
    let uri = v.get("uri")?.as_str()?;
    let mut parts = uri.split('/').skip(1);
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("v2"), Some("partner"), Some(k), Some("session"), Some(s))
            if !k.is_empty() && !s.is_empty() =>
        {
            Some(Scope {
                api_key: k.to_owned(),
                session_id: s.to_owned(),
            })
        }
        _ => None,
    }
}

async fn read_loop(
    mut stream: SplitStream<WebSocket>,
    in_tx: Sender<(Instant, Message)>,
    mut kill: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = killed(&mut kill) => return,
            msg = stream.next() => match msg {
                Some(Ok(m)) => {
                    let closing = matches!(m, Message::Close(_));
                    if in_tx.send((Instant::now(), m)).await.is_err() || closing {
                        return;
                    }
                }
                _ => return,
            },
        }
    }
}

async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut out_rx: Receiver<Out>,
    mut kill: watch::Receiver<bool>,
) {
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut kill_while_due = kill.clone();
    loop {
        tokio::select! {
            // A cut socket also loses its outbox senders: the kill must win, or the closed
            // queue below would send a close frame the cut is not to have.
            biased;
            _ = killed(&mut kill) => return,
            _ = ping.tick() => {
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
            out = out_rx.recv() => {
                let Some(out) = out else {
                    let _ = sink.close().await;
                    return;
                };
                tokio::select! {
                    _ = killed(&mut kill_while_due) => return,
                    _ = sleep_until(out.due) => {}
                }
                match out.kind {
                    OutKind::Binary(b) => {
                        if sink.send(Message::Binary(b)).await.is_err() {
                            return;
                        }
                    }
                    OutKind::Close(code, reason) => {
                        let close = CloseFrame { code, reason: reason.into() };
                        let _ = sink.send(Message::Close(Some(close))).await;
                        return;
                    }
                }
            }
        }
    }
}

/// Resolves once the connection is to be dropped (or its owner is gone).
async fn killed(kill: &mut watch::Receiver<bool>) {
    let _ = kill.wait_for(|k| *k).await.map(|_| ());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_comes_from_the_uri() {
        let s = scope_of(r#"{"uri":"/v2/partner/app/session/2_MX/connection/c1"}"#).unwrap();
        assert_eq!((s.api_key.as_str(), s.session_id.as_str()), ("app", "2_MX"));
        assert!(scope_of(r#"{"uri":"/v2/partner//session/x"}"#).is_none());
        assert!(scope_of(r#"{"uri":"/v1/other"}"#).is_none());
        assert!(scope_of("junk").is_none());
    }

    #[test]
    fn the_migrate_capability_is_read_from_the_content() {
        let with = r#"{"content":{"capabilities":["forceMute","migrate"]}}"#;
        assert!(advertises_migrate(with));
        assert!(!advertises_migrate(
            r#"{"content":{"capabilities":["forceMute"]}}"#
        ));
        assert!(!advertises_migrate(
            r#"{"content":{"capabilities":"migrate"}}"#
        ));
        assert!(!advertises_migrate(r#"{"content":{}}"#));
    }

    #[test]
    fn vendor_codes_are_not_statuses() {
        assert_eq!(status_of(&Refusal::new(413, "x", "")), 413);
        assert_eq!(status_of(&Refusal::new(1010, "x", "")), 400);
    }
}
