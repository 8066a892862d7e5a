//! Raptor v2, the JSON inside Rumor MESSAGE frames (docs/vendor-protocol.md §4):
//! `{ "method", "uri", "content" [, "reason"] }` with URIs under
//! `/v2/partner/{apiKey}/session/{sessionId}`. This file reads what clients send and writes
//! what the server sends; which shapes are our guess of the vendor's server is said in
//! PROTOCOL.md.

use serde_json::{json, Map, Value};

use super::rumor::{self, Frame};

/// What a client asked for in one MESSAGE to the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// `create .../connection/C` (the connect handshake).
    ConnectionCreate { connection: String },
    /// `delete .../connection/C` (a moderator's forceDisconnect).
    ConnectionDelete { connection: String },
    /// `signal .../[connection/C/]signal/ID`.
    Signal {
        to: Option<String>,
        signal_type: Value,
        data: Value,
    },
    /// `create .../stream/ST` (publish); `content` as sent.
    StreamCreate { stream: String, content: Value },
    /// `delete .../stream/ST` (unpublish, or a moderator's forceUnpublish).
    StreamDelete { stream: String },
    /// `update .../stream/ST/channel/CH` (a publisher mutes/unmutes or resizes).
    StreamChannelUpdate {
        stream: String,
        channel: String,
        content: Value,
    },
    /// `create .../stream/ST/subscriber/SUB`; `source` is the content's `sourceStreamId`,
    /// which the vendor's client sends only when it re-creates a subscription (migration).
    SubscriberCreate {
        stream: String,
        subscriber: String,
        source: Option<String>,
    },
    /// `delete .../stream/ST/subscriber/SUB`.
    SubscriberDelete { stream: String, subscriber: String },
    /// `offer` or `candidate` from a publisher to the media router (routed sessions), on
    /// `stream/ST` itself.
    PublisherJsep {
        method: String,
        stream: String,
        content: Value,
    },
    /// `offer`, `answer`, `pranswer` or `candidate` on a subscription: between a publisher and
    /// a subscriber (relayed), or between a subscriber and the media router (routed).
    Jsep {
        method: String,
        stream: String,
        subscriber: String,
        content: Value,
    },
    /// Understood, nothing to do but acknowledge (subscriber preference updates).
    Acknowledge,
    /// A message the sandbox does not implement: answered with an error status.
    Unsupported { signature: String },
}

/// Why a MESSAGE payload is not a Raptor request for this session.
#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    NotJson,
    MissingField(&'static str),
    /// The URI is not under `/v2/partner/{apiKey}/session/{sessionId}` of this connection.
    ForeignUri,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::NotJson => write!(f, "payload is not a JSON object"),
            ParseError::MissingField(k) => write!(f, "payload has no string {k}"),
            ParseError::ForeignUri => write!(f, "uri is not under this connection's session"),
        }
    }
}

/// The session a connection belongs to, as URIs name it.
#[derive(Debug, Clone)]
pub struct Scope {
    pub api_key: String,
    pub session_id: String,
}

impl Scope {
    pub fn base(&self) -> String {
        format!("/v2/partner/{}/session/{}", self.api_key, self.session_id)
    }

    /// Reads a client's MESSAGE payload.
    pub fn parse(&self, payload: &str) -> Result<Request, ParseError> {
        let v: Value = serde_json::from_str(payload).map_err(|_| ParseError::NotJson)?;
        let method = v
            .get("method")
            .and_then(Value::as_str)
            .ok_or(ParseError::MissingField("method"))?;
        let uri = v
            .get("uri")
            .and_then(Value::as_str)
            .ok_or(ParseError::MissingField("uri"))?;
        let content = v.get("content").cloned().unwrap_or(Value::Null);
        let rest = uri
            .strip_prefix(&self.base())
            .ok_or(ParseError::ForeignUri)?;
        let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
        let field = |k: &str| content.get(k).cloned().unwrap_or(Value::Null);
        let own = |s: &str| s.to_owned();
        Ok(match (method, parts.as_slice()) {
            ("create", ["connection", c]) => Request::ConnectionCreate { connection: own(c) },
            ("delete", ["connection", c]) => Request::ConnectionDelete { connection: own(c) },
            ("signal", ["signal", _]) => Request::Signal {
                to: None,
                signal_type: field("type"),
                data: field("data"),
            },
            ("signal", ["connection", c, "signal", _]) => Request::Signal {
                to: Some(own(c)),
                signal_type: field("type"),
                data: field("data"),
            },
            ("create", ["stream", st]) => Request::StreamCreate {
                stream: own(st),
                content,
            },
            ("delete", ["stream", st]) => Request::StreamDelete { stream: own(st) },
            ("update", ["stream", st, "channel", ch]) => Request::StreamChannelUpdate {
                stream: own(st),
                channel: own(ch),
                content,
            },
            ("create", ["stream", st, "subscriber", sub]) => Request::SubscriberCreate {
                stream: own(st),
                subscriber: own(sub),
                source: content
                    .get("sourceStreamId")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            },
            ("delete", ["stream", st, "subscriber", sub]) => Request::SubscriberDelete {
                stream: own(st),
                subscriber: own(sub),
            },
            ("offer" | "answer" | "pranswer" | "candidate", ["stream", st]) => {
                Request::PublisherJsep {
                    method: method.to_owned(),
                    stream: own(st),
                    content,
                }
            }
            ("offer" | "answer" | "pranswer" | "candidate", ["stream", st, "subscriber", sub]) => {
                Request::Jsep {
                    method: method.to_owned(),
                    stream: own(st),
                    subscriber: own(sub),
                    content,
                }
            }
            ("update", ["stream", _, "subscriber", _])
            | ("update", ["stream", _, "subscriber", _, "channel", _]) => Request::Acknowledge,
            _ => Request::Unsupported {
                signature: format!("{method} {}", parts.join("/")),
            },
        })
    }

    // ---- what the server sends ----

    /// A server message on `path` under the session's base URI.
    pub fn message(&self, method: &str, path: &str, content: Value) -> Value {
        self.message_with_reason(method, path, content, None)
    }

    fn message_with_reason(
        &self,
        method: &str,
        path: &str,
        content: Value,
        reason: Option<&str>,
    ) -> Value {
        let mut m = Map::new();
        m.insert("method".into(), json!(method));
        m.insert("uri".into(), json!(format!("{}{path}", self.base())));
        m.insert("content".into(), content);
        if let Some(r) = reason {
            m.insert("reason".into(), json!(r));
        }
        Value::Object(m)
    }

    pub fn connection_created(&self, connection: &Value) -> Value {
        let id = connection["id"].as_str().unwrap_or_default();
        self.message_with_reason(
            "created",
            &format!("/connection/{id}"),
            connection.clone(),
            None,
        )
    }

    /// The reason is top-level (the client reads `message.reason`).
    pub fn connection_deleted(&self, id: &str, reason: &str) -> Value {
        self.message_with_reason(
            "deleted",
            &format!("/connection/{id}"),
            json!({}),
            Some(reason),
        )
    }

    pub fn stream_created(&self, stream: &Value) -> Value {
        let id = stream["id"].as_str().unwrap_or_default();
        self.message_with_reason("created", &format!("/stream/{id}"), stream.clone(), None)
    }

    pub fn stream_deleted(&self, id: &str, reason: &str) -> Value {
        self.message_with_reason("deleted", &format!("/stream/{id}"), json!({}), Some(reason))
    }

    pub fn stream_channel_updated(&self, stream: &str, channel: &str, changes: &Value) -> Value {
        self.message_with_reason(
            "updated",
            &format!("/stream/{stream}/channel/{channel}"),
            changes.clone(),
            None,
        )
    }

    /// Asks a publisher to offer to a new subscriber, relayed (peer to peer).
    pub fn generate_offer(&self, stream: &str, subscriber: &str, peer_id: &str) -> Value {
        self.message_with_reason(
            "generateoffer",
            &format!("/stream/{stream}/subscriber/{subscriber}"),
            json!({"sourceStreamId": "P2P", "peerId": peer_id}),
            None,
        )
    }

    /// Tells a publisher that a subscriber is gone (it closes that peer connection).
    pub fn subscriber_deleted(&self, stream: &str, subscriber: &str) -> Value {
        self.message_with_reason(
            "deleted",
            &format!("/stream/{stream}/subscriber/{subscriber}"),
            json!({}),
            None,
        )
    }

    pub fn jsep(&self, method: &str, stream: &str, subscriber: &str, content: &Value) -> Value {
        self.message(
            method,
            &format!("/stream/{stream}/subscriber/{subscriber}"),
            content.clone(),
        )
    }

    pub fn signal(&self, to: Option<&str>, signal_type: &str, data: &str, id: &str) -> Value {
        let path = match to {
            Some(c) => format!("/connection/{c}/signal/{id}"),
            None => format!("/signal/{id}"),
        };
        self.message_with_reason(
            "signal",
            &path,
            json!({"type": signal_type, "data": data}),
            None,
        )
    }
}

/// The Rumor address of the sandbox's signaling server (the session info's
/// `symphony_address`); the client sends every request there. The client's jsep handler
/// treats addresses starting `symphony.` as the server.
pub const SYMPHONY: &str = "symphony.sandbox.invalid";

/// A server MESSAGE. `from` is the `X-TB-FROM-ADDRESS` the client dispatches by: a
/// connection ID for what a peer sent, `""` for a server-originated signal, the symphony
/// address for the server's own events. No TRANSACTION-ID: the client then neither acks nor
/// de-duplicates it, which nothing here needs.
pub fn to_client(to: &str, from: &str, message: &Value) -> Frame {
    Frame::new(rumor::MESSAGE, vec![to.to_owned()], message.to_string())
        .with_header(rumor::CONTENT_TYPE, rumor::RAPTOR_V2)
        .with_header(rumor::FROM_ADDRESS, from)
}

/// The answer to a client request: `status` 200 with an optional JSON body, or an error
/// status with `{"reason": why}` (the client reads `data.reason` into the error's message).
pub fn status(to: &str, transaction: &str, status: u16, body: Option<&Value>) -> Frame {
    let payload = body.map(Value::to_string).unwrap_or_default();
    Frame::new(rumor::STATUS, vec![to.to_owned()], payload)
        .with_header(rumor::TRANSACTION_ID, transaction)
        .with_header(rumor::STATUS_HEADER, status.to_string())
        .with_header(rumor::FROM_ADDRESS, SYMPHONY)
}

pub fn error_status(to: &str, transaction: &str, code: u16, why: &str) -> Frame {
    status(to, transaction, code, Some(&json!({ "reason": why })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope {
            api_key: "app".into(),
            session_id: "2_MXs".into(),
        }
    }

    fn msg(method: &str, path: &str, content: Value) -> String {
        json!({"method": method, "uri": format!("/v2/partner/app/session/2_MXs{path}"), "content": content})
            .to_string()
    }

    #[test]
    fn reads_every_request_the_client_sends() {
        let s = scope();
        let p = |m, path, c| s.parse(&msg(m, path, c)).unwrap();
        assert_eq!(
            p("create", "/connection/c1", json!({"capabilities": []})),
            Request::ConnectionCreate {
                connection: "c1".into()
            }
        );
        assert_eq!(
            p(
                "signal",
                "/signal/u1",
                json!({"type": "chat", "data": "hi"})
            ),
            Request::Signal {
                to: None,
                signal_type: json!("chat"),
                data: json!("hi")
            }
        );
        assert_eq!(
            p("signal", "/connection/c2/signal/u1", json!({"data": "hi"})),
            Request::Signal {
                to: Some("c2".into()),
                signal_type: Value::Null,
                data: json!("hi")
            }
        );
        assert!(matches!(
            p("create", "/stream/s1", json!({"channel": []})),
            Request::StreamCreate { stream, .. } if stream == "s1"
        ));
        assert_eq!(
            p("delete", "/stream/s1", json!({})),
            Request::StreamDelete {
                stream: "s1".into()
            }
        );
        assert!(matches!(
            p("update", "/stream/s1/channel/video1", json!({"active": false})),
            Request::StreamChannelUpdate { channel, .. } if channel == "video1"
        ));
        assert_eq!(
            p("create", "/stream/s1/subscriber/sub1", json!({})),
            Request::SubscriberCreate {
                stream: "s1".into(),
                subscriber: "sub1".into(),
                source: None,
            }
        );
        assert_eq!(
            p(
                "create",
                "/stream/s1/subscriber/sub1",
                json!({"sourceStreamId": "MANTIS"})
            ),
            Request::SubscriberCreate {
                stream: "s1".into(),
                subscriber: "sub1".into(),
                source: Some("MANTIS".into()),
            }
        );
        assert!(matches!(
            p("answer", "/stream/s1/subscriber/sub1", json!({"sdp": "v=0"})),
            Request::Jsep { method, .. } if method == "answer"
        ));
        assert!(matches!(
            p("offer", "/stream/s1", json!({"sdp": "v=0", "peerId": "p"})),
            Request::PublisherJsep { method, stream, .. } if method == "offer" && stream == "s1"
        ));
        assert_eq!(
            p(
                "update",
                "/stream/s1/subscriber/sub1/channel/video1",
                json!({})
            ),
            Request::Acknowledge
        );
        assert!(matches!(
            p("update", "", json!({"reason": "mute"})),
            Request::Unsupported { .. }
        ));
    }

    #[test]
    fn refuses_other_sessions_and_junk() {
        let s = scope();
        let other = json!({"method": "signal", "uri": "/v2/partner/app/session/OTHER/signal/1"})
            .to_string();
        assert_eq!(s.parse(&other), Err(ParseError::ForeignUri));
        assert_eq!(s.parse("nope"), Err(ParseError::NotJson));
        assert_eq!(
            s.parse(r#"{"uri": "/v2/partner/app/session/2_MXs/signal/1"}"#),
            Err(ParseError::MissingField("method"))
        );
    }

    #[test]
    fn server_messages_use_the_sessions_uris() {
        let s = scope();
        let m = s.connection_deleted("c1", "forceDisconnected");
        assert_eq!(m["uri"], "/v2/partner/app/session/2_MXs/connection/c1");
        assert_eq!(m["reason"], "forceDisconnected");
        let g = s.generate_offer("s1", "sub1", "p1");
        assert_eq!(g["method"], "generateoffer");
        assert_eq!(g["content"]["sourceStreamId"], "P2P");
        let f = to_client("c1", "", &s.signal(None, "handoff", "{}", "id1"));
        assert_eq!(f.header(rumor::FROM_ADDRESS), Some(""));
        let st = error_status("c1", "t1", 403, "no");
        assert_eq!(st.header(rumor::STATUS_HEADER), Some("403"));
        assert_eq!(st.payload, r#"{"reason":"no"}"#);
    }
}
