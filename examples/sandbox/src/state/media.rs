//! Streams and subscriptions. In a relayed session (the vendor's peer-to-peer mode) the
//! sandbox carries no media: it asks a publisher to offer to each new subscriber
//! (`generateoffer`) and relays the negotiation between the two. A routed session's media
//! goes through the media router instead (`routed.rs`).

use serde_json::{json, Value};

use super::{member_session, now_ms, Refusal, Sandbox, Subscription};
use crate::hooks::Delivery;
use crate::ids;
use crate::wire::{self, stream_from_publish};

fn denied(why: &str) -> Refusal {
    Refusal::new(403, "OT_PERMISSION_DENIED", why)
}

fn invalid(why: impl Into<String>) -> Refusal {
    Refusal::new(400, "OT_INVALID_PARAMETER", why)
}

fn not_found(why: &str) -> Refusal {
    Refusal::new(404, "OT_NOT_FOUND", why)
}

impl Sandbox {
    /// `create stream/ST`: `ack` answers the publisher, then everyone, the publisher
    /// included (its copy completes its `publish`), gets `stream created`.
    pub fn publish(
        &self,
        cid: &str,
        stream_id: &str,
        content: &Value,
        ack: &dyn Fn(),
    ) -> Result<(), Refusal> {
        let mut g = self.lock();
        let s = member_session(&mut g, cid)?;
        let m = s.member(cid).expect("indexed member");
        if !m.role.can_publish() {
            return Err(denied("this token's role cannot publish"));
        }
        // The vendor's migration: a client re-creates its streams on its new socket, with
        // the same ID and a `sourceStreamId`. Nobody else hears of it.
        let own = s
            .stream(stream_id)
            .is_some_and(|st| st.info.connection.connection_id == cid);
        if own && content.get("sourceStreamId").is_some_and(Value::is_string) {
            if s.routed {
                return self.republish_routed(s, cid, stream_id, ack);
            }
            ack();
            return Ok(());
        }
        let taken = s.stream(stream_id).is_some()
            || s.pending_streams
                .iter()
                .any(|st| st.info.stream_id == stream_id);
        if stream_id.is_empty() || stream_id.len() > 128 || taken {
            return Err(invalid(
                "the stream ID is empty, too long or already in use",
            ));
        }
        super::connections::check_stream_cap(s, cid)?;
        let stream = stream_from_publish(stream_id, &m.info, content, now_ms()).map_err(invalid)?;
        if s.routed {
            return self.publish_routed(s, cid, stream, ack);
        }
        ack();
        s.broadcast(&s.scope.stream_created(&stream.raptor), None);
        let body = json!({"stream": wire::cb_stream(&stream.info)});
        s.streams.push(stream);
        self.record(s, "streamCreated", body);
        Ok(())
    }

    /// `delete stream/ST` by its owner, or by a moderator (`forceUnpublished`).
    pub fn unpublish(&self, cid: &str, stream_id: &str) -> Result<(), Refusal> {
        let mut g = self.lock();
        let s = member_session(&mut g, cid)?;
        let moderator = s.member(cid).is_some_and(|m| m.role.can_moderate());
        // A routed stream whose media never flowed was never announced: it just goes.
        if let Some(pos) = s.pending_streams.iter().position(|st| {
            st.info.stream_id == stream_id && (moderator || st.info.connection.connection_id == cid)
        }) {
            s.pending_streams.remove(pos);
            self.close_legs(s, &[stream_id.to_owned()], &[]);
            return Ok(());
        }
        let Some(pos) = s
            .streams
            .iter()
            .position(|st| st.info.stream_id == stream_id)
        else {
            return Err(not_found("no such stream in this session"));
        };
        let own = s.streams[pos].info.connection.connection_id == cid;
        if !own && !moderator {
            return Err(denied(
                "only the publisher or a moderator may remove a stream",
            ));
        }
        let reason = if own {
            "clientDisconnected"
        } else {
            "forceUnpublished"
        };
        let st = s.streams.remove(pos);
        s.subscriptions.retain(|x| x.stream != stream_id);
        self.close_legs(s, &[stream_id.to_owned()], &[]);
        s.broadcast(&s.scope.stream_deleted(stream_id, reason), None);
        self.record(
            s,
            "streamDestroyed",
            json!({"stream": wire::cb_stream(&st.info), "reason": reason}),
        );
        Ok(())
    }

    /// `update stream/ST/channel/CH` by the owner (mute, unmute, resize): everyone gets the
    /// attributes that changed.
    pub fn update_channel(
        &self,
        cid: &str,
        stream_id: &str,
        channel: &str,
        changes: &Value,
    ) -> Result<(), Refusal> {
        let mut g = self.lock();
        let s = member_session(&mut g, cid)?;
        let Some(st) = s
            .streams
            .iter_mut()
            .find(|st| st.info.stream_id == stream_id && st.info.connection.connection_id == cid)
        else {
            return Err(not_found("no such stream of yours in this session"));
        };
        if let Some(applied) = st.update_channel(channel, changes) {
            let m = s.scope.stream_channel_updated(stream_id, channel, &applied);
            s.broadcast(&m, None);
        }
        Ok(())
    }

    /// `create stream/ST/subscriber/SUB`: the stream's publisher is asked to offer to this
    /// subscriber (from the subscriber's address, which is where its answers go back).
    /// `again`: the request names a `sourceStreamId`, as the vendor's client does when it
    /// re-creates its subscriptions after a migration.
    pub fn subscribe(
        &self,
        cid: &str,
        stream_id: &str,
        subscriber: &str,
        again: bool,
    ) -> Result<(), Refusal> {
        let mut g = self.lock();
        let s = member_session(&mut g, cid)?;
        if !s.member(cid).is_some_and(|m| m.role.can_subscribe()) {
            return Err(denied("this token's role cannot subscribe"));
        }
        let Some(owner) = s
            .stream(stream_id)
            .map(|st| st.info.connection.connection_id.clone())
        else {
            return Err(not_found("no such stream in this session"));
        };
        // The vendor's migration: a client re-creates its subscriptions on its new socket,
        // with the same IDs. Relayed, its peer connections stay as they are.
        if again
            && s.subscriptions
                .iter()
                .any(|x| x.id == subscriber && x.subscriber == cid && x.stream == stream_id)
        {
            if s.routed {
                return self.resubscribe_routed(s, cid, stream_id, subscriber);
            }
            return Ok(());
        }
        if subscriber.is_empty()
            || subscriber.len() > 128
            || s.subscriptions.iter().any(|x| x.id == subscriber)
        {
            return Err(invalid(
                "the subscriber ID is empty, too long or already in use",
            ));
        }
        super::connections::check_subscription_cap(s, cid, stream_id)?;
        if s.routed {
            self.subscribe_routed(s, stream_id, subscriber)?;
        } else {
            let offer = s.scope.generate_offer(stream_id, subscriber, &ids::uuid());
            s.send_to(&owner, cid, &offer);
        }
        s.subscriptions.push(Subscription {
            id: subscriber.to_owned(),
            stream: stream_id.to_owned(),
            subscriber: cid.to_owned(),
            owner,
        });
        Ok(())
    }

    /// `delete stream/ST/subscriber/SUB`: the publisher closes that peer connection.
    pub fn unsubscribe(&self, cid: &str, stream_id: &str, subscriber: &str) -> Result<(), Refusal> {
        let mut g = self.lock();
        let s = member_session(&mut g, cid)?;
        let Some(pos) = s
            .subscriptions
            .iter()
            .position(|x| x.id == subscriber && x.stream == stream_id && x.subscriber == cid)
        else {
            // The stream may have ended first; nothing is left to undo.
            return Ok(());
        };
        let x = s.subscriptions.remove(pos);
        if s.routed {
            self.close_legs(s, &[], &[x.id]);
        } else {
            let m = s.scope.subscriber_deleted(stream_id, subscriber);
            s.send_to(&x.owner, cid, &m);
        }
        Ok(())
    }

    /// `offer`, `answer`, `pranswer`, `candidate` on a subscription: from the publisher to the
    /// subscriber or back, from the sender's address. Only the two ends may speak.
    pub fn relay(
        &self,
        cid: &str,
        method: &str,
        stream_id: &str,
        subscriber: &str,
        content: &Value,
    ) -> Result<(), Refusal> {
        let mut g = self.lock();
        let (to, message) = {
            let s = member_session(&mut g, cid)?;
            if s.routed {
                return self.subscriber_jsep(s, cid, method, subscriber, content);
            }
            let Some(x) = s
                .subscriptions
                .iter()
                .find(|x| x.id == subscriber && x.stream == stream_id)
            else {
                return Err(not_found("no such subscriber of this stream"));
            };
            let to = if cid == x.owner {
                x.subscriber.clone()
            } else if cid == x.subscriber {
                x.owner.clone()
            } else {
                return Err(denied("only the publisher and the subscriber negotiate"));
            };
            (to, s.scope.jsep(method, stream_id, subscriber, content))
        };
        if g.hooks.drops(&to, Delivery::Rtc) {
            return Ok(());
        }
        member_session(&mut g, cid)?.send_to(&to, cid, &message);
        Ok(())
    }
}
