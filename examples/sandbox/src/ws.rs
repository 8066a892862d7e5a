//! One browser client's WebSocket (PROTOCOL.md): a reader that stamps arrival times, a
//! writer that drains the connection's outbox, and a handler that applies frames in order,
//! each after the latency hook.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::watch;
use tokio::time::{sleep_until, timeout_at, Instant};

use crate::outbox::{Out, OutKind, Outbox};
use crate::state::{ConnectHook, Joined, Leave, Presence, Sandbox};
use crate::wire::{self, frame, with_req};

const MAX_FRAME_BYTES: usize = 64 * 1024;
const SOCKET_BUFFER_BYTES: usize = 8 * 1024;
const CONNECT_WITHIN: Duration = Duration::from_secs(10);
const PING_EVERY: Duration = Duration::from_secs(20);
/// How long a closing socket may take to finish its close handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

pub async fn upgrade(State(sandbox): State<Arc<Sandbox>>, ws: WebSocketUpgrade) -> Response {
    // Small socket buffers: the default 128 KiB read buffer would dominate the memory of
    // a connection that carries signaling only.
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .on_upgrade(move |socket| serve(sandbox, socket))
}

async fn serve(sandbox: Arc<Sandbox>, socket: WebSocket) {
    let (sink, stream) = socket.split();
    let (out_tx, out_rx) = unbounded_channel();
    let outbox = Outbox::new(out_tx, Arc::clone(&sandbox.latency_ms));
    let (kill, kill_rx) = watch::channel(false);
    let writer = tokio::spawn(write_loop(sink, out_rx, kill_rx.clone()));
    let (in_tx, in_rx) = unbounded_channel();
    let reader = tokio::spawn(read_loop(stream, in_tx, kill_rx));

    let mut conn = Conn {
        sandbox: Arc::clone(&sandbox),
        outbox,
        kill,
        joined: None,
        closing: false,
    };
    conn.run(in_rx).await;

    if let Some(j) = &conn.joined {
        sandbox.leave(&j.info.connection_id, Leave::Network);
    }
    let kill = conn.kill.clone();
    drop(conn);
    // The writer ends once its outbox has no sender left (the session dropped it on leave).
    let _ = tokio::time::timeout(CLOSE_GRACE, writer).await;
    kill.send_replace(true);
    let _ = reader.await;
}

struct Conn {
    sandbox: Arc<Sandbox>,
    outbox: Outbox,
    kill: watch::Sender<bool>,
    joined: Option<Joined>,
    closing: bool,
}

impl Conn {
    async fn run(&mut self, mut in_rx: UnboundedReceiver<(Instant, Message)>) {
        let deadline = Instant::now() + CONNECT_WITHIN;
        while !self.closing {
            let next = if self.joined.is_none() {
                match timeout_at(deadline, in_rx.recv()).await {
                    Ok(n) => n,
                    Err(_) => {
                        self.send(error(
                            1010,
                            "OT_NOT_CONNECTED",
                            "no connect frame within 10 s",
                            &None,
                        ));
                        self.outbox.close(1008, "connect timeout");
                        return;
                    }
                }
            } else {
                in_rx.recv().await
            };
            let Some((arrived, msg)) = next else { return };
            let latency = self.sandbox.latency_ms.load(Ordering::Relaxed);
            if latency > 0 {
                sleep_until(arrived + Duration::from_millis(latency)).await;
            }
            match msg {
                Message::Text(text) => match serde_json::from_str::<Value>(text.as_str()) {
                    Ok(v) if v.get("t").and_then(Value::as_str).is_some() => self.handle(v).await,
                    _ => self.send(error(
                        1011,
                        "OT_INVALID_PARAMETER",
                        "frames are JSON objects with a string field t",
                        &None,
                    )),
                },
                Message::Binary(_) => {
                    self.outbox.close(1003, "binary frames are not accepted");
                    return;
                }
                Message::Close(_) => return,
                Message::Ping(_) | Message::Pong(_) => {}
            }
        }
    }

    fn send(&self, v: Value) {
        self.outbox.text(&frame(v));
    }

    async fn handle(&mut self, v: Value) {
        let t = v["t"].as_str().unwrap_or_default().to_owned();
        let req_id = v.get("reqId").cloned();
        if t == "ping" {
            let mut pong = json!({"t": "pong"});
            if let Some(id) = v.get("id") {
                pong["id"] = id.clone();
            }
            return self.send(pong);
        }
        let Some(joined) = &self.joined else {
            if t == "connect" {
                return self.connect(&v).await;
            }
            return self.send(error(
                1010,
                "OT_NOT_CONNECTED",
                "send connect first",
                &req_id,
            ));
        };
        let cid = joined.info.connection_id.clone();
        let sid = joined.session_id.clone();
        let sb = Arc::clone(&self.sandbox);
        match t.as_str() {
            "connect" => self.send(error(1011, "OT_INVALID_PARAMETER", "already connected", &req_id)),
            "publish" => match sb.publish(&cid, &v) {
                Ok(stream) => self.send(with_req(json!({"t": "published", "stream": stream}), &req_id)),
                Err(r) => self.send(with_req(
                    json!({"t": "publishError", "code": r.code, "name": r.name, "message": r.message}),
                    &req_id,
                )),
            },
            "unpublish" => {
                let stream_id = v.get("streamId").and_then(Value::as_str).unwrap_or("");
                let reason = match v.get("reason").and_then(Value::as_str) {
                    Some("mediaStopped") => "mediaStopped",
                    _ => "clientDisconnected",
                };
                if let Err(r) = sb.unpublish(&cid, stream_id, reason, false, &req_id) {
                    self.send(error(r.code, r.name, &r.message, &req_id));
                }
            }
            "streamUpdate" => {
                if let Err(r) = sb.stream_update(&cid, &v) {
                    self.send(error(r.code, r.name, &r.message, &req_id));
                }
            }
            "signal" => {
                let to = match v.get("to") {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.as_str())),
                    Some(_) => Err(()),
                };
                let signal_type = match v.get("type") {
                    None | Some(Value::Null) => Some(""),
                    Some(t) => t.as_str(),
                };
                let data = match v.get("data") {
                    None | Some(Value::Null) => Some(""),
                    Some(d) => d.as_str(),
                };
                let outcome = match (to, signal_type, data) {
                    (Ok(to), Some(ty), Some(data)) => sb.signal(&sid, Some(&cid), to, ty, data),
                    _ => Err(crate::state::Refusal {
                        code: 400,
                        name: "OT_INVALID_PARAMETER",
                        message: "to, type and data must be strings".into(),
                    }),
                };
                match outcome {
                    Ok(()) => self.send(with_req(json!({"t": "signalAck"}), &req_id)),
                    Err(r) => self.send(with_req(
                        json!({"t": "signalError", "code": r.code, "name": r.name, "message": r.message}),
                        &req_id,
                    )),
                }
            }
            "rtc" => {
                if let Err(message) = sb.relay(&cid, &v) {
                    self.send(json!({
                        "t": "rtcError", "to": v.get("to"), "streamId": v.get("streamId"),
                        "subscriberId": v.get("subscriberId"), "code": 404, "message": message,
                    }));
                }
            }
            "forceDisconnect" | "forceUnpublish" => {
                if !joined.role.can_moderate() {
                    return self.send(error(1520, "OT_PERMISSION_DENIED", "only a moderator may do this", &req_id));
                }
                let outcome = if t == "forceDisconnect" {
                    let target = v.get("connectionId").and_then(Value::as_str).unwrap_or("");
                    sb.force_disconnect(&sid, target)
                } else {
                    let stream_id = v.get("streamId").and_then(Value::as_str).unwrap_or("");
                    sb.unpublish(&cid, stream_id, "forceUnpublished", true, &None)
                };
                match outcome {
                    Ok(()) => self.send(with_req(json!({"t": "ack"}), &req_id)),
                    Err(r) => self.send(error(1011, "OT_INVALID_PARAMETER", &r.message, &req_id)),
                }
            }
            "disconnect" => {
                sb.leave(&cid, Leave::Client);
                self.joined = None;
                self.closing = true;
            }
            other => self.send(error(
                1011,
                "OT_INVALID_PARAMETER",
                &format!("unknown frame type {other:?}"),
                &req_id,
            )),
        }
    }

    async fn connect(&mut self, v: &Value) {
        let (Some(sid), Some(token)) = (
            v.get("sessionId").and_then(Value::as_str),
            v.get("token").and_then(Value::as_str),
        ) else {
            return self.refuse(
                1011,
                "OT_INVALID_PARAMETER",
                "connect needs string sessionId and token",
            );
        };
        let sb = Arc::clone(&self.sandbox);
        match sb.presence(sid) {
            Presence::Live => {}
            Presence::Destroyed => {
                return self.refuse(1005, "OT_INVALID_SESSION_ID", "session was destroyed")
            }
            Presence::Unknown => {
                return self.refuse(1005, "OT_INVALID_SESSION_ID", "no such session")
            }
        }
        let grant = match sb.verifier.check_client(token, sid) {
            Ok(g) => g,
            Err(why) => return self.refuse(1004, "OT_AUTHENTICATION_ERROR", &why),
        };
        match sb.connect_hooks(sid) {
            ConnectHook::Fail => {
                return self.refuse(
                    1006,
                    "OT_CONNECT_FAILED",
                    "connect failed (sandbox failConnects hook)",
                )
            }
            ConnectHook::Proceed { delay_ms: 0 } => {}
            ConnectHook::Proceed { delay_ms } => {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await
            }
        }
        match sb.join(sid, grant, self.outbox.clone(), self.kill.clone()) {
            Some(j) => self.joined = Some(j),
            None => self.refuse(1005, "OT_INVALID_SESSION_ID", "session was destroyed"),
        }
    }

    fn refuse(&mut self, code: u32, name: &'static str, message: &str) {
        self.send(error(code, name, message, &None));
        self.outbox.close(4000 + (code % 1000) as u16, name);
        self.closing = true;
    }
}

fn error(code: u32, name: &str, message: &str, req_id: &Option<Value>) -> Value {
    wire::error(code, name, message, req_id)
}

async fn read_loop(
    mut stream: SplitStream<WebSocket>,
    in_tx: UnboundedSender<(Instant, Message)>,
    mut kill: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            Ok(()) = kill.changed() => return,
            msg = stream.next() => match msg {
                Some(Ok(m)) => {
                    let closing = matches!(m, Message::Close(_));
                    if in_tx.send((Instant::now(), m)).is_err() || closing {
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
    mut out_rx: UnboundedReceiver<Out>,
    mut kill: watch::Receiver<bool>,
) {
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    loop {
        tokio::select! {
            Ok(()) = kill.changed() => return,
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
                    Ok(()) = kill.changed() => return,
                    _ = sleep_until(out.due) => {}
                }
                match out.kind {
                    OutKind::Text(t) => {
                        if sink.send(Message::Text(t)).await.is_err() {
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
