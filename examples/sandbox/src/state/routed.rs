//! Routed sessions: media through the sandbox's router (`crate::router`), negotiated as the
//! vendor's client expects of its media servers (PROTOCOL.md, "Routed media").
//!
//! - Publish: the STATUS, then `generateoffer` on `stream/ST` from the server; the client's
//!   `candidate`s and `offer` on that URI go to the router, whose `answer` goes back there.
//!   `created stream` goes to everyone only once the publisher's media reaches the router.
//! - Subscribe: the STATUS, then the router's `offer` on `stream/ST/subscriber/SUB`; the
//!   client's `candidate`s and `answer` go to the router.
//!
//! Every server message here carries `sourceStreamId: "MANTIS"` (the client files a
//! subscriber's negotiation under it) and the `peerId` the router gave the leg.

use serde_json::{json, Value};

use super::{member_session, Refusal, Sandbox, Session};
use crate::hooks::Delivery;
use crate::ids;
use crate::router::{self, Command, Event, Leg};
use crate::vendor::raptor::SYMPHONY;
use crate::wire::{self, Stream};

const SOURCE: &str = "MANTIS";

impl Sandbox {
    /// A routed publish was accepted: the router gets a leg for it, the client is asked to
    /// offer. The stream stays pending until its media flows.
    pub(super) fn publish_routed(
        &self,
        s: &mut Session,
        cid: &str,
        stream: Stream,
        ack: &dyn Fn(),
    ) -> Result<(), Refusal> {
        let live_publishers = s.streams.len() + s.pending_streams.len();
        if live_publishers >= router::MAX_PUBLISHERS_PER_SESSION {
            return Err(Refusal::new(
                403,
                "OT_MAX_STREAMS",
                "this session has as many streams as its media router takes",
            ));
        }
        let peer = ids::uuid();
        let stream_id = stream.info.stream_id.clone();
        self.route(Command::OpenPublisher {
            session: s.id.clone(),
            stream: stream_id.clone(),
            peer: peer.clone(),
        })?;
        ack();
        let ask = s.scope.message(
            "generateoffer",
            &format!("/stream/{stream_id}"),
            json!({"sourceStreamId": SOURCE, "peerId": peer, "simulcastEnabled": false}),
        );
        s.send_to(cid, SYMPHONY, &ask);
        s.pending_streams.push(stream);
        Ok(())
    }

    /// A routed subscription: the router offers to the subscriber.
    pub(super) fn subscribe_routed(
        &self,
        s: &Session,
        stream: &str,
        subscriber: &str,
    ) -> Result<(), Refusal> {
        if s.subscriptions.len() >= router::MAX_SUBSCRIBERS_PER_SESSION {
            return Err(Refusal::new(
                403,
                "OT_MAX_SUBSCRIBERS",
                "this session has as many subscribers as its media router takes",
            ));
        }
        self.route(Command::OpenSubscriber {
            session: s.id.clone(),
            stream: stream.to_owned(),
            subscriber: subscriber.to_owned(),
            peer: ids::uuid(),
        })
    }

    /// `offer` or `candidate` on `stream/ST` from its publisher (routed sessions only).
    pub fn publisher_jsep(
        &self,
        cid: &str,
        method: &str,
        stream: &str,
        content: &Value,
    ) -> Result<(), Refusal> {
        let mut g = self.lock();
        let s = member_session(&mut g, cid)?;
        if !s.routed {
            return Err(Refusal::new(
                405,
                "OT_NOT_SUPPORTED",
                "a relayed session negotiates per subscriber",
            ));
        }
        let own =
            |st: &Stream| st.info.stream_id == stream && st.info.connection.connection_id == cid;
        if !s.streams.iter().chain(&s.pending_streams).any(own) {
            return Err(Refusal::new(
                404,
                "OT_NOT_FOUND",
                "no such stream of yours in this session",
            ));
        }
        let leg = Leg::Publisher(stream.to_owned());
        let session = s.id.clone();
        drop(g);
        self.leg_jsep(session, leg, method, content)
    }

    /// `answer`, `offer` (an ICE restart) or `candidate` on a routed subscription, from the
    /// subscriber.
    pub(super) fn subscriber_jsep(
        &self,
        s: &Session,
        cid: &str,
        method: &str,
        subscriber: &str,
        content: &Value,
    ) -> Result<(), Refusal> {
        if !s
            .subscriptions
            .iter()
            .any(|x| x.id == subscriber && x.subscriber == cid)
        {
            return Err(Refusal::new(
                403,
                "OT_PERMISSION_DENIED",
                "only the subscriber negotiates its subscription",
            ));
        }
        self.leg_jsep(
            s.id.clone(),
            Leg::Subscriber(subscriber.to_owned()),
            method,
            content,
        )
    }

    fn leg_jsep(
        &self,
        session: String,
        leg: Leg,
        method: &str,
        content: &Value,
    ) -> Result<(), Refusal> {
        let text = |k: &str| content.get(k).and_then(Value::as_str).map(str::to_owned);
        let bad = |why: &str| Refusal::new(400, "OT_INVALID_PARAMETER", why);
        let command = match method {
            "offer" => Command::Offer {
                session,
                leg,
                sdp: text("sdp").ok_or_else(|| bad("an offer needs its sdp"))?,
            },
            "answer" => Command::Answer {
                session,
                leg,
                sdp: text("sdp").ok_or_else(|| bad("an answer needs its sdp"))?,
            },
            "candidate" => Command::Candidate {
                session,
                leg,
                candidate: text("candidate").ok_or_else(|| bad("a candidate needs its line"))?,
            },
            _ => return Err(bad("the media router takes offers, answers and candidates")),
        };
        self.route(command)
    }

    /// The router's news, from its thread: negotiation to pass to a client, a stream to
    /// announce, a leg that failed.
    pub(super) fn on_media(&self, e: Event) {
        let mut g = self.lock();
        let inner = &mut *g;
        let session = match &e {
            Event::Answer { session, .. }
            | Event::Offer { session, .. }
            | Event::Flowing { session, .. }
            | Event::Failed { session, .. } => session.clone(),
        };
        let Some(s) = inner.sessions.get_mut(&session) else {
            return;
        };
        if s.destroyed_at.is_some() {
            return;
        }
        match e {
            Event::Answer { leg, peer, sdp, .. } => {
                let Some((to, path)) = leg_address(s, &leg) else {
                    return;
                };
                if inner.hooks.drops(&to, Delivery::Rtc) {
                    return;
                }
                let content =
                    json!({"type": "answer", "sdp": sdp, "peerId": peer, "sourceStreamId": SOURCE});
                s.send_to(&to, SYMPHONY, &s.scope.message("answer", &path, content));
            }
            Event::Offer {
                stream,
                subscriber,
                peer,
                sdp,
                ..
            } => {
                let Some(to) = s
                    .subscriptions
                    .iter()
                    .find(|x| x.id == subscriber)
                    .map(|x| x.subscriber.clone())
                else {
                    return;
                };
                if inner.hooks.drops(&to, Delivery::Rtc) {
                    return;
                }
                let content =
                    json!({"type": "offer", "sdp": sdp, "peerId": peer, "sourceStreamId": SOURCE});
                let path = format!("/stream/{stream}/subscriber/{subscriber}");
                s.send_to(&to, SYMPHONY, &s.scope.message("offer", &path, content));
            }
            Event::Flowing { stream, .. } => {
                let Some(pos) = s
                    .pending_streams
                    .iter()
                    .position(|st| st.info.stream_id == stream)
                else {
                    return;
                };
                let st = s.pending_streams.remove(pos);
                s.broadcast(&s.scope.stream_created(&st.raptor), None);
                let body = json!({"stream": wire::cb_stream(&st.info)});
                s.streams.push(st);
                self.record(s, "streamCreated", body);
            }
            Event::Failed { leg, .. } => match leg {
                Leg::Publisher(stream) => {
                    s.pending_streams.retain(|st| st.info.stream_id != stream);
                    if let Some(pos) = s.streams.iter().position(|st| st.info.stream_id == stream) {
                        let st = s.streams.remove(pos);
                        s.subscriptions.retain(|x| x.stream != stream);
                        let reason = "networkDisconnected";
                        s.broadcast(&s.scope.stream_deleted(&stream, reason), None);
                        self.record(
                            s,
                            "streamDestroyed",
                            json!({"stream": wire::cb_stream(&st.info), "reason": reason}),
                        );
                    }
                }
                Leg::Subscriber(id) => s.subscriptions.retain(|x| x.id != id),
            },
        }
    }

    /// Tells the router that streams and subscriptions of a routed session ended.
    pub(super) fn close_legs(&self, s: &Session, streams: &[String], subscribers: &[String]) {
        if !s.routed {
            return;
        }
        let legs = streams
            .iter()
            .map(|id| Leg::Publisher(id.clone()))
            .chain(subscribers.iter().map(|id| Leg::Subscriber(id.clone())));
        for leg in legs {
            // A full queue loses nothing lasting: the router reaps legs that stop talking.
            let _ = self.media.send(Command::Close {
                session: s.id.clone(),
                leg,
            });
        }
    }

    /// The session is gone: its media table goes with every peer connection in it.
    pub(super) fn close_session_media(&self, s: &Session) {
        if s.routed {
            let _ = self.media.send(Command::CloseSession {
                session: s.id.clone(),
            });
        }
    }
}

/// Who a leg's negotiation goes to, and on which URI path.
fn leg_address(s: &Session, leg: &Leg) -> Option<(String, String)> {
    match leg {
        Leg::Publisher(stream) => s
            .streams
            .iter()
            .chain(&s.pending_streams)
            .find(|st| &st.info.stream_id == stream)
            .map(|st| {
                (
                    st.info.connection.connection_id.clone(),
                    format!("/stream/{stream}"),
                )
            }),
        Leg::Subscriber(id) => s.subscriptions.iter().find(|x| &x.id == id).map(|x| {
            (
                x.subscriber.clone(),
                format!("/stream/{}/subscriber/{id}", x.stream),
            )
        }),
    }
}
