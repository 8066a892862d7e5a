//! Test harness for the engine: a fake clock, a simulated shell that carries out commands
//! and tracks what each tile shows, and the invariants checked after every step.
//!
//! Included by the `engine_*` tests with `#[path = "engine/harness.rs"] mod harness;`; the
//! simulated shell is in `shell.rs`.
#![allow(dead_code)]

use video_handoff::engine::*;

#[path = "shell.rs"]
mod shell;
pub use shell::*;

/// A handoff signal's `data` read as the browser reads it (size and nesting checked, then
/// parsed, then a JSON object read into [`MoveFields`]), with serde_json for `JSON.parse`.
pub fn wire(data: &str) -> Result<MoveFields, Rejection> {
    check_signal_text(data)?;
    let value: serde_json::Value =
        serde_json::from_str(data).map_err(|_| Rejection::from(RejectReason::NotJson))?;
    if !value.is_object() {
        return Err(RejectReason::NotJson.into());
    }
    serde_json::from_value(value).map_err(|_| Rejection::from(RejectReason::NotJson))
}

/// A signal's `data` checked as a handoff signal (what the engine does with it).
pub fn parse_signal(data: &str) -> Result<HandoffRequest, Rejection> {
    wire(data)?.signal()
}

/// The default configuration with media released at once: the rules the scenario tests
/// check, without the spacing of releases in time (held by its own tests, engine_release.rs).
pub fn at_once() -> Config {
    Config {
        release_spacing_ms: 0,
        ..Config::default()
    }
}

/// 2025-11-25T..., so that epoch-ms deadlines look real.
pub const T0: Millis = 1_764_000_000_000;

pub fn sid(s: &str) -> SessionId {
    SessionId::from(s)
}
pub fn key(k: &str) -> ParticipantKey {
    ParticipantKey::from(k)
}
/// The connection of participant `k` in session `s`.
pub fn conn(k: &str, s: &str) -> ConnectionId {
    ConnectionId::from(format!("{k}@{s}"))
}
/// The camera stream of participant `k` in session `s`.
pub fn cam(k: &str, s: &str) -> StreamId {
    StreamId::from(format!("{k}-cam@{s}"))
}
pub fn src(s: &str, stream: StreamId) -> (SessionId, StreamId) {
    (sid(s), stream)
}

/// An engine with a fake clock and a simulated shell; every step drains the outputs,
/// carries them out and checks the invariants (panicking on a violation).
pub struct Harness {
    pub engine: Engine,
    pub now: Millis,
    pub shell: Shell,
    pub world: World,
    pub config: Config,
    pub closed: bool,
    /// The latest time the engine has been given (it ignores time going backwards).
    pub engine_now: Millis,
    /// Every output so far.
    pub log: Vec<Output>,
    /// The server's clock minus ours (ms), as the next `connected` reports it.
    pub server_skew: i64,
    /// What `connected` says of the session's media (`Input::Connected::routed`).
    pub routed: Option<bool>,
}

impl Harness {
    pub fn new(config: Config) -> Self {
        Self::with_seed(config, 7)
    }

    pub fn with_seed(config: Config, seed: u64) -> Self {
        Self {
            engine: Engine::new(config.clone(), seed),
            now: T0,
            shell: Shell::default(),
            world: World::default(),
            config,
            closed: false,
            engine_now: 0,
            server_skew: 0,
            routed: None,
            log: Vec::new(),
        }
    }

    /// Feeds one input now; returns the outputs it produced.
    pub fn input(&mut self, input: Input) -> Vec<Output> {
        self.shell.before_input(&mut self.world, &input);
        self.engine_now = self.engine_now.max(self.now);
        self.engine.handle(self.now, input);
        self.drain()
    }

    /// Moves the clock to `at`, running every timer that falls due on the way.
    pub fn advance_to(&mut self, at: Millis) -> Vec<Output> {
        let mut outs = Vec::new();
        while let Some(t) = self.engine.poll_timeout() {
            if t > at {
                break;
            }
            self.now = self.now.max(t);
            self.engine_now = self.engine_now.max(self.now);
            self.engine.handle_timeout(self.now);
            let step = self.drain();
            outs.extend(step);
        }
        self.now = self.now.max(at);
        outs
    }

    pub fn advance(&mut self, ms: Millis) -> Vec<Output> {
        self.advance_to(self.now + ms)
    }

    /// Jumps to the next timer and runs it.
    pub fn fire_timer(&mut self) -> Vec<Output> {
        let t = self.engine.poll_timeout().expect("a timer is armed");
        self.now = self.now.max(t);
        self.engine_now = self.engine_now.max(self.now);
        self.engine.handle_timeout(self.now);
        self.drain()
    }

    fn drain(&mut self) -> Vec<Output> {
        let mut outs = Vec::new();
        while let Some(o) = self.engine.poll_output() {
            if self.closed {
                self.shell
                    .violations
                    .push(format!("output after Closed: {o:?}"));
            }
            if let Output::Command(c) = &o {
                self.shell.apply(c);
                // A new connection (or none): what OT told of the session's old one is gone.
                if let Command::Connect { session, .. } | Command::Disconnect { session } = c {
                    self.world.connections.retain(|(s, _), _| s != session);
                    self.world.streams.retain(|(s, _), _| s != session);
                }
            }
            if o == Output::Event(Event::StateChanged {
                state: State::Closed,
            }) {
                self.closed = true;
            }
            outs.push(o);
        }
        if self.closed && self.engine.poll_timeout().is_some() {
            self.shell
                .violations
                .push("a timer is armed after Closed".into());
        }
        self.shell.check(&self.world, &self.engine);
        assert!(
            self.shell.violations.is_empty(),
            "violations: {:#?}\nlast outputs: {outs:#?}",
            self.shell.violations
        );
        self.log.extend(outs.iter().cloned());
        outs
    }

    // ----- the shell's answers and the remote world, in words -----

    pub fn join(&mut self, s: &str) -> Vec<Output> {
        self.input(Input::Join {
            session: sid(s),
            token: Some(format!("token-{s}")),
        })
    }

    /// `s` connected; the server's clock reads as ours plus `server_skew` (0 by default).
    pub fn connected(&mut self, s: &str) -> Vec<Output> {
        let server_time = Some(self.now.saturating_add_signed(self.server_skew));
        self.input(Input::Connected {
            session: sid(s),
            connection: conn("me", s),
            server_time,
            routed: self.routed,
        })
    }

    pub fn published(&mut self, s: &str) -> Vec<Output> {
        self.input(Input::Published { session: sid(s) })
    }

    /// Joins `s` and goes live there, with own stream published.
    pub fn live_in(&mut self, s: &str) -> Vec<Output> {
        let mut outs = self.join(s);
        outs.extend(self.connected(s));
        outs.extend(self.published(s));
        outs
    }

    pub fn connection(&mut self, k: &str, s: &str) -> Vec<Output> {
        self.input(Input::ConnectionCreated {
            session: sid(s),
            connection: conn(k, s),
            data: Some(k.to_owned()),
            app_key: None,
        })
    }

    pub fn connection_gone(&mut self, k: &str, s: &str) -> Vec<Output> {
        self.input(Input::ConnectionDestroyed {
            session: sid(s),
            connection: conn(k, s),
        })
    }

    pub fn stream(&mut self, k: &str, s: &str) -> Vec<Output> {
        self.input(Input::StreamCreated {
            session: sid(s),
            stream: cam(k, s),
            connection: conn(k, s),
            has_video: true,
        })
    }

    pub fn stream_gone(&mut self, k: &str, s: &str) -> Vec<Output> {
        self.input(Input::StreamDestroyed {
            session: sid(s),
            stream: cam(k, s),
        })
    }

    /// Participant `k` connects to `s` and publishes a camera there.
    pub fn arrives(&mut self, k: &str, s: &str) -> Vec<Output> {
        let mut outs = self.connection(k, s);
        outs.extend(self.stream(k, s));
        outs
    }

    /// Participant `k` unpublishes and disconnects from `s`.
    pub fn leaves(&mut self, k: &str, s: &str) -> Vec<Output> {
        let mut outs = self.stream_gone(k, s);
        outs.extend(self.connection_gone(k, s));
        outs
    }

    pub fn first_frame(&mut self, k: &str, s: &str) -> Vec<Output> {
        self.input(Input::FirstFrame {
            session: sid(s),
            stream: cam(k, s),
        })
    }

    /// A handoff signal from the server (which session carried it does not matter).
    pub fn signal(&mut self, data: &str) -> Vec<Output> {
        self.input(Input::Signal {
            from: None,
            body: wire(data),
        })
    }

    /// Participant `k` says in `to` that it shows everyone from there, moving from `from`.
    pub fn moved(&mut self, k: &str, to: &str, from: &str) -> Vec<Output> {
        self.input(Input::Moved {
            session: sid(to),
            from: Some(conn(k, to)),
            data: from.into(),
        })
    }

    /// Participant `k` moves from `from` to `to` as a client of this SDK would: appears in
    /// `to` and says so once it shows everyone from there (here at once).
    pub fn moves(&mut self, k: &str, from: &str, to: &str) -> Vec<Output> {
        let mut outs = self.arrives(k, to);
        outs.extend(self.moved(k, to, from));
        outs
    }

    pub fn lost(&mut self, s: &str, reason: DisconnectReason) -> Vec<Output> {
        self.input(Input::SessionDisconnected {
            session: sid(s),
            reason,
        })
    }

    // ----- reading the tiles -----

    pub fn tile(&self, k: &str) -> Option<(SessionId, StreamId)> {
        self.shell.shown.get(&key(k)).cloned()
    }

    pub fn events_so_far(&self) -> Vec<Event> {
        events(&self.log)
    }
}

pub fn commands(outs: &[Output]) -> Vec<Command> {
    outs.iter()
        .filter_map(|o| {
            if let Output::Command(c) = o {
                Some(c.clone())
            } else {
                None
            }
        })
        .collect()
}

pub fn events(outs: &[Output]) -> Vec<Event> {
    outs.iter()
        .filter_map(|o| {
            if let Output::Event(e) = o {
                Some(e.clone())
            } else {
                None
            }
        })
        .collect()
}

pub fn has_event(outs: &[Output], e: &Event) -> bool {
    outs.contains(&Output::Event(e.clone()))
}

pub fn has_command(outs: &[Output], c: &Command) -> bool {
    outs.contains(&Output::Command(c.clone()))
}

/// `data` of a handoff signal to `s` with extra JSON members.
pub fn handoff_to(s: &str, extra: &str) -> String {
    if extra.is_empty() {
        format!(r#"{{"v":1,"sessionId":"{s}","token":"token-{s}"}}"#)
    } else {
        format!(r#"{{"v":1,"sessionId":"{s}","token":"token-{s}",{extra}}}"#)
    }
}

/// Whether any command in `outs` touches session `s` (connect, disconnect, publish).
pub fn touches_session(outs: &[Output], s: &str) -> bool {
    commands(outs).iter().any(|c| match c {
        Command::Connect { session, .. }
        | Command::Disconnect { session }
        | Command::Publish { session } => session.as_str() == s,
        _ => false,
    })
}

/// Given live in A with `participants` there, each publishing and shown from A.
pub fn live_in_a_with(participants: &[&str], config: Config) -> Harness {
    let mut h = Harness::new(config);
    h.live_in("A");
    for p in participants {
        h.arrives(p, "A");
    }
    h
}

/// Given a handoff A -> B under way with B connected and our stream published there.
pub fn moving_to_b(participants: &[&str], config: Config) -> Harness {
    let mut h = live_in_a_with(participants, config);
    h.signal(&handoff_to("B", ""));
    h.connected("B");
    h.published("B");
    h
}
