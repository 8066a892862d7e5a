//! The test client of the vendor protocol: what `@vonage/client-sdk-video` sends on the wire
//! (Raptor requests and headers written by hand in the client's shapes) and what it reads.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use video_handoff_sandbox::ids::uuid;
use video_handoff_sandbox::vendor::rumor::{self, Frame};

use super::{APP_ID, WAIT};

/// What a client sends to publish a camera (its `Message.streams.create`).
pub fn camera(stream_id: &str, name: &str) -> Value {
    json!({
        "id": stream_id, "name": name,
        "publisherAudioFallbackEnabled": false, "subscriberAudioFallbackEnabled": true,
        "channel": [
            {"id": "audio1", "type": "audio", "active": true},
            {"id": "video1", "type": "video", "active": true, "width": 640, "height": 480,
             "orientation": 0, "frameRate": 30, "source": "camera", "fitMode": "cover"},
        ],
    })
}

/// A Raptor request, key order as the client's `JSON.stringify` writes it.
pub fn raptor(method: &str, uri: &str, content: &Value) -> String {
    format!(
        "{{\"method\":{},\"uri\":{},\"content\":{content}}}",
        json!(method),
        json!(uri)
    )
}

/// A STATUS the server answered a request with.
#[derive(Debug)]
pub struct Status {
    pub code: u16,
    /// The payload as JSON (the snapshot of a connect, `{reason}` of a refusal), or null.
    pub body: Value,
}

impl Status {
    pub fn reason(&self) -> String {
        self.body["reason"].as_str().unwrap_or_default().to_owned()
    }
}

/// A server MESSAGE: its Raptor fields, the path under the session's URI, and who the
/// client would think sent it (`X-TB-FROM-ADDRESS`).
#[derive(Debug, Clone)]
pub struct Msg {
    pub method: String,
    pub path: String,
    pub content: Value,
    pub reason: Option<String>,
    pub from: String,
    pub to: Vec<String>,
}

/// How a socket ended, as the client saw it.
#[derive(Debug, PartialEq)]
pub enum Ended {
    /// A close frame with this code.
    Closed(u16),
    /// The TCP connection ended without a close frame.
    Dropped,
}

/// One vendor-protocol client connection.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub id: String,
    /// `/v2/partner/{apiKey}/session/{sessionId}`.
    pub base: String,
    pub symphony: String,
    /// The body of the STATUS that answered `create connection`.
    pub snapshot: Value,
    /// This connection as its own `connection created` gave it.
    pub me: Value,
    /// What its `create connection` advertises (`["migrate"]`: `sessionMigration: true`).
    pub capabilities: Value,
    /// Frames read while waiting for a STATUS, handed out first by `next_frame`.
    queued: VecDeque<Frame>,
}

impl Client {
    pub async fn open(url: &str, connection_id: &str, sid: &str, symphony: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Client {
            ws,
            id: connection_id.to_owned(),
            base: format!("/v2/partner/{APP_ID}/session/{sid}"),
            symphony: symphony.to_owned(),
            snapshot: Value::Null,
            me: Value::Null,
            capabilities: json!([]),
            queued: VecDeque::new(),
        }
    }

    /// CONNECT, SUBSCRIBE, then `create connection` with the token. On success the snapshot
    /// and the own `connection created` are kept; on refusal, the STATUS.
    pub async fn handshake(&mut self, token: &str) -> Result<(), Status> {
        self.rumor_connect().await;
        self.send_frame(Frame::new(rumor::SUBSCRIBE, vec![self.base.clone()], ""))
            .await;
        let status = self.create_connection(&self.id.clone(), token).await;
        if status.code != 200 {
            return Err(status);
        }
        self.snapshot = status.body;
        let own = self.next().await;
        assert_eq!(
            (own.method.as_str(), own.path.clone(), own.from.as_str()),
            (
                "created",
                format!("/connection/{}", self.id),
                self.symphony.as_str()
            ),
            "the own connection created comes right after the snapshot"
        );
        self.me = own.content;
        Ok(())
    }

    /// The Rumor CONNECT (the client's `RumorMessage.Connect`: header order as there).
    pub async fn rumor_connect(&mut self) {
        let f = Frame::new(rumor::CONNECT, vec![], "")
            .with_header("uniqueId", self.id.clone())
            .with_header("TRANSACTION-ID", uuid())
            .with_header("notifyDisconnectAddress", self.symphony.clone());
        self.send_frame(f).await;
    }

    /// `create .../connection/{connection}` with the token in `X-TB-TOKEN-AUTH`.
    pub async fn create_connection(&mut self, connection: &str, token: &str) -> Status {
        let content = json!({
            "userAgent": "video-handoff-tests", "clientVersion": "js-2.35.2",
            "capabilities": self.capabilities,
        });
        let uri = format!("{}/connection/{connection}", self.base);
        let tx = self
            .send_raptor(
                &raptor("create", &uri, &content),
                &[("X-TB-TOKEN-AUTH", token)],
            )
            .await;
        self.status_of(&tx).await
    }

    /// The Rumor DISCONNECT the client sends when it leaves (then it closes the socket).
    pub async fn disconnect(&mut self) {
        let f = Frame::new(rumor::DISCONNECT, vec![], "").with_header("reconnect", "false");
        self.send_frame(f).await;
    }

    pub async fn send_frame(&mut self, f: Frame) {
        self.send_bytes(f.encode()).await;
    }

    pub async fn send_bytes(&mut self, bytes: Vec<u8>) {
        self.ws.send(Message::Binary(bytes.into())).await.unwrap();
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::Text(text.into())).await.unwrap();
    }

    /// A MESSAGE to the symphony address as the client's `Raptor.Socket.publish` sends it:
    /// the extra headers first, then Content-Type, TRANSACTION-ID, X-TB-FROM-ADDRESS.
    /// Returns the transaction ID.
    pub async fn send_raptor(&mut self, payload: &str, extra: &[(&str, &str)]) -> String {
        let tx = uuid();
        let mut f = Frame::new(rumor::MESSAGE, vec![self.symphony.clone()], payload);
        for (k, v) in extra {
            f = f.with_header(k, *v);
        }
        let f = f
            .with_header("Content-Type", "application/x-raptor+v2")
            .with_header("TRANSACTION-ID", tx.clone())
            .with_header("X-TB-FROM-ADDRESS", self.id.clone());
        self.send_frame(f).await;
        tx
    }

    /// Sends `method` on `<session uri><path>` and waits for its STATUS; messages that come
    /// first are kept for `next`.
    pub async fn request(&mut self, method: &str, path: &str, content: Value) -> Status {
        let uri = format!("{}{path}", self.base);
        let tx = self.send_raptor(&raptor(method, &uri, &content), &[]).await;
        self.status_of(&tx).await
    }

    /// Like `request`, asserting a 200.
    pub async fn ok(&mut self, method: &str, path: &str, content: Value) -> Value {
        let s = self.request(method, path, content.clone()).await;
        assert_eq!(s.code, 200, "{method} {path} {content}: {s:?}");
        s.body
    }

    /// A signal as the client's `Message.signals.create` writes it.
    pub async fn signal(&mut self, to: Option<&str>, signal_type: &str, data: &str) -> Status {
        let to = to.map(|c| format!("/connection/{c}")).unwrap_or_default();
        let path = format!("{to}/signal/{}", uuid());
        self.request("signal", &path, json!({"type": signal_type, "data": data}))
            .await
    }

    /// Publishes a camera stream with a new ID; returns the ID once the STATUS said 200.
    pub async fn publish(&mut self, name: &str) -> String {
        let st = uuid();
        self.ok("create", &format!("/stream/{st}"), camera(&st, name))
            .await;
        st
    }

    /// Waits for the STATUS of `tx`, keeping what arrives before it.
    pub async fn status_of(&mut self, tx: &str) -> Status {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut before = VecDeque::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let f = self
                .read_frame(left)
                .await
                .unwrap_or_else(|| panic!("no STATUS for {tx} within 3 s"));
            if f.kind == rumor::STATUS && f.header("TRANSACTION-ID") == Some(tx) {
                self.queued.extend(before);
                let code = f.header("STATUS").expect("STATUS header").parse().unwrap();
                let body = serde_json::from_str(&f.payload).unwrap_or(Value::Null);
                return Status { code, body };
            }
            before.push_back(f);
        }
    }

    /// The next frame of any type (queued ones first), or none within `wait`.
    pub async fn next_frame_within(&mut self, wait: Duration) -> Option<Frame> {
        match self.queued.pop_front() {
            Some(f) => Some(f),
            None => self.read_frame(wait).await,
        }
    }

    async fn read_frame(&mut self, wait: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(Message::Binary(b)))) => {
                    return Some(Frame::decode(&b).expect("the server sends Rumor frames"))
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(other) => panic!("{}: expected a Rumor frame, got {other:?}", self.id),
            }
        }
    }

    /// The next server MESSAGE; panics on anything else or after 3 s.
    pub async fn next(&mut self) -> Msg {
        let f = self
            .next_frame_within(WAIT)
            .await
            .unwrap_or_else(|| panic!("{}: no message within 3 s", self.id));
        self.decode(f)
    }

    pub async fn next_within(&mut self, wait: Duration) -> Option<Msg> {
        let f = self.next_frame_within(wait).await?;
        Some(self.decode(f))
    }

    /// Reads a frame as a server MESSAGE (asserting it is one).
    pub fn decode(&self, f: Frame) -> Msg {
        assert_eq!(
            f.kind,
            rumor::MESSAGE,
            "{}: expected a MESSAGE: {f:?}",
            self.id
        );
        assert_eq!(f.header("Content-Type"), Some("application/x-raptor+v2"));
        let v: Value = serde_json::from_str(&f.payload).expect("Raptor JSON");
        let uri = v["uri"].as_str().expect("uri");
        let path = uri
            .strip_prefix(&self.base)
            .unwrap_or_else(|| panic!("{uri} is not under {}", self.base));
        Msg {
            method: v["method"].as_str().expect("method").to_owned(),
            path: path.to_owned(),
            content: v["content"].clone(),
            reason: v["reason"].as_str().map(str::to_owned),
            from: f
                .header("X-TB-FROM-ADDRESS")
                .expect("every server MESSAGE names its sender")
                .to_owned(),
            to: f.addresses,
        }
    }

    /// The next message, asserting its method and path.
    pub async fn expect(&mut self, method: &str, path: &str) -> Msg {
        let m = self.next().await;
        assert_eq!(
            (m.method.as_str(), m.path.as_str()),
            (method, path),
            "{}: {m:?}",
            self.id
        );
        m
    }

    /// Asserts that nothing arrives for `ms`.
    pub async fn expect_silence(&mut self, ms: u64) {
        if let Some(f) = self.next_frame_within(Duration::from_millis(ms)).await {
            panic!("{}: expected silence, got {f:?}", self.id);
        }
    }

    /// Reads until the socket ends; any frame before the end is a failure.
    pub async fn ended(&mut self) -> Ended {
        assert!(self.queued.is_empty(), "unread: {:?}", self.queued);
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("socket ends within 3 s")
            {
                Some(Ok(Message::Close(Some(f)))) => return Ended::Closed(f.code.into()),
                Some(Ok(Message::Close(None))) => return Ended::Closed(1005),
                Some(Ok(Message::Binary(b))) => {
                    panic!("unexpected frame before the end: {:?}", Frame::decode(&b))
                }
                Some(Ok(m @ Message::Text(_))) => panic!("unexpected {m:?}"),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Ended::Dropped,
            }
        }
    }

    /// Closes the socket without a Rumor DISCONNECT (a closed tab).
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
