//! One connection's outbound FIFO. Frames are stamped with the time they may be written
//! (now + the latency hook), so the writer delays every frame by the same amount while
//! keeping their order.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

pub enum OutKind {
    Text(Utf8Bytes),
    /// A close frame, after which the writer stops.
    Close(u16, &'static str),
}

pub struct Out {
    pub due: Instant,
    pub kind: OutKind,
}

#[derive(Clone)]
pub struct Outbox {
    tx: UnboundedSender<Out>,
    latency_ms: Arc<AtomicU64>,
}

impl Outbox {
    pub fn new(tx: UnboundedSender<Out>, latency_ms: Arc<AtomicU64>) -> Self {
        Outbox { tx, latency_ms }
    }

    fn due(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.latency_ms.load(Ordering::Relaxed))
    }

    /// Queues a text frame; a closed socket drops it silently (its reader cleans up).
    pub fn text(&self, frame: &Utf8Bytes) {
        let _ = self.tx.send(Out {
            due: self.due(),
            kind: OutKind::Text(frame.clone()),
        });
    }

    pub fn close(&self, code: u16, reason: &'static str) {
        let _ = self.tx.send(Out {
            due: self.due(),
            kind: OutKind::Close(code, reason),
        });
    }
}
