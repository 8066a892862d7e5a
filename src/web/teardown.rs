//! Media teardown, spread out in time.
//!
//! `unsubscribe`, `unpublish`/`destroy` and `disconnect` close RTCPeerConnections and stop
//! tracks; each can block the main thread for tens of milliseconds on a busy machine (measured
//! in the end-to-end tests: one swap's teardown held a page for 245 ms, and every tile of that
//! page missed frames). What makes a swap invisible is done at once (the old source is hidden,
//! muted and detached, its listeners removed); the OT calls that only release resources wait
//! here and run one per task, [`SPACING_MS`] apart, so frames get painted in between.
//! `close()` and a reconnect to the same session ID run whatever is pending at once.

use std::collections::VecDeque;

use web_sys::MediaStreamTrack;

use super::ot::{Publisher, Session, Subscriber};

/// Time between two teardown steps: about three frames at 30 fps.
pub const SPACING_MS: u32 = 100;

/// One OT call that releases media the call no longer shows or sends.
pub enum Step {
    Unsubscribe(Session, Subscriber),
    /// `unpublish` (when still connected), `destroy`, then stop the publisher's track clones.
    Unpublish {
        session: Option<Session>,
        publisher: Publisher,
        tracks: Vec<MediaStreamTrack>,
    },
    Disconnect(Session),
}

impl Step {
    fn run(self) {
        match self {
            Step::Unsubscribe(session, subscriber) => {
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
    steps: VecDeque<Step>,
}

impl Teardown {
    pub fn push(&mut self, step: Step) {
        self.steps.push_back(step);
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Runs the oldest step.
    pub fn run_one(&mut self) {
        if let Some(step) = self.steps.pop_front() {
            step.run();
        }
    }

    /// Runs every pending step now, in order.
    pub fn run_all(&mut self) {
        while let Some(step) = self.steps.pop_front() {
            step.run();
        }
    }
}
