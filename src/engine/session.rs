//! What the engine knows about one session it is in or is joining: how far the connect has
//! got, its own publisher, and the remote connections and streams it has seen there.

use super::backoff::Backoff;
use super::{ConnectionId, Millis, ParticipantKey, SessionId, StreamId};
use crate::sorted_map::SortedMap;

/// How far joining the session has got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Link {
    /// Not trying yet: waiting out the spread delay or a retry backoff.
    Waiting {
        until: Millis,
    },
    /// Asked the app's token provider; waiting for [`super::Input::Token`] until `until`
    /// (the hook timeout).
    AwaitingToken {
        until: Millis,
    },
    /// `Connect` sent; the attempt counts as failed at `timeout_at`.
    Connecting {
        timeout_at: Millis,
    },
    Connected {
        at: Millis,
    },
}

/// This client's own publisher in the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Publishing {
    /// Not publishing (not connected yet, or `Config::publish` is off).
    Off,
    /// `Publish` sent, waiting for `Published` or `PublishFailed`.
    Pending,
    /// Failed; `Publish` is sent again then.
    RetryAt(Millis),
    Live,
    /// Failed [`MAX_PUBLISH_ATTEMPTS`] times in a row; not retried.
    GaveUp,
}

/// A publisher failing this many times in a row (camera refused...) is not retried.
pub const MAX_PUBLISH_ATTEMPTS: u32 = 5;

/// Our subscription to a remote stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sub {
    None,
    /// Subscribed at `at` (the engine's clock); `rendered` once its first frame came.
    Subscribed {
        rendered: bool,
        at: Millis,
    },
    /// Subscribing failed; not retried, another stream of the participant may stand in.
    Failed,
}

#[derive(Clone, Debug)]
pub(crate) struct RemoteStream {
    pub(crate) connection: ConnectionId,
    /// Known once the stream's connection has been seen.
    pub(crate) key: Option<ParticipantKey>,
    pub(crate) has_video: bool,
    pub(crate) sub: Sub,
}

#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub(crate) id: SessionId,
    pub(crate) link: Link,
    /// A token to use for every attempt (from `Join` or the signal); `None`: ask the provider
    /// before each attempt, since a provider's token may be what made the last one fail.
    pub(crate) token: Option<String>,
    /// The token of the latest attempt: a lost session is rejoined with it.
    pub(crate) last_token: Option<String>,
    pub(crate) backoff: Backoff,
    /// Connect attempts started in this sequence, and when the first one started (the
    /// bounds `max_attempts` and `max_attempt_ms` count from these).
    pub(crate) attempts: u32,
    pub(crate) first_attempt_at: Option<Millis>,
    /// Retries whose attempt would start at or after this are not made (deadline - margin).
    pub(crate) retry_until: Option<Millis>,
    pub(crate) own: Option<ConnectionId>,
    pub(crate) publishing: Publishing,
    pub(crate) publish_backoff: Backoff,
    pub(crate) connections: SortedMap<ConnectionId, ParticipantKey>,
    /// Connections seen before the connect completed, in the order they came.
    pub(crate) early: Vec<ConnectionId>,
    pub(crate) streams: SortedMap<StreamId, RemoteStream>,
    /// The session's media goes through the platform's media servers (`None`: not known).
    pub(crate) routed: Option<bool>,
}

/// The most remote connections tracked per session (the platform's limit of simultaneous
/// connections per session): one more is ignored and reported ([`Event::TrackingCapped`]).
///
/// [`Event::TrackingCapped`]: super::Event::TrackingCapped
pub const MAX_CONNECTIONS: usize = 3000;
/// The most remote streams tracked per session (the platform's limit of streams per session).
pub const MAX_STREAMS: usize = 3000;

impl Session {
    pub(crate) fn new(id: SessionId, token: Option<String>, link: Link) -> Self {
        Self {
            id,
            link,
            token,
            last_token: None,
            backoff: Backoff::default(),
            attempts: 0,
            first_attempt_at: None,
            retry_until: None,
            own: None,
            publishing: Publishing::Off,
            publish_backoff: Backoff::default(),
            connections: SortedMap::default(),
            early: Vec::new(),
            streams: SortedMap::default(),
            routed: None,
        }
    }

    pub(crate) fn connected_at(&self) -> Option<Millis> {
        match self.link {
            Link::Connected { at } => Some(at),
            _ => None,
        }
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected_at().is_some()
    }

    /// The shell has a live `OT.Session` for it (connecting or connected), so session
    /// events from it are believed and `Disconnect` is needed to leave it.
    pub(crate) fn is_open(&self) -> bool {
        matches!(self.link, Link::Connecting { .. } | Link::Connected { .. })
    }

    /// Forgets every remote connection and stream (the OT session object is gone).
    pub(crate) fn forget_remote(&mut self) {
        self.connections.clear();
        self.early.clear();
        self.streams.clear();
        self.own = None;
        self.publishing = Publishing::Off;
    }

    pub(crate) fn has_key(&self, key: &ParticipantKey) -> bool {
        self.connections.values().any(|k| k == key)
    }

    /// The smallest `n` such that no connection here has the key `wanted` (`n` = 1) or
    /// `wanted#n`: one pass over the connections (at most `len + 1` numbers can be taken).
    pub(crate) fn free_key_number(&self, wanted: &ParticipantKey) -> u32 {
        let mut taken = vec![false; self.connections.len() + 2];
        let w = wanted.as_str();
        for k in self.connections.values() {
            let k = k.as_str();
            let n = if k == w {
                Some(1)
            } else {
                k.strip_prefix(w)
                    .and_then(|r| r.strip_prefix('#'))
                    .and_then(|r| r.parse::<usize>().ok())
            };
            if let Some(slot) = n.and_then(|n| taken.get_mut(n)) {
                *slot = true;
            }
        }
        (1..taken.len()).find(|&n| !taken[n]).unwrap_or(1) as u32
    }

    /// The participant's stream we subscribe to here (at most one per participant).
    pub(crate) fn subscribed(&self, key: &ParticipantKey) -> Option<(&StreamId, bool)> {
        self.streams.iter().find_map(|(id, s)| match s.sub {
            Sub::Subscribed { rendered, .. } if s.key.as_ref() == Some(key) => Some((id, rendered)),
            _ => None,
        })
    }

    /// A stream of the participant we could subscribe to, one with video if there is one.
    pub(crate) fn subscribable(&self, key: &ParticipantKey) -> Option<&StreamId> {
        let mut candidates = self
            .streams
            .iter()
            .filter(|(_, s)| s.sub == Sub::None && s.key.as_ref() == Some(key));
        let first = candidates.next()?;
        if first.1.has_video {
            return Some(first.0);
        }
        Some(candidates.find(|(_, s)| s.has_video).unwrap_or(first).0)
    }

    pub(crate) fn is_subscribed(&self, stream: &StreamId) -> bool {
        self.streams
            .get(stream)
            .is_some_and(|s| matches!(s.sub, Sub::Subscribed { .. }))
    }

    /// Subscriptions still waiting for their first frame at `now`, those made less than
    /// `pace` ago: their count, and when the first of them stops counting.
    pub(crate) fn waiting_first_frames(&self, now: Millis, pace: Millis) -> (u32, Option<Millis>) {
        let mut n = 0;
        let mut next: Option<Millis> = None;
        for s in self.streams.values() {
            if let Sub::Subscribed {
                rendered: false,
                at,
            } = s.sub
            {
                let ends = at.saturating_add(pace);
                if ends > now {
                    n += 1;
                    next = Some(next.map_or(ends, |x: Millis| x.min(ends)));
                }
            }
        }
        (n, next)
    }

    /// Participants with a stream here that nothing is subscribed to yet.
    pub(crate) fn keys_unsubscribed(&self) -> impl Iterator<Item = &ParticipantKey> {
        self.streams
            .values()
            .filter(|s| s.sub == Sub::None)
            .filter_map(|s| s.key.as_ref())
    }

    /// Every participant with a stream here.
    pub(crate) fn keys_with_streams(&self) -> impl Iterator<Item = &ParticipantKey> {
        self.streams.values().filter_map(|s| s.key.as_ref())
    }

    /// Every participant with a connection here.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &ParticipantKey> {
        self.connections.values()
    }
}
