//! Issue 19, finding 8: the duplicate-key search is linear in the connections sharing a key,
//! and the connections and streams tracked per session are capped, with an event when a cap
//! is hit.
#![cfg(not(target_arch = "wasm32"))] // native only: serde_json is a native dev-dependency

#[path = "engine/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use harness::*;
use video_handoff::engine::*;

fn connection(h: &mut Harness, id: &str, data: &str) -> Vec<Output> {
    h.input(Input::ConnectionCreated {
        session: sid("A"),
        connection: ConnectionId::from(id),
        data: Some(data.into()),
        app_key: None,
    })
}

fn capped(outs: &[Output]) -> Vec<&'static str> {
    events(outs)
        .into_iter()
        .filter_map(|e| match e {
            Event::TrackingCapped { session, what } if session == sid("A") => Some(what),
            _ => None,
        })
        .collect()
}

#[test]
fn many_connections_sharing_a_key_each_get_the_next_free_number_in_linear_time() {
    let mut h = live_in_a_with(&[], Config::default());
    let n = 1500;
    let started = Instant::now();
    let mut last = None;
    // The engine alone (the harness's per-step checks would dominate the time).
    for i in 1..=n {
        h.engine.handle(
            h.now,
            Input::ConnectionCreated {
                session: sid("A"),
                connection: ConnectionId::from(format!("c{i}")),
                data: Some("ada".into()),
                app_key: None,
            },
        );
        while let Some(o) = h.engine.poll_output() {
            if let Output::Event(Event::DuplicateKey { shown_as, .. }) = o {
                last = Some(shown_as);
            }
        }
    }
    // Probing `ada#2`, `ada#3`, ... each against every connection was cubic in all.
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "{n} connections took {took:?}"
    );
    assert_eq!(last, Some(key(&format!("ada#{n}"))));
    // A number freed by a leaver is reused; a key that looks numbered is respected.
    h.input(Input::ConnectionDestroyed {
        session: sid("A"),
        connection: ConnectionId::from("c7"),
    });
    let outs = connection(&mut h, "again", "ada");
    assert!(events(&outs)
        .iter()
        .any(|e| matches!(e, Event::DuplicateKey { shown_as, .. } if *shown_as == key("ada#7"))));
    let outs = connection(&mut h, "bob-literal", "bob#2");
    assert!(
        !events(&outs)
            .iter()
            .any(|e| matches!(e, Event::DuplicateKey { .. })),
        "bob#2 is free"
    );
    connection(&mut h, "bob-first", "bob");
    let outs = connection(&mut h, "bob-too", "bob");
    assert!(events(&outs)
        .iter()
        .any(|e| matches!(e, Event::DuplicateKey { shown_as, .. } if *shown_as == key("bob#3"))));
}

#[test]
fn connections_and_streams_past_the_caps_are_ignored_and_reported() {
    let mut h = live_in_a_with(&[], Config::default());
    for i in 0..MAX_CONNECTIONS {
        let outs = connection(&mut h, &format!("c{i}"), &format!("p{i}"));
        assert!(capped(&outs).is_empty());
    }
    let outs = connection(&mut h, "one-too-many", "late");
    assert_eq!(capped(&outs), ["connections"]);
    assert!(
        !events(&outs)
            .iter()
            .any(|e| matches!(e, Event::ParticipantJoined { .. })),
        "not tracked, not shown"
    );
    for i in 0..MAX_STREAMS {
        let outs = h.input(Input::StreamCreated {
            session: sid("A"),
            stream: StreamId::from(format!("s{i}")),
            connection: ConnectionId::from(format!("c{}", i % 10)),
            has_video: true,
        });
        assert!(capped(&outs).is_empty());
    }
    let outs = h.input(Input::StreamCreated {
        session: sid("A"),
        stream: StreamId::from("one-too-many"),
        connection: ConnectionId::from("c0"),
        has_video: true,
    });
    assert_eq!(capped(&outs), ["streams"]);
    assert!(
        commands(&outs).is_empty(),
        "not subscribed to: {:?}",
        commands(&outs)
    );
    // Room again once one leaves.
    h.input(Input::ConnectionDestroyed {
        session: sid("A"),
        connection: ConnectionId::from("c3000-never"),
    });
    h.input(Input::ConnectionDestroyed {
        session: sid("A"),
        connection: ConnectionId::from("c11"),
    });
    assert!(capped(&connection(&mut h, "next", "next")).is_empty());
}
