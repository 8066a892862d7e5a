//! Scenarios: joining and going live (tokens, the provider, watching only, participants who
//! are already there).
#![cfg(not(target_arch = "wasm32"))] // native only: proptest and serde_json are native dev-dependencies

#[path = "engine/harness.rs"]
mod harness;

use harness::*;
use video_handoff::engine::*;

#[test]
fn join_connects_with_the_token_and_goes_live_publishing() {
    let mut h = Harness::new(Config::default());
    let outs = h.join("A");
    assert_eq!(
        commands(&outs),
        vec![
            Command::Connect {
                session: sid("A"),
                token: "token-A".into()
            },
            Command::PreparePublish { session: sid("A") }
        ]
    );
    assert_eq!(
        events(&outs),
        vec![Event::StateChanged {
            state: State::Connecting
        }]
    );

    let outs = h.connected("A");
    assert_eq!(
        commands(&outs),
        vec![Command::Publish { session: sid("A") }]
    );
    assert_eq!(
        events(&outs),
        vec![Event::StateChanged { state: State::Live }]
    );
    assert_eq!(h.engine.live_session(), Some(&sid("A")));
}

#[test]
fn join_without_a_token_asks_the_provider() {
    let mut h = Harness::new(Config {
        has_token_provider: true,
        ..Config::default()
    });
    let outs = h.input(Input::Join {
        session: sid("A"),
        token: None,
    });
    assert_eq!(
        commands(&outs),
        vec![Command::RequestToken { session: sid("A") }]
    );
    let outs = h.input(Input::Token {
        session: sid("A"),
        result: Ok("fresh".into()),
    });
    assert_eq!(
        commands(&outs),
        vec![
            Command::Connect {
                session: sid("A"),
                token: "fresh".into()
            },
            Command::PreparePublish { session: sid("A") }
        ]
    );
}

#[test]
fn join_without_a_token_or_provider_fails_with_no_token() {
    let mut h = Harness::new(Config::default());
    let outs = h.input(Input::Join {
        session: sid("A"),
        token: None,
    });
    assert!(commands(&outs).is_empty());
    assert!(has_event(
        &outs,
        &Event::HandoffFailed {
            to: sid("A"),
            error: HandoffError::NoToken,
            will_retry: false,
            next_attempt_at: None,
            stopped: Some(StopCause::Permanent),
        }
    ));
    assert_eq!(h.engine.state(), State::Idle);
}

#[test]
fn without_publish_the_client_only_watches() {
    let mut h = Harness::new(Config {
        publish: false,
        ..Config::default()
    });
    h.join("A");
    let outs = h.connected("A");
    assert!(commands(&outs).is_empty());
}

#[test]
fn a_participant_in_the_live_session_is_joined_subscribed_and_shown_at_once() {
    let mut h = live_in_a_with(&[], Config::default());
    let outs = h.arrives("p1", "A");
    assert_eq!(
        events(&outs),
        vec![Event::ParticipantJoined { key: key("p1") }]
    );
    assert_eq!(
        commands(&outs),
        vec![
            Command::Subscribe {
                session: sid("A"),
                stream: cam("p1", "A"),
                key: key("p1")
            },
            Command::Show {
                key: key("p1"),
                session: sid("A"),
                stream: cam("p1", "A"),
                replaces: None
            },
        ]
    );
}
