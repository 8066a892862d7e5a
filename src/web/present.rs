//! Present: the engine's events become the app's events ([`AppEvent`]) and are handed to the
//! app's `emit` after the engine call that produced them has returned, in order.
//!
//! Delivery never nests: an app handler that calls back into the call (`moveTo`, `close`)
//! makes new events, but a delivery already under way hands them out after the current one,
//! so every handler sees every event in the order it happened. (A `participantSwapped` comes
//! from the engine once its tile's frame gap is measured, everything behind it waiting with
//! it: the engine's policy, `Config::swap_figure_wait_ms`.) The state the getters read is
//! kept here, so it can be read at any moment, also while the engine is busy.

use std::cell::{Cell, RefCell};

use js_sys::Function;
use wasm_bindgen::prelude::*;

use super::contract::errors::{ErrorCode, Failure};
use super::contract::events::{self, AppEvent};
use super::effects::EventExtra;
use crate::engine::{Event, SessionId, State};

/// The app's events on their way out, in order.
pub struct Present {
    /// Oldest first (a few events at most: a `Vec` is smaller code than a `VecDeque`).
    queue: RefCell<Vec<AppEvent>>,
    delivering: Cell<bool>,
    /// The app's `emit`, until `closed` has been delivered.
    emit: RefCell<Option<Function>>,
    /// The state of the last `stateChanged` delivered to the app: what `call.state` reads,
    /// so the app never reads a state its handlers have not been told of yet.
    delivered: Cell<State>,
    /// The state of the last `stateChanged` queued (the engine's latest).
    queued: Cell<State>,
    session_id: RefCell<Option<String>>,
    handoffs_completed: Cell<u32>,
}

impl Present {
    pub fn new(emit: Function) -> Present {
        Present {
            queue: RefCell::default(),
            delivering: Cell::new(false),
            emit: RefCell::new(Some(emit)),
            delivered: Cell::new(State::Idle),
            queued: Cell::new(State::Idle),
            session_id: RefCell::default(),
            handoffs_completed: Cell::new(0),
        }
    }

    /// The state the app has been told (the last `stateChanged` delivered).
    pub fn state(&self) -> State {
        self.delivered.get()
    }

    /// The state the engine announced last (delivered or still queued).
    pub fn queued_state(&self) -> State {
        self.queued.get()
    }

    pub fn session_id(&self) -> Option<String> {
        self.session_id.borrow().clone()
    }

    pub fn handoffs_completed(&self) -> u32 {
        self.handoffs_completed.get()
    }

    /// The live session changed (read from the engine after every step).
    pub fn set_session_id(&self, id: Option<&SessionId>) {
        let mut current = self.session_id.borrow_mut();
        if current.as_deref() != id.map(SessionId::as_str) {
            *current = id.map(|s| s.0.clone());
        }
    }

    /// Queues an engine event with what the effects added to it (`EventExtra`: a joining
    /// participant's object; a swap's figure, or the largest of a completed handoff).
    pub fn push(&self, event: Event, extra: EventExtra) {
        let EventExtra { participant, gap } = extra;
        let ready = match event {
            Event::StateChanged { state } => {
                self.queued.set(state);
                AppEvent::StateChanged { state }
            }
            Event::HandoffStarted {
                from,
                to,
                reason,
                id,
            } => AppEvent::HandoffStarted {
                from: from.0,
                to: to.0,
                reason,
                id,
            },
            Event::SessionMigrated { session } => AppEvent::SessionMigrated {
                session_id: session.0,
                frame_gap_ms: gap.map(events::round),
            },
            Event::ParticipantSwapped { key, from, to } => AppEvent::ParticipantSwapped {
                key: key.0,
                from: from.0,
                to: to.0,
                frame_gap_ms: gap.map(events::round),
            },
            Event::HandoffCompleted {
                from,
                to,
                duration_ms,
                overlap_ms,
                ended_by,
            } => {
                self.handoffs_completed
                    .set(self.handoffs_completed.get().saturating_add(1));
                AppEvent::HandoffCompleted {
                    from: from.0,
                    to: to.0,
                    duration_ms: duration_ms as f64,
                    overlap_ms: overlap_ms as f64,
                    ended_by,
                    largest_frame_gap_ms: gap.map(events::round),
                }
            }
            Event::HandoffFailed {
                to,
                error,
                will_retry,
                next_attempt_at,
                stopped,
            } => AppEvent::HandoffFailed {
                to: to.0,
                error: Failure::from(&error).to_js(),
                will_retry,
                next_attempt_at: next_attempt_at.map(|t| t as f64),
                stopped,
            },
            Event::DuplicateKey {
                session,
                key,
                connection,
                shown_as,
            } => AppEvent::DuplicateKey {
                session_id: session.0,
                key: key.0,
                connection_id: connection.0,
                shown_as: shown_as.0,
            },
            Event::TrackingCapped { session, what } => AppEvent::TrackingCapped {
                session_id: session.0,
                what,
            },
            Event::SubscribeFailed {
                key,
                session,
                stream,
                detail,
            } => AppEvent::SubscribeFailed {
                key: key.map(|k| k.0),
                session_id: session.0,
                stream_id: stream.0,
                error: Failure::with_detail(
                    ErrorCode::SubscribeFailed,
                    "subscribing to the stream failed",
                    &detail,
                )
                .to_js(),
            },
            Event::AnnounceFailed { session, detail } => AppEvent::AnnounceFailed {
                session_id: session.0,
                error: Failure::with_detail(
                    ErrorCode::AnnounceFailed,
                    "telling the peers that this client moved failed",
                    &detail,
                )
                .to_js(),
            },
            Event::RecoveryStarted { session, reason } => AppEvent::RecoveryStarted {
                session_id: session.0,
                reason,
            },
            Event::SessionEnded { session, reason } => AppEvent::SessionEnded {
                session_id: session.0,
                reason,
            },
            Event::SignalRejected { rejection } => {
                let mut message = String::from("handoff signal ignored: ");
                message.push_str(rejection.problem());
                AppEvent::SignalRejected {
                    reason: rejection.reason,
                    field: rejection.field,
                    message,
                }
            }
            Event::ParticipantJoined { .. } => match participant {
                Some(participant) => AppEvent::ParticipantJoined { participant },
                None => return,
            },
            Event::ParticipantLeft { key } => AppEvent::ParticipantLeft { key: key.0 },
        };
        self.queue.borrow_mut().push(ready);
    }

    /// `closed`, if the engine did not say it (the call was torn down without it).
    pub fn closed(&self) {
        if self.queued.get() != State::Closed {
            self.push(
                Event::StateChanged {
                    state: State::Closed,
                },
                EventExtra::default(),
            );
        }
    }

    /// Hands the queued events to the app, outside any borrow; nested calls return at once.
    pub fn deliver(&self) {
        if self.delivering.replace(true) {
            return;
        }
        while let Some(event) = self.pop() {
            if let AppEvent::StateChanged { state } = event {
                self.delivered.set(state);
            }
            let closed = self.delivered.get() == State::Closed;
            let emit = self.emit.borrow().clone();
            if let Some(emit) = emit {
                // The app's handler errors are its own; js/index.js reports them, never rethrows.
                let _ = emit.call1(&JsValue::NULL, &events::to_js(&event));
            }
            if closed {
                // Nothing follows `closed`: the app's function is let go.
                self.emit.borrow_mut().take();
                self.queue.borrow_mut().clear();
            }
        }
        self.delivering.set(false);
    }

    /// The next event to deliver.
    fn pop(&self) -> Option<AppEvent> {
        let mut queue = self.queue.borrow_mut();
        if queue.is_empty() {
            return None;
        }
        Some(queue.remove(0))
    }
}
