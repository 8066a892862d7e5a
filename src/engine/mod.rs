//! The handoff engine: a sans-IO state machine (see `io.rs` for its inputs and outputs).

mod io;

pub use io::*;

/// The state machine. Placeholder until the engine lands (issue 2).
pub struct Engine {
    _config: Config,
}

impl Engine {
    pub fn new(config: Config, _seed: u64) -> Self {
        Self { _config: config }
    }

    pub fn handle(&mut self, _now: Millis, _input: Input) {}

    pub fn handle_timeout(&mut self, _now: Millis) {}

    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        None
    }

    #[must_use]
    pub fn poll_timeout(&self) -> Option<Millis> {
        None
    }
}
