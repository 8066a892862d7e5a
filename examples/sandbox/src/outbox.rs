//! One connection's outbound FIFO of Rumor frames. Frames are stamped with the time they may
//! be written (now + the latency hook), so the writer delays every frame by the same amount
//! while keeping their order. The queue is bounded: a client that stops reading is cut off
//! (as a server would drop a peer whose socket never drains) instead of growing memory.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use tokio::sync::mpsc::{channel, error::TrySendError, Receiver, Sender};
use tokio::sync::watch;
use tokio::time::Instant;

/// Frames one connection may have waiting. A busy three-person call queues a few dozen at
/// most; thousands means the client is gone or not reading.
pub const MAX_QUEUED_FRAMES: usize = 4096;

pub enum OutKind {
    Binary(Bytes),
    /// A close frame, after which the writer stops.
    Close(u16, &'static str),
}

pub struct Out {
    pub due: Instant,
    pub kind: OutKind,
}

#[derive(Clone)]
pub struct Outbox {
    tx: Sender<Out>,
    latency_ms: Arc<AtomicU64>,
    /// Set when the queue overflows: the socket's tasks watch it and drop the connection.
    kill: watch::Sender<bool>,
    /// Set once a close is queued: the socket is done and must not act any more.
    closed: Arc<AtomicBool>,
}

impl Outbox {
    pub fn new(latency_ms: Arc<AtomicU64>, kill: watch::Sender<bool>) -> (Self, Receiver<Out>) {
        let (tx, rx) = channel(MAX_QUEUED_FRAMES);
        (
            Outbox {
                tx,
                latency_ms,
                kill,
                closed: Arc::new(AtomicBool::new(false)),
            },
            rx,
        )
    }

    fn due(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.latency_ms.load(Ordering::Relaxed))
    }

    fn push(&self, kind: OutKind) {
        match self.tx.try_send(Out {
            due: self.due(),
            kind,
        }) {
            Ok(()) | Err(TrySendError::Closed(_)) => {}
            Err(TrySendError::Full(_)) => {
                self.kill.send_replace(true);
            }
        }
    }

    /// Queues a frame (already encoded, so a broadcast encodes once); a closed socket drops
    /// it silently (its reader cleans up).
    pub fn send(&self, frame: &Bytes) {
        self.push(OutKind::Binary(frame.clone()));
    }

    pub fn close(&self, code: u16, reason: &'static str) {
        self.closed.store(true, Ordering::Relaxed);
        self.push(OutKind::Close(code, reason));
    }

    /// Whether a close is queued (the session has let this socket go, or it is refused).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Whether both are the same socket's outbox.
    pub fn same(&self, other: &Outbox) -> bool {
        self.tx.same_channel(&other.tx)
    }

    /// Drops the socket at once, without a close frame (the `cut` hook, an overflow).
    pub fn kill(&self) {
        self.kill.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_overflowing_queue_kills_the_connection() {
        let (kill, kill_rx) = watch::channel(false);
        let (out, _rx) = Outbox::new(Arc::new(AtomicU64::new(0)), kill);
        let frame = Bytes::from_static(b"x");
        for _ in 0..MAX_QUEUED_FRAMES {
            out.send(&frame);
        }
        assert!(!*kill_rx.borrow(), "a full queue is not yet an overflow");
        out.send(&frame);
        assert!(*kill_rx.borrow());
    }
}
