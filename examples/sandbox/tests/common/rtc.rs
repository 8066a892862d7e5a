//! A minimal WebRTC end for routed-session tests (str0m, as the router): one UDP socket on
//! 127.0.0.1, Opus only. A publisher offers one send-only audio track and sends a frame every
//! 20 ms once connected; a subscriber answers the router's offer and counts what it receives.
#![allow(dead_code)]

use std::io::ErrorKind;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

pub struct Peer {
    pub rtc: Rtc,
    socket: UdpSocket,
    pending: Option<SdpPendingOffer>,
    audio: Option<Mid>,
    pub connected: bool,
    /// Frames received (a subscriber's).
    pub received: u64,
    /// Frames sent (a publisher's); sending stops while `muted`.
    pub sent: u64,
    pub muted: bool,
    next_frame: Instant,
}

impl Peer {
    pub fn new() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let now = Instant::now();
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .build(now);
        rtc.add_local_candidate(Candidate::host(socket.local_addr().unwrap(), "udp").unwrap());
        Peer {
            rtc,
            socket,
            pending: None,
            audio: None,
            connected: false,
            received: 0,
            sent: 0,
            muted: false,
            next_frame: now,
        }
    }

    /// A publisher's offer: one send-only audio track.
    pub fn offer(&mut self) -> String {
        let mut change = self.rtc.sdp_api();
        let mid = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let (offer, pending) = change.apply().unwrap();
        self.audio = Some(mid);
        self.pending = Some(pending);
        offer.to_sdp_string()
    }

    pub fn accept_answer(&mut self, sdp: &str) {
        let answer = SdpAnswer::from_sdp_string(sdp).unwrap();
        let pending = self.pending.take().expect("an offer first");
        self.rtc.sdp_api().accept_answer(pending, answer).unwrap();
    }

    /// A subscriber's answer to the router's offer.
    pub fn answer(&mut self, sdp: &str) -> String {
        let offer = SdpOffer::from_sdp_string(sdp).unwrap();
        self.rtc
            .sdp_api()
            .accept_offer(offer)
            .unwrap()
            .to_sdp_string()
    }

    /// One pass: datagrams in, timers, an audio frame when due, everything out.
    pub fn step(&mut self) {
        let mut buf = vec![0u8; 2000];
        loop {
            match self.socket.recv_from(&mut buf) {
                Ok((n, source)) => {
                    let Ok(contents) = buf[..n].try_into() else {
                        continue;
                    };
                    let input = Input::Receive(
                        Instant::now(),
                        Receive {
                            proto: Protocol::Udp,
                            source,
                            destination: self.socket.local_addr().unwrap(),
                            contents,
                        },
                    );
                    if self.rtc.accepts(&input) {
                        let _ = self.rtc.handle_input(input);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => break,
            }
        }
        let now = Instant::now();
        let _ = self.rtc.handle_input(Input::Timeout(now));
        if let (true, false, Some(mid)) = (self.connected, self.muted, self.audio) {
            if now >= self.next_frame {
                self.next_frame = now + Duration::from_millis(20);
                if let Some(w) = self.rtc.writer(mid) {
                    let pt = w.payload_params().next().map(|p| p.pt());
                    if let Some(pt) = pt {
                        let ts = MediaTime::new(self.sent * 960, Frequency::FORTY_EIGHT_KHZ);
                        if w.write(pt, now, ts, vec![0xf8, 0xff, 0xfe]).is_ok() {
                            self.sent += 1;
                        }
                    }
                }
            }
        }
        while let Ok(out) = self.rtc.poll_output() {
            match out {
                Output::Timeout(_) => break,
                Output::Transmit(t) => {
                    let _ = self.socket.send_to(&t.contents, t.destination);
                }
                Output::Event(Event::Connected) => self.connected = true,
                Output::Event(Event::MediaData(_)) => self.received += 1,
                Output::Event(_) => {}
            }
        }
    }
}

/// Runs the peers for `ms`, yielding to the sandbox in between.
pub async fn drive(peers: &mut [&mut Peer], ms: u64) {
    let until = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < until {
        for p in peers.iter_mut() {
            p.step();
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
