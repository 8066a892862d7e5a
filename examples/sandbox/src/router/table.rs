//! One session's media table: its publisher and subscriber legs, what the session has
//! carried, and the forwarding between its legs (a publisher's frames to the subscribers of
//! its stream).

use std::collections::HashMap;

use str0m::media::{MediaData, MediaKind};

use super::legs::{Peer, Publisher, Subscriber};
use super::SessionStats;

/// One session's media: its publishers by stream ID and subscribers by subscriber ID.
#[derive(Default)]
pub(super) struct SessionMedia {
    pub(super) publishers: HashMap<String, Publisher>,
    pub(super) subscribers: HashMap<String, Subscriber>,
    pub(super) frames_in: u64,
    pub(super) frames_out: u64,
    pub(super) keyframe_requests: u64,
}

impl SessionMedia {
    /// Every leg's peer connection, publishers first.
    pub(super) fn peers_mut(&mut self) -> impl Iterator<Item = &mut Peer> {
        self.publishers
            .values_mut()
            .map(|p| &mut p.peer)
            .chain(self.subscribers.values_mut().map(|x| &mut x.peer))
    }

    pub(super) fn is_empty(&self) -> bool {
        self.publishers.is_empty() && self.subscribers.is_empty()
    }

    pub(super) fn stats(&self) -> SessionStats {
        let connected = self
            .publishers
            .values()
            .filter(|p| p.peer.connected)
            .count()
            + self
                .subscribers
                .values()
                .filter(|x| x.peer.connected)
                .count();
        SessionStats {
            publishers: self.publishers.len(),
            subscribers: self.subscribers.len(),
            connected,
            frames_in: self.frames_in,
            frames_out: self.frames_out,
            keyframe_requests: self.keyframe_requests,
        }
    }
}

/// Moves the subscribers fed from publisher leg `from` to `to` (only if `to` exists), each
/// waiting for a keyframe of its new source; returns how many moved.
pub(super) fn repoint(s: &mut SessionMedia, from: &str, to: &str) -> usize {
    if from == to || !s.publishers.contains_key(to) {
        return 0;
    }
    let mut moved = 0;
    for x in s.subscribers.values_mut().filter(|x| x.stream == from) {
        x.stream = to.to_owned();
        x.wants_keyframe = true;
        moved += 1;
    }
    moved
}

/// Writes one frame of `stream` to each of its connected subscribers, on the track of the
/// same kind, with the payload type that subscriber negotiated for the same codec; returns how
/// many it wrote.
pub(super) fn forward(s: &mut SessionMedia, stream: &str, d: &MediaData) -> u64 {
    let mut written = 0;
    let Some(kind) = s.publishers.get(stream).and_then(|p| p.kind_of(d.mid)) else {
        return 0;
    };
    for x in s.subscribers.values_mut() {
        if x.stream != stream || !x.peer.connected {
            continue;
        }
        if kind == MediaKind::Video && x.wants_keyframe {
            if !d.is_keyframe() {
                continue;
            }
            x.wants_keyframe = false;
        }
        let Some(mid) = x.mid_for(kind) else {
            continue;
        };
        let Some(w) = x.peer.rtc.writer(mid) else {
            continue;
        };
        let Some(pt) = w.match_params(d.params) else {
            continue;
        };
        if w.write(pt, d.network_time, d.time, d.data.clone()).is_err() {
            x.peer.rtc.disconnect();
        } else {
            written += 1;
        }
    }
    written
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Instant;

    use super::*;

    fn subscriber_of(stream: &str, addr: SocketAddr, now: Instant) -> Subscriber {
        let kinds = [MediaKind::Audio, MediaKind::Video];
        let (mut x, _sdp) = Subscriber::offer(addr, "peer".into(), stream, &kinds, now).unwrap();
        x.wants_keyframe = false;
        x
    }

    #[test]
    fn repointing_moves_a_streams_subscribers_to_the_new_publisher_leg_only() {
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let now = Instant::now();
        let mut s = SessionMedia::default();
        for key in ["st", "st~m1", "other"] {
            s.publishers
                .insert(key.into(), Publisher::new(addr, "p".into(), now));
        }
        s.subscribers
            .insert("x1".into(), subscriber_of("st", addr, now));
        s.subscribers
            .insert("x2".into(), subscriber_of("st", addr, now));
        s.subscribers
            .insert("y".into(), subscriber_of("other", addr, now));

        assert_eq!(
            repoint(&mut s, "st", "nowhere"),
            0,
            "no such leg: nothing moves"
        );
        assert_eq!(repoint(&mut s, "st", "st"), 0);
        assert_eq!(repoint(&mut s, "st", "st~m1"), 2);
        for id in ["x1", "x2"] {
            let x = &s.subscribers[id];
            assert_eq!(x.stream, "st~m1");
            assert!(
                x.wants_keyframe,
                "{id} waits for a keyframe of its new source"
            );
        }
        assert_eq!(s.subscribers["y"].stream, "other");
        assert!(!s.subscribers["y"].wants_keyframe);
        assert_eq!(
            repoint(&mut s, "st", "st~m1"),
            0,
            "none left on the old leg"
        );
    }
}
