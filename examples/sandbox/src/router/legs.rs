//! One peer connection of the router, owning its str0m `Rtc`: a publisher's (the browser
//! offers, the router answers and receives) or a subscriber's (the router offers the
//! publisher's media kinds, sends only, and the browser answers).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, Mid};
use str0m::{Candidate, Rtc};

/// A leg that has not connected within this time is closed (the vendor's client gives up on
/// a publish after 15 s and on a subscription after 30 s).
pub const CONNECT_WITHIN: Duration = Duration::from_secs(30);
/// A connected leg whose ICE stays disconnected this long is closed (the browser's own ICE
/// restart gets this long to succeed).
pub const LOST_WITHIN: Duration = Duration::from_secs(15);
/// At most one keyframe request per publisher within this time: a burst of new subscribers
/// costs the publisher one keyframe, not one each.
pub const KEYFRAME_REQUEST_EVERY: Duration = Duration::from_millis(250);
/// STUN checks answered at once when a subscriber's answer comes (str0m queues at most 100).
const QUEUED_CHECKS: usize = 16;

/// The router's end of a peer connection, on the router's one socket, VP8 and Opus only (so
/// that a publisher's payload maps onto every subscriber's). A publisher's leg is ICE-lite:
/// the browser offers and checks, and the router already knows its credentials. A
/// subscriber's leg runs full ICE as the controlling side: the browser starts its checks
/// before its answer reaches the router, so they go unanswered and the browser backs off
/// (measured: ICE took 0.8-4 s after the answer); the router's own checks, sent the moment
/// the answer comes, connect in a round trip.
fn new_rtc(addr: SocketAddr, now: Instant, ice_lite: bool) -> Rtc {
    let mut rtc = Rtc::builder()
        .set_ice_lite(ice_lite)
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .build(now);
    if let Ok(c) = Candidate::host(addr, "udp") {
        rtc.add_local_candidate(c);
    }
    rtc
}

/// What both kinds of leg share.
pub struct Peer {
    pub rtc: Rtc,
    /// The ID the client echoes in its messages (`peerId`).
    pub peer: String,
    pub opened: Instant,
    pub connected: bool,
    /// When its `Rtc` next wants a timeout input.
    pub due: Instant,
    /// Since when its ICE has been disconnected.
    pub lost_since: Option<Instant>,
}

impl Peer {
    fn new(addr: SocketAddr, peer: String, now: Instant, ice_lite: bool) -> Self {
        Peer {
            rtc: new_rtc(addr, now, ice_lite),
            peer,
            opened: now,
            connected: false,
            due: now,
            lost_since: None,
        }
    }

    /// A trickled `candidate:…` line; what str0m cannot read (an mDNS name) is skipped: the
    /// browser's checks reach the router anyway and are learned as peer-reflexive.
    pub fn add_candidate(&mut self, line: &str) {
        let line = line.trim().trim_start_matches("a=");
        if let Ok(c) = Candidate::from_sdp_string(line) {
            self.rtc.add_remote_candidate(c);
        }
    }

    /// An offer from the browser (a publisher's, or anyone's ICE restart).
    pub fn accept_offer(&mut self, sdp: &str) -> Result<String, &'static str> {
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|_| "unreadableOffer")?;
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|_| "refusedOffer")?;
        Ok(answer.to_sdp_string())
    }

    pub fn timed_out(&self, now: Instant) -> bool {
        let never = !self.connected && now.saturating_duration_since(self.opened) > CONNECT_WITHIN;
        let lost = self.connected
            && self
                .lost_since
                .is_some_and(|t| now.saturating_duration_since(t) > LOST_WITHIN);
        never || lost
    }
}

pub struct Publisher {
    pub peer: Peer,
    /// The media the publisher's offer carried, by kind.
    pub media: Vec<(Mid, MediaKind)>,
    pub flowing: bool,
    pub last_keyframe_request: Option<Instant>,
}

impl Publisher {
    pub fn new(addr: SocketAddr, peer: String, now: Instant) -> Self {
        Publisher {
            peer: Peer::new(addr, peer, now, true),
            media: Vec::new(),
            flowing: false,
            last_keyframe_request: None,
        }
    }

    pub fn kind_of(&self, mid: Mid) -> Option<MediaKind> {
        self.media.iter().find(|(m, _)| *m == mid).map(|(_, k)| *k)
    }

    /// Asks the publisher's browser for a keyframe (PLI), at most once per
    /// [`KEYFRAME_REQUEST_EVERY`]; whether it did.
    pub fn request_keyframe(&mut self, now: Instant) -> bool {
        if self
            .last_keyframe_request
            .is_some_and(|t| now.saturating_duration_since(t) < KEYFRAME_REQUEST_EVERY)
        {
            return false;
        }
        let Some(mid) = self
            .media
            .iter()
            .find(|(_, k)| *k == MediaKind::Video)
            .map(|(m, _)| *m)
        else {
            return false;
        };
        let Some(mut w) = self.peer.rtc.writer(mid) else {
            return false;
        };
        let sent = w
            .request_keyframe(None, str0m::media::KeyframeRequestKind::Pli)
            .is_ok();
        if sent {
            self.last_keyframe_request = Some(now);
        }
        sent
    }
}

pub struct Subscriber {
    pub peer: Peer,
    pub stream: String,
    /// The router's offer, until the browser's answer comes.
    pub pending: Option<SdpPendingOffer>,
    pub media: Vec<(Mid, MediaKind)>,
    /// Video is held back until a keyframe: a decoder shown delta frames first shows nothing.
    pub wants_keyframe: bool,
}

impl Subscriber {
    /// Builds the router's offer: one send-only track per kind the publisher sends, in one
    /// media stream (the vendor's client binds the stream of the first track it gets).
    pub fn offer(
        addr: SocketAddr,
        peer: String,
        stream: &str,
        kinds: &[MediaKind],
        now: Instant,
    ) -> Option<(Self, String)> {
        let mut p = Peer::new(addr, peer, now, false);
        let mut change = p.rtc.sdp_api();
        let msid: String = stream
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(48)
            .collect();
        let msid = if msid.is_empty() {
            "stream".into()
        } else {
            msid
        };
        let mut media = Vec::new();
        for &kind in kinds {
            let track = format!("{msid}-{}", if kind.is_audio() { "a" } else { "v" });
            let mid = change.add_media(
                kind,
                Direction::SendOnly,
                Some(msid.clone()),
                Some(track),
                None,
            );
            media.push((mid, kind));
        }
        let (offer, pending) = change.apply()?;
        let sdp = offer.to_sdp_string();
        Some((
            Subscriber {
                peer: p,
                stream: stream.to_owned(),
                pending: Some(pending),
                media,
                wants_keyframe: true,
            },
            sdp,
        ))
    }

    pub fn accept_answer(&mut self, sdp: &str, now: Instant) -> Result<(), &'static str> {
        let pending = self.pending.take().ok_or("unexpectedAnswer")?;
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|_| "unreadableAnswer")?;
        self.peer
            .rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|_| "refusedAnswer")?;
        // The browser starts its checks when it answers, so they arrive before its answer
        // does; str0m holds them until it has the browser's credentials and then answers one
        // per timeout. Answer them all now: a check left waiting makes the browser back off
        // (measured: ICE took 1-4.6 s after the answer instead of one round trip).
        for _ in 0..QUEUED_CHECKS {
            if self
                .peer
                .rtc
                .handle_input(str0m::Input::Timeout(now))
                .is_err()
            {
                break;
            }
        }
        Ok(())
    }

    pub fn mid_for(&self, kind: MediaKind) -> Option<Mid> {
        self.media.iter().find(|(_, k)| *k == kind).map(|(m, _)| *m)
    }
}
