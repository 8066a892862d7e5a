//! Media releases, spread out in time.
//!
//! `unsubscribe` and `disconnect` close peer connections and stop tracks; each can hold the
//! page's main thread for tens of milliseconds on a busy machine (measured in the end-to-end
//! tests: one swap's teardown held a page for 245 ms, and every tile of that page missed
//! frames). So the commands that only release media ([`Command::Unsubscribe`], and the
//! [`Command::Disconnect`] of a session left) wait here and go out one at a time,
//! [`Config::release_spacing_ms`](super::Config::release_spacing_ms) apart, the first that long
//! after it was queued, so that frames get painted in between. What makes a swap or a leave
//! visible goes out at once (`Show`, `Hide`): a subscriber replaced by a swap stays in its
//! tile, hidden and muted but playing, until its `Unsubscribe` (taken out of the document at
//! once it would pause, while the swap only reaches the screen with the next rendering update:
//! a page busy for 100 ms between the two showed the old picture frozen meanwhile).
//!
//! Some commands let waiting releases out at once, before themselves: a `Connect` those of its
//! session ID (the vendor hands back its cached object for a session ID: a disconnect of an
//! earlier connection must not run after the new connect), a `Subscribe` the `Unsubscribe` of
//! the same stream, and closing all of them.

use super::{Command, Engine, Millis, Output, SessionId};

/// Releases waiting their turn, oldest first, and when the next one goes out.
#[derive(Debug, Default)]
pub(super) struct Releases {
    /// Each an `Output::Command` (one vector type with the engine's outputs: less wasm).
    waiting: Vec<Output>,
    next_at: Option<Millis>,
}

/// The session a command releases media of; `None` for a command that releases nothing.
fn released(command: &Command) -> Option<&SessionId> {
    match command {
        Command::Unsubscribe { session, .. } | Command::Disconnect { session } => Some(session),
        _ => None,
    }
}

/// Whether the waiting release must go out before `next`: a `Connect` to its session, or a
/// `Subscribe` to the stream it unsubscribes (which the shell would otherwise take for the
/// subscription it still holds).
fn goes_before(waiting: &Command, next: &Command) -> bool {
    match (waiting, next) {
        (_, Command::Connect { session, .. }) => released(waiting) == Some(session),
        (
            Command::Unsubscribe { session, stream },
            Command::Subscribe {
                session: s,
                stream: st,
                ..
            },
        ) => session == s && stream == st,
        _ => false,
    }
}

/// Which waiting releases a sweep takes.
#[derive(Clone, Copy)]
pub(super) enum Sweep<'a> {
    /// Those that must go out before this command, out now.
    Before(&'a Command),
    /// The oldest, out now.
    First,
    /// All of them, out now.
    All,
    /// Those of a session that ended without us, dropped: the vendor destroyed its
    /// subscribers and publisher, so nothing of it is left to release.
    Forget(&'a SessionId),
}

impl Engine {
    /// Queues a command for the shell: a release waits its turn; any other command goes out
    /// at once, after the waiting releases it must follow.
    pub(super) fn command(&mut self, command: Command) {
        self.sweep_releases(Sweep::Before(&command));
        if released(&command).is_some() && self.config.release_spacing_ms > 0 {
            if self.releases.waiting.is_empty() {
                self.releases.next_at = Some(self.now + self.config.release_spacing_ms);
            }
            self.releases.waiting.push(Output::Command(command));
        } else {
            self.out.push(Output::Command(command));
        }
    }

    /// Takes the waiting releases `sweep` names, in order.
    pub(super) fn sweep_releases(&mut self, sweep: Sweep) {
        let mut first = true;
        for waiting in core::mem::take(&mut self.releases.waiting) {
            let Output::Command(command) = &waiting else {
                continue;
            };
            let taken = match sweep {
                Sweep::Before(next) => goes_before(command, next),
                Sweep::First => first,
                Sweep::All => true,
                Sweep::Forget(session) => released(command) == Some(session),
            };
            first = false;
            if !taken {
                self.releases.waiting.push(waiting);
            } else if !matches!(sweep, Sweep::Forget(_)) {
                self.out.push(waiting);
            }
        }
        if self.releases.waiting.is_empty() {
            self.releases.next_at = None;
        }
    }

    /// The releases waiting their turn, oldest first.
    pub fn waiting_releases(&self) -> impl Iterator<Item = &Command> {
        self.releases.waiting.iter().filter_map(|o| match o {
            Output::Command(c) => Some(c),
            Output::Event(_) => None,
        })
    }

    /// When the next release goes out.
    pub(super) fn next_release_at(&self) -> Option<Millis> {
        self.releases.next_at
    }

    /// The next release, if its time has come; whether one went out.
    pub(super) fn release_due(&mut self) -> bool {
        if self.releases.next_at.is_none_or(|t| t > self.now) || self.releases.waiting.is_empty() {
            return false;
        }
        self.sweep_releases(Sweep::First);
        if !self.releases.waiting.is_empty() {
            self.releases.next_at = Some(self.now + self.config.release_spacing_ms);
        }
        true
    }
}
