//! Media teardown, spread out in time.
//!
//! `unsubscribe`, `unpublish`/`destroy` and `disconnect` close RTCPeerConnections and stop
//! tracks; each can block the main thread for tens of milliseconds on a busy machine (measured
//! in the end-to-end tests: one swap's teardown held a page for 245 ms, and every tile of that
//! page missed frames). What makes a swap invisible is done at once (the old source is hidden,
//! muted and detached, its listeners removed); the OT calls that only release resources wait
//! here and run one per task, [`SPACING_MS`] apart, so frames get painted in between.
//! `close()` and a reconnect to the same session ID run whatever is pending at once.
//!
//! A subscriber replaced by a swap also keeps its `<video>` in the tile, below the new one and
//! muted, until its step runs: taking it out of the document pauses it at once, while the swap
//! only reaches the screen with the next rendering update. A page busy for 100 ms between the
//! two (measured in the end-to-end tests: a 104-134 ms gap at the swap, 55-67 ms before it)
//! showed the old picture frozen meanwhile; kept playing, it stays live until the new one is
//! painted over it.

use web_sys::{HtmlVideoElement, MediaStreamTrack};

use crate::web::ot::{OtSession, Publisher, Subscriber};

/// Time between two teardown steps: about three frames at 30 fps.
pub const SPACING_MS: u32 = 100;

/// One OT call that releases media the call no longer shows or sends.
pub enum Step {
    /// `unsubscribe`, after taking the subscriber's video (if still in a tile) out of the page.
    Unsubscribe(OtSession, Subscriber, Option<HtmlVideoElement>),
    /// `unpublish` (when still connected), `destroy`, then stop the publisher's track clones.
    Unpublish {
        session: Option<OtSession>,
        publisher: Publisher,
        tracks: Vec<MediaStreamTrack>,
    },
    Disconnect(OtSession),
}

impl Step {
    pub fn run(self) {
        match self {
            Step::Unsubscribe(session, subscriber, video) => {
                if let Some(video) = video {
                    video.remove();
                }
                let _ = session.unsubscribe(&subscriber);
            }
            Step::Unpublish {
                session,
                publisher,
                tracks,
            } => {
                if let Some(session) = session {
                    let _ = session.unpublish(&publisher);
                }
                let _ = publisher.destroy();
                // The vendor stops a destroyed publisher's tracks; stop ours too in case it did not.
                tracks.iter().for_each(|t| t.stop());
            }
            Step::Disconnect(session) => {
                let _ = session.disconnect();
            }
        }
    }
}

/// Steps waiting to run, oldest first.
#[derive(Default)]
pub struct Teardown {
    steps: Vec<Step>,
}

impl Teardown {
    pub fn push(&mut self, step: Step) {
        self.steps.push(step);
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Runs the oldest step.
    pub fn run_one(&mut self) {
        if !self.steps.is_empty() {
            self.steps.remove(0).run();
        }
    }

    /// Runs every pending step now, in order.
    pub fn run_all(&mut self) {
        for step in std::mem::take(&mut self.steps) {
            step.run();
        }
    }
}
