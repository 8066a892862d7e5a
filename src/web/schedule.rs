//! The scheduler: the call's one timer (at the engine's `poll_timeout()` or the end of a frame
//! meter's window, whichever comes first), and a drive in a task of its own. Each is a
//! `listener::Timer` (a `setTimeout` through the one router closure), cleared when replaced or
//! dropped; each holds the call weakly, so a timer never keeps a closed call alive.

use std::cell::RefCell;
use std::rc::Weak;

use super::listener::{Alarm, Sink, Timer};

use super::effects::perf_now;
use crate::engine::Millis;

/// The engine's clock (ms): `performance.now()`, which is monotonic, so durations, retry
/// delays and timers never jump when the wall clock is set; shifted once, when the call
/// starts, by the wall clock, so that it reads as epoch ms. The server's clock is for deadlines
/// only: the engine reads a signal's `deadline` through the server's time at connect
/// (`Input::Connected`'s `server_time`), and before any connect through this start time.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    shift: f64,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            shift: js_sys::Date::now() - perf_now(),
        }
    }

    pub fn now(&self) -> Millis {
        self.ms() as Millis
    }

    fn ms(&self) -> f64 {
        perf_now() + self.shift
    }

    /// A `performance.now()` time (a frame's, a meter's) on this clock.
    pub fn from_perf(&self, t: f64) -> f64 {
        t + self.shift
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

#[derive(Default)]
pub struct Schedule {
    pub clock: Clock,
    /// The one timer: when it goes off (on [`Clock`]) and its handle.
    timer: RefCell<Option<(f64, Timer)>>,
    soon: RefCell<Option<Timer>>,
}

impl Schedule {
    /// An alarm went off: its handle is spent.
    pub fn fired(&self, alarm: Alarm) {
        match alarm {
            Alarm::Timer => *self.timer.borrow_mut() = None,
            Alarm::Soon => *self.soon.borrow_mut() = None,
            Alarm::Paint => {} // the tiles' own (`Tiles::painted`)
        }
    }

    /// Sets the one timer to go off at `at` (on [`Clock`]; `None`: no timer), unless it already
    /// does.
    pub fn arm(&self, sink: &Weak<dyn Sink>, at: Option<f64>) {
        let mut timer = self.timer.borrow_mut();
        match at {
            None => *timer = None,
            Some(at) if timer.as_ref().is_some_and(|(t, _)| *t == at) => {}
            Some(at) => {
                let delay = (at - self.clock.ms()).clamp(0.0, 2_147_483_647.0) as u32;
                *timer = Some((at, Timer::new(sink, Alarm::Timer, delay)));
            }
        }
    }

    /// A drive in a new task (once, however many ask for it before it runs).
    pub fn soon(&self, sink: &Weak<dyn Sink>) {
        let mut soon = self.soon.borrow_mut();
        if soon.is_none() {
            *soon = Some(Timer::new(sink, Alarm::Soon, 0));
        }
    }

    /// No timer may go off into a call that is gone.
    pub fn clear(&self) {
        *self.timer.borrow_mut() = None;
        *self.soon.borrow_mut() = None;
    }
}
