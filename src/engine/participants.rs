//! The remote participants of the call, identified across sessions by [`ParticipantKey`].
//!
//! A participant is *joined* the first time any session shows a connection with their key,
//! and *left* once they have had no connection in any session this client is in for
//! [`LEFT_GRACE_MS`] while no handoff or recovery is under way. The grace and the pause are
//! what keep a participant who moves between sessions from being reported as leaving and
//! rejoining, whichever order their `connectionDestroyed` in the old session and their
//! `connectionCreated` in the new one arrive in, and even when they move a moment before
//! this client's own signal arrives.

use super::{Millis, ParticipantKey, SessionId, StreamId};
use crate::sorted_map::SortedMap;

/// How long a participant may be absent from every session before they count as left.
pub const LEFT_GRACE_MS: Millis = 5_000;

#[derive(Clone, Debug, Default)]
pub(crate) struct Participant {
    /// The stream shown (and heard) in the participant's tile.
    pub(crate) shown: Option<(SessionId, StreamId)>,
    /// Since when they have had no connection in any session we are in.
    pub(crate) absent_since: Option<Millis>,
}

/// One participant as the app sees them: their key and what their tile shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParticipantView<'a> {
    pub key: &'a ParticipantKey,
    /// The `(session, stream)` shown and heard in their tile, if any.
    pub shown: Option<(&'a SessionId, &'a StreamId)>,
    /// Whether they have a connection in a session this client is in right now.
    pub present: bool,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Participants {
    map: SortedMap<ParticipantKey, Participant>,
}

impl Participants {
    /// Marks `key` present; `true` when it is new (the app is told they joined).
    pub(crate) fn arrive(&mut self, key: &ParticipantKey) -> bool {
        match self.map.get_mut(key) {
            Some(p) => {
                p.absent_since = None;
                false
            }
            None => {
                self.map.insert(key.clone(), Participant::default());
                true
            }
        }
    }

    /// Starts `key`'s absence clock unless it is already running.
    pub(crate) fn depart(&mut self, key: &ParticipantKey, now: Millis) {
        if let Some(p) = self.map.get_mut(key) {
            p.absent_since.get_or_insert(now);
        }
    }

    /// Restarts the absence clock of everyone absent.
    pub(crate) fn restart_absence(&mut self, now: Millis) {
        for p in self.map.values_mut() {
            if p.absent_since.is_some() {
                p.absent_since = Some(now);
            }
        }
    }

    pub(crate) fn shown(&self, key: &ParticipantKey) -> Option<&(SessionId, StreamId)> {
        self.map.get(key).and_then(|p| p.shown.as_ref())
    }

    pub(crate) fn set_shown(&mut self, key: &ParticipantKey, shown: Option<(SessionId, StreamId)>) {
        if let Some(p) = self.map.get_mut(key) {
            p.shown = shown;
        }
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &ParticipantKey> {
        self.map.keys()
    }

    /// Keys whose tile shows a stream of `session`.
    pub(crate) fn shown_from(&self, session: &SessionId) -> Vec<ParticipantKey> {
        self.map
            .iter()
            .filter(|(_, p)| p.shown.as_ref().is_some_and(|(s, _)| s == session))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// When the next absent participant's grace runs out.
    pub(crate) fn next_left_at(&self) -> Option<Millis> {
        self.map
            .values()
            .filter_map(|p| p.absent_since)
            .min()
            .map(|t| t.saturating_add(LEFT_GRACE_MS))
    }

    /// Removes and returns every participant whose grace has run out by `now`.
    pub(crate) fn take_left(&mut self, now: Millis) -> Vec<(ParticipantKey, Participant)> {
        let due: Vec<ParticipantKey> = self
            .map
            .iter()
            .filter(|(_, p)| {
                p.absent_since
                    .is_some_and(|t| t.saturating_add(LEFT_GRACE_MS) <= now)
            })
            .map(|(k, _)| k.clone())
            .collect();
        due.into_iter()
            .filter_map(|k| self.map.remove(&k).map(|p| (k, p)))
            .collect()
    }

    pub(crate) fn views(&self) -> impl Iterator<Item = ParticipantView<'_>> {
        self.map.iter().map(|(key, p)| ParticipantView {
            key,
            shown: p.shown.as_ref().map(|(s, st)| (s, st)),
            present: p.absent_since.is_none(),
        })
    }

    pub(crate) fn clear(&mut self) {
        self.map.clear();
    }
}
