//! App events held back for a swap's figure.
//!
//! A `participantSwapped` tells the app the frame gap of that swap, which the shell measures
//! on the tile over the frames after it. The policy: the swap's event waits for its figure
//! ([`Input::SwapMeasured`](super::Input::SwapMeasured)), at most
//! [`Config::swap_figure_wait_ms`](super::Config::swap_figure_wait_ms) after the swap, and every
//! event behind it waits too, so the app gets its events in the order they happened. Commands
//! never wait. `0` (the engine's default) holds nothing: the event goes out at once.

use super::{Engine, Event, Millis, Output, ParticipantKey, State};

/// The events waiting, oldest first, each with when it happened, and the swaps whose figure
/// came while they waited.
#[derive(Debug, Default)]
pub(super) struct Held {
    events: Vec<(Millis, Event)>,
    measured: Vec<ParticipantKey>,
}

fn swap_key(event: &Event) -> Option<&ParticipantKey> {
    match event {
        Event::ParticipantSwapped { key, .. } => Some(key),
        _ => None,
    }
}

impl Engine {
    /// Queues an app event, behind a swap still waiting for its figure if there is one.
    /// `closed` lets everything out first: nothing may follow it.
    pub(super) fn event(&mut self, event: Event) {
        let closing = matches!(
            event,
            Event::StateChanged {
                state: State::Closed
            }
        );
        if closing {
            self.release_held(true);
        }
        let holds = self.config.swap_figure_wait_ms > 0
            && !closing
            && (!self.held.events.is_empty() || swap_key(&event).is_some());
        if holds {
            self.held.events.push((self.now, event));
        } else {
            self.out.push(Output::Event(event));
        }
    }

    /// `Input::SwapMeasured`: counts only for a swap whose event is waiting.
    pub(super) fn on_swap_measured(&mut self, key: &ParticipantKey) {
        let waiting = self
            .held
            .events
            .iter()
            .filter(|(_, e)| swap_key(e) == Some(key))
            .count();
        let measured = self.held.measured.iter().filter(|k| *k == key).count();
        if measured < waiting {
            self.held.measured.push(key.clone());
        }
        self.release_held(false);
    }

    /// Lets the waiting events out up to the first swap that still waits for its figure
    /// within its bound (`all`: every one).
    pub(super) fn release_held(&mut self, all: bool) {
        let wait = self.config.swap_figure_wait_ms;
        let mut n = 0;
        while let Some((at, event)) = self.held.events.get(n) {
            if let Some(key) = swap_key(event) {
                match self.held.measured.iter().position(|k| k == key) {
                    Some(i) => {
                        self.held.measured.remove(i);
                    }
                    None if !all && at.saturating_add(wait) > self.now => break,
                    None => {}
                }
            }
            n += 1;
        }
        for (_, event) in self.held.events.drain(..n) {
            self.out.push(Output::Event(event));
        }
        if self.held.events.is_empty() {
            self.held.measured.clear();
        }
    }

    /// When the first waiting swap stops waiting for its figure.
    pub(super) fn held_until(&self) -> Option<Millis> {
        let (at, _) = self.held.events.first()?;
        Some(at.saturating_add(self.config.swap_figure_wait_ms))
    }
}
