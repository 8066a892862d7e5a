//! The tests' browser: a str0m `Rtc` on a real UDP socket on 127.0.0.1, driven by a thread of
//! its own, publishing synthetic VP8 and Opus or receiving what the router forwards.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

/// Pace of the publisher's media: Opus every 20 ms, VP8 at 30 frames a second.
const AUDIO_EVERY: Duration = Duration::from_millis(20);
const VIDEO_EVERY: Duration = Duration::from_millis(33);

/// What a browser's `Rtc` did, as its thread saw it.
#[derive(Default)]
pub struct Seen {
    pub connected: bool,
    /// Media the remote side added (a subscriber's, from the router's offer).
    pub added: Vec<(Mid, MediaKind)>,
    /// Frames received: kind, whether str0m read a keyframe, the bytes.
    pub received: Vec<(MediaKind, bool, Vec<u8>)>,
    pub keyframe_requests: usize,
    /// Video frames written, by frame number: whether a keyframe, the bytes.
    pub written: Vec<(bool, Vec<u8>)>,
    pub audio_written: usize,
    /// Errors from `handle_input`/`poll_output`/`write` (none expected).
    pub errors: Vec<String>,
}

/// A str0m `Rtc` standing in for a browser: full ICE, one host candidate on its own socket.
pub struct Browser {
    pub rtc: Arc<Mutex<Rtc>>,
    pub seen: Arc<Mutex<Seen>>,
    pub candidate: Candidate,
    /// The media it sends once connected (set by [`Browser::send`]).
    pub sending: Arc<Mutex<Vec<(Mid, MediaKind)>>>,
    pub stop: Arc<AtomicBool>,
    pub thread: Option<JoinHandle<()>>,
}

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A VP8 frame: a keyframe (frame tag bit 0 clear, start code, 640x480) or a delta frame
/// (bit 0 set), with its frame number after the header, padded to a few hundred bytes.
pub fn vp8_frame(n: u32, key: bool) -> Vec<u8> {
    let mut f = if key {
        vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]
    } else {
        vec![0x11, 0x02, 0x00]
    };
    f.extend_from_slice(&n.to_be_bytes());
    f.resize(if key { 400 } else { 200 }, (n % 251) as u8);
    f
}

/// The frame number [`vp8_frame`] wrote into a frame.
pub fn frame_number(f: &[u8]) -> usize {
    let at = if f[0] & 1 == 0 { 10 } else { 3 };
    u32::from_be_bytes(f[at..at + 4].try_into().unwrap()) as usize
}

impl Browser {
    pub fn start(name: &str) -> Browser {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        let mut rtc = Rtc::builder().build(Instant::now());
        let candidate = rtc
            .add_local_candidate(Candidate::host(addr, "udp").unwrap())
            .expect("a host candidate on 127.0.0.1")
            .clone();
        let rtc = Arc::new(Mutex::new(rtc));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let sending = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s, m, x) = (rtc.clone(), seen.clone(), sending.clone(), stop.clone());
        let thread = thread::Builder::new()
            .name(format!("browser-{name}"))
            .spawn(move || drive(socket, addr, &r, &s, &m, &x))
            .unwrap();
        Browser {
            rtc,
            seen,
            candidate,
            sending,
            stop,
            thread: Some(thread),
        }
    }

    pub fn seen(&self) -> MutexGuard<'_, Seen> {
        lock(&self.seen)
    }

    /// A publisher's offer: send-only Opus audio and VP8 video in one media stream.
    pub fn offer_to_send(&self) -> (String, SdpPendingOffer, Vec<(Mid, MediaKind)>) {
        let mut rtc = lock(&self.rtc);
        let mut change = rtc.sdp_api();
        let mut media = Vec::new();
        for (kind, track) in [(MediaKind::Audio, "mic"), (MediaKind::Video, "cam")] {
            let mid = change.add_media(
                kind,
                Direction::SendOnly,
                Some("camera".into()),
                Some(track.into()),
                None,
            );
            media.push((mid, kind));
        }
        let (offer, pending) = change.apply().expect("an offer");
        (offer.to_sdp_string(), pending, media)
    }

    pub fn accept_answer(&self, pending: SdpPendingOffer, sdp: &str) {
        let answer = SdpAnswer::from_sdp_string(sdp).expect("the router's answer parses");
        lock(&self.rtc)
            .sdp_api()
            .accept_answer(pending, answer)
            .expect("the router's answer is accepted");
    }

    pub fn accept_offer(&self, sdp: &str) -> String {
        let offer = SdpOffer::from_sdp_string(sdp).expect("the router's offer parses");
        let answer = lock(&self.rtc)
            .sdp_api()
            .accept_offer(offer)
            .expect("the router's offer is accepted");
        answer.to_sdp_string()
    }

    /// Starts writing media on these tracks (once connected), a keyframe first.
    pub fn send(&self, media: Vec<(Mid, MediaKind)>) {
        *lock(&self.sending) = media;
    }

    /// The Raptor `candidate` content for its host candidate.
    pub fn candidate_content(&self, mid: Mid, peer: &str) -> Value {
        json!({
            "candidate": self.candidate.to_sdp_string(), "sdpMid": mid.to_string(),
            "sdpMLineIndex": 0, "peerId": peer, "sourceStreamId": "MANTIS",
        })
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The browser's loop: poll the `Rtc` until it only has a timeout, send its datagrams, write
/// media when due, then wait for a datagram (at most 5 ms) and feed it and the time in.
pub fn drive(
    socket: UdpSocket,
    addr: SocketAddr,
    rtc: &Mutex<Rtc>,
    seen: &Mutex<Seen>,
    sending: &Mutex<Vec<(Mid, MediaKind)>>,
    stop: &AtomicBool,
) {
    let mut buf = vec![0; 2000];
    let started = Instant::now();
    let (mut next_audio, mut next_video) = (started, started);
    let (mut audio_ts, mut video_ts) = (0u64, 0u64);
    let mut want_keyframe = true;
    while !stop.load(Ordering::SeqCst) {
        let timeout = {
            let mut rtc = lock(rtc);
            let mut seen = lock(seen);
            let now = Instant::now();
            let media = lock(sending).clone();
            if seen.connected && !media.is_empty() {
                for (mid, kind) in media {
                    let due = if kind == MediaKind::Audio {
                        &mut next_audio
                    } else {
                        &mut next_video
                    };
                    if *due > now {
                        continue;
                    }
                    *due = now
                        + if kind == MediaKind::Audio {
                            AUDIO_EVERY
                        } else {
                            VIDEO_EVERY
                        };
                    let Some(w) = rtc.writer(mid) else {
                        seen.errors.push(format!("no writer for {mid}"));
                        continue;
                    };
                    let codec = if kind == MediaKind::Audio {
                        Codec::Opus
                    } else {
                        Codec::Vp8
                    };
                    let Some(pt) = w
                        .payload_params()
                        .find(|p| p.spec().codec == codec)
                        .map(|p| p.pt())
                    else {
                        seen.errors.push(format!("{codec:?} not negotiated"));
                        continue;
                    };
                    let written = if kind == MediaKind::Audio {
                        audio_ts += 960;
                        let frame = vec![0xfc, 0xff, 0xfe, (audio_ts / 960 % 251) as u8];
                        seen.audio_written += 1;
                        w.write(
                            pt,
                            now,
                            MediaTime::new(audio_ts, Frequency::FORTY_EIGHT_KHZ),
                            frame,
                        )
                    } else {
                        video_ts += 3000;
                        let n = seen.written.len() as u32;
                        let frame = vp8_frame(n, want_keyframe);
                        seen.written.push((want_keyframe, frame.clone()));
                        want_keyframe = false;
                        w.write(pt, now, MediaTime::from_90khz(video_ts), frame)
                    };
                    if let Err(e) = written {
                        seen.errors.push(format!("write: {e}"));
                    }
                }
            }
            loop {
                match rtc.poll_output() {
                    Ok(Output::Timeout(t)) => break t,
                    Ok(Output::Transmit(t)) => {
                        let _ = socket.send_to(&t.contents, t.destination);
                    }
                    Ok(Output::Event(e)) => match e {
                        Event::Connected => seen.connected = true,
                        Event::MediaAdded(m)
                            if !seen.added.iter().any(|(mid, _)| *mid == m.mid) =>
                        {
                            seen.added.push((m.mid, m.kind));
                        }
                        Event::MediaData(d) => {
                            let kind = seen
                                .added
                                .iter()
                                .find(|(m, _)| *m == d.mid)
                                .map_or(MediaKind::Video, |(_, k)| *k);
                            seen.received.push((kind, d.is_keyframe(), d.data.to_vec()));
                        }
                        Event::KeyframeRequest(_) => {
                            seen.keyframe_requests += 1;
                            want_keyframe = true;
                        }
                        _ => {}
                    },
                    Err(e) => {
                        seen.errors.push(format!("poll_output: {e}"));
                        break now + Duration::from_millis(5);
                    }
                }
            }
        };
        let wait = timeout
            .saturating_duration_since(Instant::now())
            .clamp(Duration::from_millis(1), Duration::from_millis(5));
        socket.set_read_timeout(Some(wait)).unwrap();
        let got = socket.recv_from(&mut buf).ok();
        let mut rtc = lock(rtc);
        if !rtc.is_alive() {
            continue;
        }
        let mut fed = Ok(());
        if let Some((n, source)) = got {
            if let Ok(contents) = buf[..n].try_into() {
                let input = Input::Receive(
                    Instant::now(),
                    Receive {
                        proto: Protocol::Udp,
                        source,
                        destination: addr,
                        contents,
                    },
                );
                fed = rtc.handle_input(input);
            }
        }
        let fed = fed.and_then(|_| rtc.handle_input(Input::Timeout(Instant::now())));
        if let Err(e) = fed {
            lock(seen).errors.push(format!("handle_input: {e}"));
        }
    }
}
