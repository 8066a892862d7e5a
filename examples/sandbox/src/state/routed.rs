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

use std::collections::HashMap;

use serde_json::{json, Value};

use super::{member_session, Refusal, Sandbox, Session};
use crate::hooks::Delivery;
use crate::ids;
use crate::router::{self, Command, Event, Leg};
use crate::vendor::raptor::SYMPHONY;
use crate::wire::{self, Stream};

const SOURCE: &str = "MANTIS";

/// The router's legs of streams (or subscriptions) whose client migrated (the vendor's
/// migration): the client keeps its old peer connection for a while and negotiates a new one
/// alongside, so each gets a leg of its own in the router, keyed `{id}~m{generation}`. Legs
/// of never-migrated IDs are keyed by the ID itself and are not listed here.
#[derive(Default)]
pub(super) struct LegKeys {
    /// Router key -> the stream or subscriber ID it belongs to.
    of: HashMap<String, String>,
    /// ID -> its newest key (where its client's negotiation goes) and that key's generation.
    newest: HashMap<String, (String, u32)>,
}

impl LegKeys {
    /// The stream or subscriber ID of a router key.
    pub fn id<'a>(&'a self, key: &'a str) -> &'a str {
        self.of.get(key).map_or(key, String::as_str)
    }

    /// The key its client negotiates on now, and the socket generation it was opened for.
    pub fn newest<'a>(&'a self, id: &'a str) -> (&'a str, u32) {
        self.newest
            .get(id)
            .map_or((id, 0), |(k, g)| (k.as_str(), *g))
    }

    /// Whether `key` is its ID's newest leg (an older one ending is no news).
    pub fn is_newest(&self, key: &str) -> bool {
        self.newest(self.id(key)).0 == key
    }

    /// A new leg for `id`, opened for the socket generation `generation`.
    pub fn open(&mut self, id: &str, generation: u32) -> String {
        let key = format!("{id}~m{generation}");
        self.of.insert(key.clone(), id.to_owned());
        self.newest.insert(id.to_owned(), (key.clone(), generation));
        key
    }

    /// Every key `id` had (the ID itself first); forgets them.
    pub fn forget(&mut self, id: &str) -> Vec<String> {
        let mut keys = vec![id.to_owned()];
        self.of.retain(|k, of| {
            if of == id {
                keys.push(k.clone());
            }
            of != id
        });
        self.newest.remove(id);
        keys
    }
}

/// A routed session's legs after migrations.
#[derive(Default)]
pub(super) struct Moves {
    pub publishers: LegKeys,
    pub subscribers: LegKeys,
    /// Stream ID -> the publisher key its subscribers are fed from, once a migrated
    /// publisher's new leg flows (absent: the stream ID's own leg).
    pub source: HashMap<String, String>,
}

impl Moves {
    fn source<'a>(&'a self, stream: &'a str) -> &'a str {
        self.source.get(stream).map_or(stream, String::as_str)
    }
}

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

    /// The vendor's migration, routed: a stream re-created by its owner on its new socket.
    /// The client keeps sending on its old peer connection and expects a `generateoffer` with
    /// a new `peerId` for a new one, which gets a leg of its own; the stream's subscribers
    /// move to it once its media flows. Every re-create gets a new leg, also one from a
    /// connection that is not migrating: the client re-creates every publisher it has, of
    /// every session, when one of its sessions migrates, and 20 s later closes each one's
    /// previous peer connection, so a publisher left without a new leg would go dark. (A
    /// connection that migrates gets the leg numbered by its socket generation.)
    pub(super) fn republish_routed(
        &self,
        s: &mut Session,
        cid: &str,
        stream_id: &str,
        ack: &dyn Fn(),
    ) -> Result<(), Refusal> {
        let newest = s.moves.publishers.newest(stream_id).1;
        let generation = s.member(cid).map_or(0, |m| m.generation).max(newest + 1);
        let peer = ids::uuid();
        let key = format!("{stream_id}~m{generation}");
        self.route(Command::OpenPublisher {
            session: s.id.clone(),
            stream: key,
            peer: peer.clone(),
        })?;
        s.moves.publishers.open(stream_id, generation);
        ack();
        let ask = s.scope.message(
            "generateoffer",
            &format!("/stream/{stream_id}"),
            json!({"sourceStreamId": SOURCE, "peerId": peer, "simulcastEnabled": false}),
        );
        s.send_to(cid, SYMPHONY, &ask);
        Ok(())
    }

    /// The vendor's migration, routed: a subscription re-created on the subscriber's new
    /// socket gets a new leg from the router (a new offer, a new `peerId`), fed by the
    /// stream's current publisher leg, alongside its old one. Once per socket generation.
    pub(super) fn resubscribe_routed(
        &self,
        s: &mut Session,
        cid: &str,
        stream_id: &str,
        subscriber: &str,
    ) -> Result<(), Refusal> {
        let generation = s.member(cid).map_or(0, |m| m.generation);
        if generation <= s.moves.subscribers.newest(subscriber).1 {
            return Ok(());
        }
        let key = format!("{subscriber}~m{generation}");
        self.route(Command::OpenSubscriber {
            session: s.id.clone(),
            stream: s.moves.source(stream_id).to_owned(),
            subscriber: key,
            peer: ids::uuid(),
        })?;
        s.moves.subscribers.open(subscriber, generation);
        Ok(())
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
        let leg = Leg::Publisher(s.moves.publishers.newest(stream).0.to_owned());
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
            Leg::Subscriber(s.moves.subscribers.newest(subscriber).0.to_owned()),
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
                subscriber,
                peer,
                sdp,
                ..
            } => {
                let subscriber = s.moves.subscribers.id(&subscriber).to_owned();
                let Some((to, stream)) = s
                    .subscriptions
                    .iter()
                    .find(|x| x.id == subscriber)
                    .map(|x| (x.subscriber.clone(), x.stream.clone()))
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
            Event::Flowing { stream: key, .. } => {
                let stream = s.moves.publishers.id(&key).to_owned();
                if key != stream {
                    // A migrated publisher's new leg: its subscribers move over to it.
                    if s.moves.publishers.is_newest(&key) {
                        let from = s.moves.source(&stream).to_owned();
                        let _ = self.media.send(Command::Repoint {
                            session: s.id.clone(),
                            from,
                            to: key.clone(),
                        });
                        s.moves.source.insert(stream, key);
                    }
                    return;
                }
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
            // An older leg of a migrated stream or subscription ending is no news: its client
            // closes it when its migration is done.
            Event::Failed { leg, .. } if !is_newest(s, &leg) => {}
            Event::Failed { leg, .. } => match leg {
                Leg::Publisher(key) => {
                    let stream = s.moves.publishers.id(&key).to_owned();
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
                Leg::Subscriber(key) => {
                    let id = s.moves.subscribers.id(&key).to_owned();
                    s.subscriptions.retain(|x| x.id != id);
                }
            },
        }
    }

    /// Tells the router that streams and subscriptions of a routed session ended.
    pub(super) fn close_legs(&self, s: &mut Session, streams: &[String], subscribers: &[String]) {
        if !s.routed {
            return;
        }
        let mut legs = Vec::new();
        for id in streams {
            s.moves.source.remove(id);
            legs.extend(
                s.moves
                    .publishers
                    .forget(id)
                    .into_iter()
                    .map(Leg::Publisher),
            );
        }
        for id in subscribers {
            legs.extend(
                s.moves
                    .subscribers
                    .forget(id)
                    .into_iter()
                    .map(Leg::Subscriber),
            );
        }
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

/// Whether a leg is its stream's or subscription's newest (the only one, unless migrated).
fn is_newest(s: &Session, leg: &Leg) -> bool {
    match leg {
        Leg::Publisher(key) => s.moves.publishers.is_newest(key),
        Leg::Subscriber(key) => s.moves.subscribers.is_newest(key),
    }
}

/// Who a leg's negotiation goes to, and on which URI path.
fn leg_address(s: &Session, leg: &Leg) -> Option<(String, String)> {
    match leg {
        Leg::Publisher(key) => {
            let stream = s.moves.publishers.id(key);
            s.streams
                .iter()
                .chain(&s.pending_streams)
                .find(|st| st.info.stream_id == stream)
                .map(|st| {
                    (
                        st.info.connection.connection_id.clone(),
                        format!("/stream/{stream}"),
                    )
                })
        }
        Leg::Subscriber(key) => {
            let id = s.moves.subscribers.id(key);
            s.subscriptions.iter().find(|x| x.id == id).map(|x| {
                (
                    x.subscriber.clone(),
                    format!("/stream/{}/subscriber/{id}", x.stream),
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leg_keys_track_the_newest_leg_of_a_migrated_id() {
        let mut k = LegKeys::default();
        assert_eq!(k.newest("st"), ("st", 0));
        assert!(k.is_newest("st"));
        let key = k.open("st", 1);
        assert_eq!(key, "st~m1");
        assert_eq!(k.id(&key), "st");
        assert_eq!(k.newest("st"), ("st~m1", 1));
        assert!(k.is_newest("st~m1"));
        assert!(!k.is_newest("st"), "the old leg ending is no news");
        let key2 = k.open("st", 2);
        assert!(!k.is_newest(&key));
        assert!(k.is_newest(&key2));
        assert_eq!(k.id("other"), "other");
        let mut all = k.forget("st");
        all.sort();
        assert_eq!(all, ["st", "st~m1", "st~m2"]);
        assert_eq!(k.newest("st"), ("st", 0));
        assert_eq!(k.id("st~m1"), "st~m1");
    }
}
