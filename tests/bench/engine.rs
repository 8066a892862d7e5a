//! Engine benchmark: prints figures, asserts nothing about time.
//!
//! `cargo bench --bench engine`
//!
//! - ns per input for the hot inputs: `StreamCreated` (subscribe and show), `FirstFrame`
//!   (swap during a handoff), and checking a handoff signal (the text checks and the move
//!   request's; the browser parses with `JSON.parse`, this benchmark with serde_json);
//! - the time for a whole handoff of a 50-participant call where all 50 move, from the
//!   signal to `HandoffCompleted`, with the number of outputs it produced.

use std::hint::black_box;
use std::time::Instant;

use video_handoff::engine::*;

const T0: Millis = 1_764_000_000_000;

/// A signal's `data` read as the shell reads it (serde_json standing in for `JSON.parse`).
fn body(data: &str) -> Result<MoveFields, Rejection> {
    check_signal_text(data)?;
    serde_json::from_str(data).map_err(|_| Rejection::from(RejectReason::NotJson))
}

fn drain(e: &mut Engine) -> usize {
    let mut n = 0;
    while let Some(o) = e.poll_output() {
        black_box(&o);
        n += 1;
    }
    n
}

fn input(e: &mut Engine, now: Millis, i: Input) -> usize {
    e.handle(now, i);
    drain(e)
}

fn participant(e: &mut Engine, now: Millis, s: &str, p: usize) -> usize {
    let connection = ConnectionId::from(format!("c{p}@{s}"));
    let mut n = input(
        e,
        now,
        Input::ConnectionCreated {
            session: s.into(),
            connection: connection.clone(),
            data: Some(format!("p{p}")),
            app_key: None,
        },
    );
    n += input(
        e,
        now,
        Input::StreamCreated {
            session: s.into(),
            stream: format!("s{p}@{s}").into(),
            connection,
            has_video: true,
        },
    );
    n
}

/// Live in A with `n` participants publishing.
fn live_call(n: usize) -> Engine {
    let mut e = Engine::new(Config::default(), 1);
    input(
        &mut e,
        T0,
        Input::Join {
            session: "A".into(),
            token: Some("t".into()),
        },
    );
    input(
        &mut e,
        T0,
        Input::Connected {
            session: "A".into(),
            connection: "me@A".into(),
            server_time: None,
            routed: None,
        },
    );
    input(
        &mut e,
        T0,
        Input::Published {
            session: "A".into(),
        },
    );
    for p in 0..n {
        participant(&mut e, T0, "A", p);
    }
    e
}

const SIGNAL: &str = r#"{"v":1,"sessionId":"2_MX4xMjM0NTY3OH5-MTc2NDAwMDAwMDAwMH5CfmZ-","token":"T1==cGFydG5lcl9pZD0xMjM0NTY3OCZzaWc9YWJjZGVm","reason":"serverRotation","deadline":1764000060000,"spreadMs":0,"id":"move-42"}"#;

/// One whole handoff of a call with `n` participants, all moving; returns outputs.
fn whole_handoff(e: &mut Engine, n: usize) -> usize {
    let now = T0 + 10;
    let mut outs = input(
        e,
        now,
        Input::Signal {
            from: None,
            body: body(&SIGNAL.replace("2_MX4", "B")),
        },
    );
    let b: SessionId = moved_to();
    outs += input(
        e,
        now,
        Input::Connected {
            session: b.clone(),
            connection: "me@B".into(),
            server_time: None,
            routed: None,
        },
    );
    outs += input(e, now, Input::Published { session: b.clone() });
    for p in 0..n {
        outs += participant(e, now, b.as_str(), p);
    }
    for p in 0..n {
        outs += input(
            e,
            now,
            Input::FirstFrame {
                session: b.clone(),
                stream: format!("s{p}@{}", b.as_str()).into(),
            },
        );
    }
    // Group mode: each peer says, in B, that it shows everyone from there.
    for p in 0..n {
        outs += input(
            e,
            now,
            Input::Moved {
                session: b.clone(),
                from: Some(format!("c{p}@{}", b.as_str()).into()),
                data: "A".into(),
            },
        );
    }
    outs
}

fn moved_to() -> SessionId {
    // The session SIGNAL names once its "2_MX4" prefix is replaced by "B" (as sent here).
    SessionId::from("BxMjM0NTY3OH5-MTc2NDAwMDAwMDAwMH5CfmZ-")
}

fn per_input(label: &str, iters: usize, mut f: impl FnMut(usize)) {
    let start = Instant::now();
    for i in 0..iters {
        f(i);
    }
    let ns = start.elapsed().as_nanos() as f64 / iters as f64;
    println!("{label:<48} {ns:>10.0} ns/input   ({iters} inputs)");
}

fn main() {
    println!("video-handoff engine benchmark (figures only, nothing asserted)");

    // Checking a realistic signal: its text, then (parsed) its fields.
    per_input("check_signal_text (valid, 200 bytes)", 200_000, |_| {
        black_box(check_signal_text(black_box(SIGNAL)).ok());
    });
    let parsed = body(SIGNAL).expect("a valid signal");
    per_input("MoveFields::signal (valid)", 200_000, |_| {
        black_box(black_box(parsed.clone()).signal().ok());
    });

    // StreamCreated in the live session, into a call that grows to 1000 participants.
    let mut e = live_call(0);
    for p in 0..1000 {
        input(
            &mut e,
            T0,
            Input::ConnectionCreated {
                session: "A".into(),
                connection: format!("c{p}@A").into(),
                data: Some(format!("p{p}")),
                app_key: None,
            },
        );
    }
    let streams: Vec<Input> = (0..1000)
        .map(|p| Input::StreamCreated {
            session: "A".into(),
            stream: format!("s{p}@A").into(),
            connection: format!("c{p}@A").into(),
            has_video: true,
        })
        .collect();
    let mut it = streams.into_iter();
    per_input(
        "StreamCreated (live, subscribe+show, 1000-call)",
        1000,
        |_| {
            if let Some(i) = it.next() {
                e.handle(T0, i);
                drain(&mut e);
            }
        },
    );

    // FirstFrame during a 50-participant handoff (the swap).
    let mut swaps = 0usize;
    let rounds = 200;
    let mut total_ns = 0u128;
    for _ in 0..rounds {
        let mut e = live_call(50);
        let now = T0 + 10;
        input(
            &mut e,
            now,
            Input::Signal {
                from: None,
                body: body(&SIGNAL.replace("2_MX4", "B")),
            },
        );
        let b = moved_to();
        input(
            &mut e,
            now,
            Input::Connected {
                session: b.clone(),
                connection: "me@B".into(),
                server_time: None,
                routed: None,
            },
        );
        for p in 0..50 {
            participant(&mut e, now, b.as_str(), p);
        }
        let frames: Vec<Input> = (0..50)
            .map(|p| Input::FirstFrame {
                session: b.clone(),
                stream: format!("s{p}@{}", b.as_str()).into(),
            })
            .collect();
        let start = Instant::now();
        for f in frames {
            e.handle(now, f);
            swaps += drain(&mut e);
        }
        total_ns += start.elapsed().as_nanos();
    }
    println!(
        "{:<48} {:>10.0} ns/input   ({} inputs, {} outputs)",
        "FirstFrame (swap, 50-participant handoff)",
        total_ns as f64 / (rounds * 50) as f64,
        rounds * 50,
        swaps
    );

    // A whole handoff of a 50-participant call, all 50 moving.
    let rounds = 200;
    let mut total_ns = 0u128;
    let mut outputs = 0;
    let mut inputs = 0;
    for _ in 0..rounds {
        let mut e = live_call(50);
        let start = Instant::now();
        outputs = whole_handoff(&mut e, 50);
        total_ns += start.elapsed().as_nanos();
        inputs = 3 + 50 * 3;
        assert_eq!(e.state(), State::Live, "the handoff completed");
    }
    let per = total_ns as f64 / rounds as f64;
    println!(
        "whole handoff, 50 participants all moving          {:>10.1} us     ({} inputs, {} outputs, {:.0} ns/input)",
        per / 1000.0,
        inputs,
        outputs,
        per / inputs as f64
    );
}
